"""The Label Studio accounts of the walkthrough's labelers (the `labelers` setting).

Each labeler `x` is the account with e-mail `x` when it holds "@", else `x@walkthrough.local`:
the local server's `helpers.labelstudio.accounts.annotator_email` (helper A's) spells the rule;
until it is there, the same rule is spelled here.
"""

from __future__ import annotations

from helpers.settings import Settings

#: The domain of annotator accounts made for labelers without an e-mail address.
ANNOTATOR_DOMAIN = "walkthrough.local"


def annotator_email(name: str) -> str:
    """The Label Studio account (e-mail) of a labeler: the name with "@", else name@domain."""
    try:
        from helpers.labelstudio.accounts import annotator_email as rule
    except ImportError:
        name = name.strip()
        return (name if "@" in name else f"{name}@{ANNOTATOR_DOMAIN}").lower()
    return str(rule(name))


def annotator_emails(settings: Settings) -> list[str]:
    """The Label Studio accounts of the settings' labelers, in their order."""
    names = [n.strip() for n in (settings.labelers or "").split(",") if n.strip()]
    return [annotator_email(n) for n in names]
