"""What the portal needs from the labeling jobs: the task queue of the people who label.

The local SageMaker's labeling jobs implement it (`person_jobs`, `take_task`, `submit_answer`);
a refusal is a `ServiceError` (or `ValueError`) whose message the worker sees.
"""

from __future__ import annotations

from typing import Any, Protocol


class Task(Protocol):
    """One task leased to a person (the fields the portal shows)."""

    task_id: str
    job_name: str
    source_ref: str
    labels: list[str]
    ui_template_uri: str
    title: str
    description: str
    deadline: float
    index: int
    total: int


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


class NoPeople:
    """The queue of labeling jobs that leave no task to people."""

    def person_jobs(self, region: str, username: str, groups: list[str]) -> list[dict[str, Any]]:
        """No job has tasks for people."""
        return []

    def take_task(self, region: str, job_name: str, username: str) -> Task | None:
        """No task waits."""
        return None

    def submit_answer(
        self, region: str, job_name: str, username: str, task_id: str, answer: dict[str, Any]
    ) -> None:
        """No task can be answered."""
        raise ValueError(f"labeling job {job_name} has no task for {username}")


def queue_of(labeling: Any) -> TaskQueue:
    """The labeling jobs' queue, or `NoPeople` where they leave no task to people."""
    if all(hasattr(labeling, m) for m in ("person_jobs", "take_task", "submit_answer")):
        return labeling  # type: ignore[no-any-return]
    return NoPeople()
