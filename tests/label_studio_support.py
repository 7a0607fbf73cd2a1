"""A real local Label Studio for the tests: one per session, in the test local AWS's state folder.

`label_studio` (session-scoped) starts it with three annotators (labeler-1..3) and its simulated
annotators, through `helpers.local.labelstudio.server.ensure_running`; a new state folder copies
the migrated template database kept in the project's own cache (`.local-aws/cache`, made once:
about half a minute), so a session starts it in some seconds. Without `.venv-ls`
(`scripts/install-label-studio`) the tests that use it skip, saying so; in CI (`CI` set) they fail.

Use it in a test module with `label_studio = label_studio_support.label_studio` (a fixture).
Its simulated annotators answer every project's tasks; `labeled_in_person(local_aws_url, names)`
makes some (or all) of them person labelers for a while, so that a test's own answers count.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.labelstudio import api
from helpers.labelstudio.accounts import annotator_email
from helpers.local import admin
from helpers.local.labelstudio import annotators, server
from helpers.paths import project_root, state_dir

#: The session's annotators (the local mode's default labelers).
ANNOTATORS = ("labeler-1", "labeler-2", "labeler-3")


@dataclass(frozen=True)
class LabelStudio:
    """The session's Label Studio: its URL, the admin's token and every account."""

    url: str
    admin_token: str
    accounts: dict[str, Any]
    folder: Path

    def client(self, labeler: str | None = None) -> api.Client:
        """An API client as the admin, or as a labeler's annotator account (name or e-mail)."""
        if labeler is None:
            return api.Client(self.url, self.admin_token)
        return api.Client(self.url, self.annotator(labeler)["token"])

    def annotator(self, labeler: str) -> dict[str, Any]:
        """A labeler's account: password, token, user id."""
        return dict(self.accounts["annotators"][annotator_email(labeler)])


def require_installed() -> None:
    """Skip (fail in CI) unless Label Studio's virtualenv is installed."""
    if server.installed():
        return
    reason = (
        f"Label Studio is not installed ({server.venv()} is missing): run "
        "scripts/install-label-studio (make test does)"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def persistent_template() -> Path:
    """The template database's folder in the project's own cache (kept between sessions)."""
    return server.template_folder(project_root() / ".local-aws" / "cache")


@pytest.fixture(scope="session")
def label_studio(local_aws_url: str) -> Iterator[LabelStudio]:
    """A real Label Studio with annotators labeler-1..3 (stopped at the end of the session)."""
    require_installed()
    folder = state_dir() / "label-studio"
    account = server.ensure_running(folder, annotators=ANNOTATORS, template=persistent_template())
    try:
        yield LabelStudio(account["url"], account["admin"]["token"], account, folder)
    finally:
        server.stop(folder)


@contextmanager
def labeled_in_person(local_aws_url: str, names: Iterable[str] | None = None) -> Iterator[None]:
    """Leave the labelers `names` (default: every account of the session's server, also those
    other tests added) to people: the simulated ones pause; nobody after."""
    if names is None:
        names = (server.read_account(state_dir() / "label-studio") or {}).get("annotators", {})
    admin.set_person_labelers(local_aws_url, list(names))
    time.sleep(annotators.FRESH_FOR + 0.5)  # the annotators' last answer ages out
    try:
        yield
    finally:
        admin.set_person_labelers(local_aws_url, [])


def other_accounts() -> list[str]:
    """Annotator accounts of the session's server beyond labeler-1..3 (other tests added them)."""
    account = server.read_account(state_dir() / "label-studio") or {}
    ours = {annotator_email(name) for name in ANNOTATORS}
    return [email for email in account.get("annotators", {}) if email not in ours]


def fully_answered(client: api.Client, project_id: int, per_task: int) -> bool:
    """Whether every task of a project has `per_task` annotators' submitted answers.

    Read from the export: Label Studio's own count of finished tasks (`finished_task_number`)
    can miss a task whose last annotations were submitted at the same moment.
    """
    counts = client.project(project_id)
    if int(counts.get("total_annotations_number") or 0) < per_task * counts["task_number"]:
        return False
    return all(
        len({a["completed_by"] for a in task["annotations"] if not a.get("was_cancelled")})
        >= per_task
        for task in client.export(project_id)
    )
