"""Label it yourself (local mode): how person labelers sign in, and which tasks wait for them.

The `person_labelers` setting names labelers whose tasks wait for a person in the local labeling
portal (simulated workers answer for the others). The local AWS keeps the temporary password
the local Cognito made for each new user (the invitation real Cognito e-mails) and knows which
tasks wait for whom; both are local-mode views, read through `Aws.local_admin`, which has
nothing in aws mode (there Cognito e-mails the people, and the portal shows their tasks).
"""

from __future__ import annotations

from typing import Any

from helpers import cognito
from helpers.aws import person_labeler_names
from helpers.settings import Settings


def _local_view(aws: Any, route: str) -> Any | None:
    """A local AWS admin answer, or None (aws mode, or a local AWS without that route)."""
    try:
        return aws.local_admin(route)
    except (OSError, ValueError):
        return None


def portal_link(aws: Any) -> str | None:
    """The labeling portal's sign-in link of the region's private workforce."""
    sagemaker = aws.client("sagemaker")
    workforce = cognito.private_workforce(sagemaker)
    return cognito.sign_in_url(workforce, sagemaker.meta.endpoint_url) if workforce else None


def invitations(aws: Any, settings: Settings) -> dict[str, dict[str, Any]]:
    """Local mode: the latest invitation (temporary password) of each person labeler, by name."""
    answer = _local_view(aws, "cognito/outbox")
    sent = answer.get("Invitations", []) if isinstance(answer, dict) else []
    people = set(person_labeler_names(settings))
    found: dict[str, dict[str, Any]] = {}
    for invitation in sent:  # oldest first: the latest one of a user wins
        if (
            invitation.get("Username") in people
            and invitation.get("Region") == settings.region
            and settings.user_pool in (None, invitation.get("UserPoolId"))
        ):
            found[invitation["Username"]] = invitation
    return found


def sign_in_lines(aws: Any, settings: Settings) -> list[str]:
    """Local mode: where each person labeler signs in, with their temporary password; aws: []."""
    if _local_view(aws, "health") is None:
        return []
    people = person_labeler_names(settings)
    if settings.labeling_backend == "label_studio":
        return _label_studio_lines(settings, people)
    if not people:
        example = (cognito.labeler_names(settings) or ["labeler-1"])[0]
        return [
            "Simulated workers answer every task. To label some yourself in the local labeling "
            f"portal, set person_labelers to some of labelers (e.g. person_labelers={example!r})."
        ]
    link = portal_link(aws) or "(no private workforce yet: run notebook 02)"
    sent = invitations(aws, settings)
    lines = [f"Label it yourself: open {link} and sign in as"]
    for name in people:
        invitation = sent.get(name)
        if invitation:
            lines.append(
                f"  {name}, temporary password {invitation['TemporaryPassword']} "
                "(you choose your own at the first sign-in)"
            )
        else:
            lines.append(
                f"  {name} (no temporary password on record: the user was made before this "
                "local AWS started, or already signed in with a password of their own)"
            )
    return lines


def _label_studio_lines(settings: Settings, people: list[str]) -> list[str]:
    """Local mode with Label Studio: who labels, and where a person signs in to do so."""
    from helpers.labelstudio import token
    from helpers.labelstudio.accounts import annotator_email

    if not people:
        example = (cognito.labeler_names(settings) or ["labeler-1"])[0]
        return [
            "Simulated annotators answer every task in Label Studio; your own annotations count "
            "like theirs. To leave some annotators' tasks to you, set person_labelers "
            f"(e.g. person_labelers={example!r})."
        ]
    url = token.server_url(settings, start=False)
    lines = [f"Label it yourself: open {url} and sign in as"]
    lines += [f"  {annotator_email(name)}" for name in people]
    lines.append(
        "(passwords: notebook 02's output, or `python -m helpers.local.labelstudio status`)"
    )
    return lines


def waiting(aws: Any, region: str) -> list[dict[str, Any]]:
    """Local mode: per labeling job and person, the tasks waiting for them; aws mode: []."""
    answer = _local_view(aws, f"labeling/pending?region={region}")
    return list(answer.get("pending", [])) if isinstance(answer, dict) else []


def waiting_note(pending: list[dict[str, Any]]) -> str:
    """A short note of the tasks waiting for people, for a progress bar: `pat 7 tasks`."""
    per_person: dict[str, int] = {}
    for entry in pending:
        per_person[entry["username"]] = per_person.get(entry["username"], 0) + int(
            entry["tasks_waiting"]
        )
    return ", ".join(f"{name} {count} tasks" for name, count in sorted(per_person.items()))


def waiting_line(entry: dict[str, Any], link: str | None) -> str:
    """One job's wait for one person, and where to open the tasks."""
    where = f"open {link} and sign in as {entry['username']}" if link else "open the portal"
    return (
        f"labeling job {entry['job_name']} waits for people: {entry['tasks_waiting']} tasks "
        f"for {entry['username']} ({where})"
    )
