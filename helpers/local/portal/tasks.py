"""What the portal needs from the labeling jobs: the task queue of the people who label.

The local SageMaker's labeling jobs implement it (`person_jobs`, `take_task`, `submit_answer`;
see `helpers.local.sagemaker.people`); a refusal is a `ServiceError` (or `ValueError`) whose
message the worker sees.
"""

from __future__ import annotations

from typing import Any, Protocol

from helpers.local.sagemaker.people import Task


class TaskQueue(Protocol):
    """The labeling jobs' tasks for people."""

    def person_jobs(self, region: str, username: str, groups: list[str]) -> list[dict[str, Any]]:
        """The jobs with tasks for this person."""
        ...

    def take_task(self, region: str, job_name: str, username: str) -> Task | None:
        """Lease the person's next task of a job, or None when none waits."""
        ...

    def submit_answer(
        self, region: str, job_name: str, username: str, task_id: str, answer: dict[str, Any]
    ) -> None:
        """Record the person's answer to a leased task."""
        ...
