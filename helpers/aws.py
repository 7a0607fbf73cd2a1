"""The one place that creates AWS clients, in both modes.

In local mode `connect` first makes sure the embedded local AWS runs and points this process's
boto3 at it through the standard `AWS_ENDPOINT_URL` variable (with dummy credentials, and the
user's AWS config files and instance metadata ignored), then checks it is safe to write to. The
clients themselves are created the same way in both modes.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ConnectionClosedError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoAuthTokenError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

from helpers.awserrors import CREDENTIAL_CODES
from helpers.errors import CredentialsError, LocalAwsError
from helpers.settings import LOCAL_ACCOUNT, Settings

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 10},
    max_pool_connections=32,
    connect_timeout=10,
    read_timeout=60,
)
#: How to get working credentials, where the walkthrough runs.
CREDENTIALS_FIX = (
    "in a Kubeflow notebook server, the notebook's pod takes its credentials from its "
    "Kubernetes service account (IRSA): ask an administrator to annotate the profile's "
    "default-editor service account with eks.amazonaws.com/role-arn=<an IAM role ARN> and "
    "restart the notebook server; with AWS IAM Identity Center run `aws sso login --profile "
    "<profile>` and set AWS_PROFILE=<profile>; otherwise `aws configure` (or AWS_ACCESS_KEY_ID / "
    "AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN). Then run this again (restart the kernel if you "
    "changed environment variables)"
)
#: botocore's errors for credentials it cannot find, load or refresh.
_CREDENTIAL_FAILURES = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    NoAuthTokenError,
    SSOError,
    ProfileNotFound,
)
_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
#: Prefix of botocore's per-service endpoint variables (`AWS_ENDPOINT_URL_S3`, ...): local mode
#: clears them all, since any one of them would send that service's calls elsewhere.
_SERVICE_ENDPOINTS = "AWS_ENDPOINT_URL_"


@dataclass
class Aws:
    """A boto3 session for the settings' region, handing out (and reusing) clients."""

    settings: Settings
    session: boto3.session.Session
    #: In local mode, the local AWS's URL: every client must use exactly this endpoint.
    local_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _account: str | None = field(default=None, repr=False)

    def client(self, service: str) -> Any:
        """Return a client for an AWS service (created once per service).

        A call whose credentials are missing or expired raises CredentialsError (one message
        with the fix) instead of botocore's error.
        """
        if service not in self._clients:
            try:
                client = self.session.client(service, config=CLIENT_CONFIG)
            except _CREDENTIAL_FAILURES as exc:
                raise credentials_error(exc) from None
            if self.local_url is not None:
                require_endpoint(client, self.local_url)
            client.meta.events.register_first("needs-retry", stop_if_local_aws_is_gone)
            client.meta.events.register("after-call-error", stop_if_no_credentials)
            client.meta.events.register("after-call", stop_if_credentials_refused)
            self._clients[service] = client
        return self._clients[service]

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint every client uses in local mode (the local AWS), or None for AWS itself."""
        return self.local_url

    def account_id(self) -> str:
        """Return the account the credentials belong to (asked once)."""
        if self._account is None:
            self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account


def stop_if_local_aws_is_gone(caught_exception: Any = None, endpoint: Any = None, **_: Any) -> None:
    """Fail at once, saying what to do, when a loopback endpoint (the local AWS) is not there.

    Retrying (up to a minute of back-off) cannot help: the local AWS keeps its state in memory,
    so when it has stopped its buckets and jobs are gone too.
    """
    if not isinstance(caught_exception, EndpointConnectionError | ConnectionClosedError):
        return
    url = getattr(endpoint, "host", "") or ""
    if not is_loopback(url):
        return
    raise LocalAwsError(
        f"the local AWS at {url} is not answering: it has stopped (or was stopped), and what it "
        "held in memory (buckets, roles, jobs) is gone. Start it again with "
        "`python -m helpers.local start` (or `make local-start`; running a notebook's first "
        "cells also starts it), then run the notebooks again from 01_prepare_dataset."
    ) from caught_exception


def credentials_error(exc: BaseException) -> CredentialsError:
    """The CredentialsError for botocore's error about credentials it cannot find or load."""
    if isinstance(exc, NoCredentialsError):
        problem = "no AWS credentials were found (no profile, variables or instance role)"
    else:
        problem = f"{type(exc).__name__}: {exc}"
    return CredentialsError(problem, CREDENTIALS_FIX)


