"""The walkthrough's fixed AWS words: the tags on what it creates, and the names it always uses."""

from __future__ import annotations

#: Tag on every setup piece notebook 02 (`--create-missing`) makes; clean-up deletes only those.
SETUP_TAG = "walkthrough-setup"
#: Tag on setup pieces other prefixes may share (the workforce, the OIDC provider): kept by default.
SHARED_TAG = "walkthrough-shared"
#: Tag on everything one run creates; its value is the run id.
RUN_TAG = "walkthrough-run"
#: The private workforce's name when the walkthrough creates it (one per account and region).
WORKFORCE_NAME = "gt-walkthrough"


def tag_map(pairs: list[dict[str, str]] | None) -> dict[str, str]:
    """AWS's `[{"Key": k, "Value": v}, ...]` tags as a `{k: v}` mapping."""
    return {t["Key"]: t["Value"] for t in pairs or []}


def tag_pairs(*keys: str) -> list[dict[str, str]]:
    """AWS's tag list of `key=true` tags (`[{"Key": k, "Value": "true"}, ...]`)."""
    return [{"Key": key, "Value": "true"} for key in keys]


def tag_option(*keys: str) -> tuple[str, ...]:
    """The AWS CLI shorthand for `key=true` tags (`Key=k,Value=true` ...)."""
    return tuple(f"Key={key},Value=true" for key in keys)
