"""Sign a worker in through the local Cognito, with the workforce's user pool and app client.

The real portal signs workers in on Cognito's hosted pages; the local one asks the local Cognito
server-side (`AdminInitiateAuth` with `ADMIN_USER_PASSWORD_AUTH`, then
`AdminRespondToAuthChallenge` for `NEW_PASSWORD_REQUIRED` at the first sign-in), with the app
client's secret hash when it has a secret. No user-pool or app-client setting is changed for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

#: What Cognito answers for a wrong user name or password (it does not say which).
WRONG_CREDENTIALS = "Incorrect username or password."


@dataclass(frozen=True)
class Outcome:
    """A sign-in step's result: signed in, a new password needed, or refused (`error`)."""

    username: str = ""
    groups: tuple[str, ...] = ()
    challenge_session: str = ""
    error: str = ""


@dataclass(frozen=True)
class Pool:
    """The workforce's Cognito user pool and app client, and a client of the local Cognito."""

    idp: Any
    pool_id: str
    client_id: str

    def _secret_hash(self, username: str) -> dict[str, str]:
        client = self.idp.describe_user_pool_client(
            UserPoolId=self.pool_id, ClientId=self.client_id
        )
        secret = client["UserPoolClient"].get("ClientSecret")
        if not secret:
            return {}
        digest = hmac.new(
            secret.encode(), (username + self.client_id).encode(), hashlib.sha256
        ).digest()
        return {"SECRET_HASH": base64.b64encode(digest).decode()}

    def sign_in(self, username: str, password: str) -> Outcome:
        """Check a user name and password; a first sign-in asks for a new password."""
        if not username or not password:
            return Outcome(error=WRONG_CREDENTIALS)
        try:
            answer = self.idp.admin_initiate_auth(
                UserPoolId=self.pool_id,
                ClientId=self.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={
                    "USERNAME": username,
                    "PASSWORD": password,
                    **self._secret_hash(username),
                },
            )
        except ClientError as exc:
            return Outcome(error=_refusal(exc))
        return self._outcome(username, answer)

    def new_password(self, username: str, challenge_session: str, password: str) -> Outcome:
        """Answer NEW_PASSWORD_REQUIRED with the worker's new password."""
        try:
            answer = self.idp.admin_respond_to_auth_challenge(
                UserPoolId=self.pool_id,
                ClientId=self.client_id,
                ChallengeName="NEW_PASSWORD_REQUIRED",
                Session=challenge_session,
                ChallengeResponses={
                    "USERNAME": username,
                    "NEW_PASSWORD": password,
                    **self._secret_hash(username),
                },
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "InvalidPasswordException":
                return Outcome(challenge_session=challenge_session, error=_message(exc))
            return Outcome(error=_refusal(exc))
        return self._outcome(username, answer)

    def _outcome(self, username: str, answer: dict[str, Any]) -> Outcome:
        challenge = answer.get("ChallengeName")
        if challenge == "NEW_PASSWORD_REQUIRED":
            return Outcome(username=username, challenge_session=answer["Session"])
        if challenge or "AuthenticationResult" not in answer:
            return Outcome(
                error=f"Cognito asks for {challenge}, which the local portal does not support"
            )
        pages = self.idp.get_paginator("admin_list_groups_for_user").paginate(
            UserPoolId=self.pool_id, Username=username
        )
        groups = tuple(sorted(g["GroupName"] for page in pages for g in page["Groups"]))
        return Outcome(username=username, groups=groups)


def _message(exc: ClientError) -> str:
    return str(exc.response["Error"].get("Message") or exc.response["Error"]["Code"])


def _refusal(exc: ClientError) -> str:
    """The message a worker sees for a refused sign-in (never which of name or password)."""
    code = exc.response["Error"]["Code"]
    if code in ("NotAuthorizedException", "UserNotFoundException", "ResourceNotFoundException"):
        return WRONG_CREDENTIALS
    return f"Sign-in failed: {_message(exc)}"