def stop_if_no_credentials(exception: BaseException | None = None, **_: Any) -> None:
    """Turn botocore's 'no credentials' (and failed refreshes) into one CredentialsError."""
    if isinstance(exception, _CREDENTIAL_FAILURES):
        raise credentials_error(exception) from None


def stop_if_credentials_refused(
    http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any
) -> None:
    """Turn an answer that refuses the credentials (expired, unknown) into a CredentialsError."""
    error = (
        (parsed or {}).get("Error", {}) if getattr(http_response, "status_code", 200) >= 300 else {}
    )
    code = str(error.get("Code", ""))
    if code in CREDENTIAL_CODES:
        operation = getattr(model, "name", "a call")
        problem = f"{operation} answered {code}: {error.get('Message', '')}".rstrip(": ")
        if "xpired" in code:
            problem = f"they have expired ({problem})"
        raise CredentialsError(problem, CREDENTIALS_FIX)


def local_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """Return the variables that point boto3 (and child processes) at the local AWS."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": _with_loopback(os.environ.get("NO_PROXY", "")),
        "no_proxy": _with_loopback(os.environ.get("no_proxy", "")),
    }


def _with_loopback(value: str) -> str:
    parts = [p for p in value.split(",") if p]
    return ",".join(parts + [h for h in ("127.0.0.1", "localhost") if h not in parts])


def is_loopback(url: str) -> bool:
    """Return True when the URL's host is a loopback address."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def use_local_aws(settings: Settings) -> str:
    """Start the local AWS when needed and point this process (and its children) at it.

    Besides the user's profile and credentials, every per-service endpoint variable
    (`AWS_ENDPOINT_URL_S3`, ...) and `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is cleared: either
    would send some calls elsewhere than the local AWS. Returns the local AWS's URL.
    """
    from helpers import local

    url = local.ensure_running()
    for name in [*_CLEARED, *(n for n in os.environ if n.startswith(_SERVICE_ENDPOINTS))]:
        os.environ.pop(name, None)
    os.environ.update(local_environment(url, settings.region))
    return url


def without_endpoint_overrides(environment: Mapping[str, str]) -> dict[str, str]:
    """A copy of an environment without the variables that would send some services elsewhere
    than `AWS_ENDPOINT_URL` (for the processes local mode starts)."""
    return {
        k: v
        for k, v in environment.items()
        if not k.startswith(_SERVICE_ENDPOINTS) and k != "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
    }


def _same_endpoint(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def require_endpoint(client: Any, local_url: str) -> None:
    """Refuse a client that does not use the local AWS's endpoint (whatever configured it)."""
    used = str(client.meta.endpoint_url or "")
    if not is_loopback(local_url) or not _same_endpoint(used, local_url):
        raise LocalAwsError(
            f"local mode must talk only to the embedded local AWS at {local_url}, but the "
            f"{client.meta.service_model.service_name} client would use {used or 'no endpoint'}. "
            "Nothing was sent. Unset AWS_ENDPOINT_URL_* and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS "
            "(or restart the kernel), then connect again."
        )


def verify_local(aws: Aws) -> None:
    """Refuse to go on unless the endpoint is loopback and STS answers with the local account."""
    url = aws.endpoint_url or os.environ.get("AWS_ENDPOINT_URL", "")
    if not is_loopback(url):
        raise LocalAwsError(
            f"local mode must talk to the embedded local AWS on 127.0.0.1, but AWS_ENDPOINT_URL "
            f"is {url or 'unset'!r}. Nothing was written. Restart the kernel, or run "
            "`python -m helpers.local start` and connect again."
        )
    if aws.local_url is None:
        aws.local_url = url
    account = aws.account_id()
    if account != LOCAL_ACCOUNT:
        raise LocalAwsError(
            f"local mode expected the local account {LOCAL_ACCOUNT} but STS answered {account}: "
            "this is not the embedded local AWS. Nothing was written."
        )


def connect(settings: Settings, check_credentials: bool = True) -> Aws:
    """Return AWS access for the settings (in local mode: started, pointed at and checked).

    With `check_credentials` (the default) it asks STS who the caller is, so missing or expired
    credentials stop here with one message (CredentialsError) before anything else runs; the
    setup checks pass False and report them as check 1 instead.
    """
    local_url = use_local_aws(settings) if settings.mode == "local" else None
    try:
        session = boto3.session.Session(region_name=settings.region)
    except _CREDENTIAL_FAILURES as exc:
        raise credentials_error(exc) from None
    aws = Aws(settings, session, local_url)
    if local_url is not None:
        verify_local(aws)
    if check_credentials:
        aws.account_id()
    return aws
