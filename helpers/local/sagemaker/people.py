"""The tasks a local labeling job leaves to people: a queue per person labeler, in real time.

A labeling job's plan gives some of its tasks to the team's *person labelers* (Cognito users
named by `LocalConfig.person_labelers`, or by the walkthrough's `person_labelers` setting through
the admin route): those tasks get no simulated answer, they wait for the person to take them in
the labeling portal and submit an answer.

How real and simulated time mix: simulated workers work `speed` times faster than people (their
times are simulated seconds after creation, see `labeling`), while a person works in real time
(the clock's seconds, which tests move with the admin clock route). So a person's lease on a task
ends `TaskTimeLimitInSeconds` clock seconds after they took it (the task then goes back to their
queue), and an object whose person tasks are not all answered `TaskAvailabilityLifetimeInSeconds`
clock seconds after the job started (InProgress) expires; an object's answers are complete when
its simulated answers are in (by the simulated clock) and its person answers are in (real time).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from helpers.local.core import ServiceError, not_found, validation
from helpers.local.standins import workers as crowd

if TYPE_CHECKING:
    from helpers.local.sagemaker.labeling import LabelingJob, ObjectPlan


@dataclass
class PersonTask:
    """One object's task for one person labeler: waiting, leased, or answered."""

    task_id: str
    index: int  # the object's index in the input manifest
    worker: crowd.Worker
    lease_until: float | None = None  # clock time the current lease ends
    accepted: float | None = None  # clock time of the lease the answer was submitted in
    submitted: float | None = None
    label: int | None = None
    answer: dict[str, Any] | None = None  # as the page posted it, keyed by the element's name

    def leased(self, now: float) -> bool:
        """True while someone holds an unexpired lease on this unanswered task."""
        return self.submitted is None and self.lease_until is not None and now < self.lease_until


@dataclass(frozen=True)
class Task:
    """What the portal needs to show one leased task."""

    task_id: str
    job_name: str
    source_ref: str
    labels: list[str]
    ui_template_uri: str
    title: str
    description: str
    deadline: float  # clock time (epoch seconds) the lease ends
    index: int  # 1-based: this person's answered tasks in the job, plus one
    total: int  # this person's tasks in the job (on objects that have not expired)


def new_task(index: int, worker: crowd.Worker) -> PersonTask:
    """A waiting task (its id is random: it is no secret, leases say who may answer it)."""
    return PersonTask(task_id=secrets.token_hex(8), index=index, worker=worker)


def open_tasks(job: LabelingJob, username: str) -> list[tuple[ObjectPlan, PersonTask]]:
    """This person's tasks on the objects that still wait for answers, in manifest order."""
    return [
        (plan, task)
        for plan in job.objects
        if not plan.expired
        for task in plan.people
        if task.worker.username == username
    ]


def check_answer(job: LabelingJob, answer: Any) -> int:
    """The category index of a posted answer `{<element name>: {"label": <category>}}`."""
    categories = ", ".join(job.labels)
    if not (isinstance(answer, dict) and len(answer) == 1):
        raise validation(
            'An answer is one element\'s response, {"<element name>": {"label": "<category>"}}, '
            f"with one of the job's categories: {categories}"
        )
    (content,) = answer.values()
    label = content.get("label") if isinstance(content, dict) else None
    if label not in job.labels:
        raise validation(
            f"{str(label)[:100]!r} is not a category of labeling job {job.name}: "
            f"answer one of {categories}"
        )
    return job.labels.index(label)


def find_task(job: LabelingJob, task_id: str) -> tuple[ObjectPlan, PersonTask]:
    """The object and task of a task id in a job (ResourceNotFound when there is none)."""
    for plan in job.objects:
        for task in plan.people:
            if task.task_id == task_id:
                return plan, task
    raise not_found(f"Labeling job {job.name} has no task {str(task_id)[:64]!r}")


def refuse_unless_open(job: LabelingJob) -> None:
    """Refuse work on a job that is not InProgress (Initializing, stopping or over)."""
    if job.status != "InProgress":
        raise ServiceError(
            "ValidationException",
            f"Labeling job {job.name} is {job.status}: it takes no answers",
        )
