"""Which Label Studio account a labeler is: the labeler's e-mail, or `<name>@walkthrough.local`."""

from __future__ import annotations

#: The domain of the accounts of labelers named without an e-mail (local mode's labeler-1..3).
DOMAIN = "walkthrough.local"


def annotator_email(name: str) -> str:
    """The e-mail of a labeler's Label Studio account: `name` if it has an @, else name@DOMAIN."""
    name = name.strip()
    return name if "@" in name else f"{name}@{DOMAIN}"


def labeler_name(email: str) -> str:
    """The labeler an annotator account's e-mail stands for (the inverse of annotator_email)."""
    suffix = f"@{DOMAIN}"
    return email[: -len(suffix)] if email.endswith(suffix) else email
