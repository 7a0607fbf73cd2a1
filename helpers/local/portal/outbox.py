"""The local Cognito's outbox: the invitations real Cognito would email to new users.

`AdminCreateUser` without `MessageAction: SUPPRESS` makes Cognito email the new user their user
name and a temporary password (one it makes up when the request gives none). The local AWS
sends no email: it makes up the password the same way, hands the request to moto with it, and
keeps the invitation here, for the admin route `GET /_walkthrough/cognito/outbox` (local mode
only: the walkthrough reads it through the local AWS's admin client, which aws mode never has).
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

#: At most this many invitations are kept (the oldest go first).
MAX_INVITATIONS = 1000


def temporary_password() -> str:
    """A temporary password meeting Cognito's default policy (8+, upper, lower, digit, symbol)."""
    core = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(12))
    tail = [secrets.choice(k) for k in (string.ascii_uppercase, string.ascii_lowercase, "23456789")]
    return core + "".join(tail) + "!"


@dataclass
class Outbox:
    """The invitations of `AdminCreateUser`, oldest first (thread-safe)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sent: list[dict[str, Any]] = field(default_factory=list)

    def prepare(self, body: bytes, region: str) -> tuple[bytes, dict[str, Any] | None]:
        """An AdminCreateUser body with a temporary password, and the invitation to keep.

        A body that is not a JSON object, or whose message is suppressed, is returned as it is
        with no invitation (moto answers it as Cognito would). Keep the invitation (`keep`)
        only once the user was created.
        """
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return body, None
        if not isinstance(request, dict) or request.get("MessageAction") in ("SUPPRESS", "RESEND"):
            return body, None
        if not isinstance(request.get("TemporaryPassword"), str):
            request["TemporaryPassword"] = temporary_password()
        invitation = {
            "UserPoolId": str(request.get("UserPoolId", "")),
            "Username": str(request.get("Username", "")),
            "TemporaryPassword": request["TemporaryPassword"],
            "Region": region,
            "SentAt": time.time(),
        }
        return json.dumps(request).encode(), invitation

    def keep(self, invitation: dict[str, Any]) -> None:
        """Keep an invitation that was sent (the user exists)."""
        with self._lock:
            self._sent.append(dict(invitation))
            del self._sent[:-MAX_INVITATIONS]

    def messages(self) -> list[dict[str, Any]]:
        """The invitations sent, oldest first (copies)."""
        with self._lock:
            return [dict(m) for m in self._sent]
