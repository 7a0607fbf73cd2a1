"""The one place that creates AWS clients, in both modes.

In local mode `connect` first makes sure the embedded local AWS runs and points this process's
boto3 at it through the standard `AWS_ENDPOINT_URL` variable (with dummy credentials, and the
user's AWS config files and instance metadata ignored), then checks it is safe to write to. The
clients themselves are created the same way in both modes.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from helpers.errors import LocalAwsError
from helpers.settings import LOCAL_ACCOUNT, Settings

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 10},
    max_pool_connections=32,
    connect_timeout=10,
    read_timeout=60,
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

    def client(self, service: str) -> Any:
        """Return a client for an AWS service (created once per service)."""
        if service not in self._clients:
            client = self.session.client(service, config=CLIENT_CONFIG)
            if self.local_url is not None:
                require_endpoint(client, self.local_url)
            client.meta.events.register_first("needs-retry", stop_if_local_aws_is_gone)
            self._clients[service] = client
        return self._clients[service]

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint every client uses in local mode (the local AWS), or None for AWS itself."""
        return self.local_url

    def account_id(self) -> str:
        """Return the account the credentials belong to."""
        return str(self.client("sts").get_caller_identity()["Account"])


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


def connect(settings: Settings) -> Aws:
    """Return AWS access for the settings (in local mode: started, pointed at and checked)."""
    local_url = use_local_aws(settings) if settings.mode == "local" else None
    aws = Aws(settings, boto3.session.Session(region_name=settings.region), local_url)
    if local_url is not None:
        verify_local(aws)
    return aws
