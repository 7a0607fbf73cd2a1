"""The Label Studio accounts of the walkthrough's labelers (the `labelers` setting).

Each labeler `x` is the account with e-mail `x` when it holds "@", else `x@walkthrough.local`
(`helpers.labelstudio.accounts` spells the rule once).
"""

from __future__ import annotations

from helpers.labelstudio.accounts import annotator_email
from helpers.settings import Settings

__all__ = ["annotator_email", "annotator_emails"]


def annotator_emails(settings: Settings) -> list[str]:
    """The Label Studio accounts of the settings' labelers, in their order."""
    names = [n.strip() for n in (settings.labelers or "").split(",") if n.strip()]
    return [annotator_email(n) for n in names]
