"""The private workforce and its Cognito pool: find them and fill them into the settings.

There is one private workforce per account and region, and every private team uses its
Cognito user pool and app client. When `user_pool` / `client_id` are unset, they are taken from
that workforce, so no one has to copy ids around.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from helpers.errors import CredentialsError
from helpers.settings import Settings


def private_workforce(sagemaker: Any) -> dict[str, Any] | None:
    """Return the region's private workforce (the one with a Cognito pool), or None."""
    for workforce in sagemaker.list_workforces().get("Workforces", []):
        if workforce.get("CognitoConfig"):
            return dict(workforce)
    return None


def with_workforce_pool(settings: Settings, aws: Any) -> Settings:
    """Return settings with `user_pool` and `client_id` taken from the workforce when unset.

    When the credentials do not work the settings are returned as they are: the setup checks
    that follow say so (check 1), with the fix.
    """
    if settings.user_pool and settings.client_id:
        return settings
    try:
        workforce = private_workforce(aws.client("sagemaker"))
    except CredentialsError:
        return settings
    if workforce is None:
        return settings
    cognito = workforce["CognitoConfig"]
    updates = {}
    if not settings.user_pool:
        updates["user_pool"] = cognito["UserPool"]
    if not settings.client_id and (settings.user_pool in (None, cognito["UserPool"])):
        updates["client_id"] = cognito["ClientId"]
    sources = dict(settings.sources) | {name: "private workforce" for name in updates}
    return dataclasses.replace(settings, **updates, sources=types.MappingProxyType(sources))


def sign_in_url(workforce: dict[str, Any], endpoint_url: str = "https://") -> str | None:
    """Return the labeling portal's sign-in URL of a workforce.

    `SubDomain` is the portal's address without scheme: a host name on AWS, the local AWS's
    `localhost:<port>/portal/<id>` in local mode. The scheme is the SageMaker endpoint's
    (`endpoint_url`, a client's `meta.endpoint_url`): `https` on AWS, `http` locally.
    """
    subdomain = workforce.get("SubDomain")
    scheme = urlsplit(endpoint_url).scheme or "https"
    return f"{scheme}://{subdomain}" if subdomain else None


def group_names(settings: Settings) -> list[str]:
    """Return the Cognito group names of `user_groups` (comma-separated)."""
    return [g.strip() for g in (settings.user_groups or "").split(",") if g.strip()]


def labeler_names(settings: Settings) -> list[str]:
    """Return the user names of `labelers` (comma-separated)."""
    return [n.strip() for n in (settings.labelers or "").split(",") if n.strip()]


def group_members(idp: Any, pool: str, group: str) -> list[str]:
    """Return the user names in a Cognito group."""
    pages = idp.get_paginator("list_users_in_group").paginate(UserPoolId=pool, GroupName=group)
    return [user["Username"] for page in pages for user in page["Users"]]


def user_exists(idp: Any, pool: str, username: str) -> bool:
    """Return True when the pool has a user with this name."""
    try:
        idp.admin_get_user(UserPoolId=pool, Username=username)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "UserNotFoundException":
            return False
        raise
    return True
