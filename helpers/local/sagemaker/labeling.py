"""Local Ground Truth labeling jobs, done by a simulated private workforce.

The simulated workforce works `speed` times faster than people (the local AWS's clock speed,
100 by default): timestamps in the output follow the wall clock, while `timeSpentInSeconds`
reports the time a person would have taken.

At creation the job is planned in full: which workers answer which object, what they answer and
when (in simulated seconds). Time then reveals the plan: `LabelCounters` grow as objects are
consolidated, and when every object is labeled or expired the job writes Ground Truth's real
output layout under `<S3OutputPath>/<job-name>/`. Stopping a job writes what was labeled so far.

With person labelers (see `people`), the plan leaves their tasks to them: those objects are
done when their simulated answers and their people's answers are in, and the job stays
InProgress while tasks wait for people.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from helpers import regions
from helpers.local.core import (
    ACCOUNT,
    ServiceError,
    in_use,
    not_found,
    split_s3_uri,
    utc,
    validation,
)
from helpers.local.openimages import mirror
from helpers.local.sagemaker import auto_labeling, people
from helpers.local.sagemaker.common import Job, JobOperations, sagemaker_arn, select_jobs
from helpers.local.sagemaker.models import Models
from helpers.local.sagemaker.output_layout import OutputLayout
from helpers.local.standins import classifier
from helpers.local.standins import workers as crowd
from helpers.local.standins.dawid_skene import consolidate

INITIALIZING_SECONDS = 30.0
CONSOLIDATION_DELAY = 5.0
FINALIZE_SECONDS = 10.0
STOPPING_SECONDS = 10.0
TERMINAL = ("Completed", "Failed", "Stopped")
HUMAN_SOURCES = ("verification", "crowdsource-verification")
#: What writing output with a customer managed KMS key takes (S3 server-side encryption).
OUTPUT_KEY_USE = ("kms:GenerateDataKey",)
#: Worker-response objects written at once when a job finishes (each is its own S3 object).
WRITERS = 16


@dataclass(frozen=True)
class WorkerAnswer:
    """One worker's answer to one object, with simulated times (seconds after creation)."""

    worker: crowd.Worker
    label: int
    accepted: float
    submitted: float


@dataclass
class ObjectPlan:
    """What happens to one dataset object."""

    index: int
    line: dict[str, Any]
    truth: int | None
    answers: list[WorkerAnswer]
    done_at: float  # simulated seconds after creation when consolidated, or when it expires
    expired: bool  # expired by the plan (persons' tasks may still make it expire later)
    people: list[people.PersonTask] = field(default_factory=list)  # tasks left to persons
    machine: auto_labeling.MachineLabel | None = None  # labeled by automated data labeling


@dataclass
class LabelingJob(Job):
    """A labeling job's request, plan and progress."""

    NAME_KEY: ClassVar[str] = "LabelingJobName"

    status: str = "Initializing"
    labels: list[str] = field(default_factory=list)
    objects: list[ObjectPlan] = field(default_factory=list)
    stop_requested_at: float | None = None
    finished_at: float | None = None
    output_uri: str | None = None
    speed: float = 100.0  # simulated seconds per clock second, fixed at creation
    auto: auto_labeling.Outcome | None = None  # with LabelingJobAlgorithmsConfig
    final_model_arn: str | None = None  # LabelingJobOutput.FinalActiveLearningModelArn

    def at(self, simulated: float) -> float:
        """The clock time at which something `simulated` seconds after creation happens."""
        return self.created + simulated / self.speed

    @property
    def output(self) -> OutputLayout:
        """Where the job writes its output: under `<S3OutputPath>/<job-name>/`."""
        prefix = self.request["OutputConfig"]["S3OutputPath"].rstrip("/")
        return OutputLayout(f"{prefix}/{self.name}")

    def simulated_end(self) -> float:
        """Simulated seconds after creation at which the last object is done."""
        return max((o.done_at for o in self.objects), default=INITIALIZING_SECONDS)

    @property
    def waits_for_people(self) -> bool:
        """True when the plan left tasks to person labelers."""
        return any(o.people for o in self.objects)

    def people_expiry(self) -> float:
        """When (clock time) objects whose person tasks are not all answered expire.

        A person works in real time: TaskAvailabilityLifetimeInSeconds counts clock seconds
        from the moment the job starts (InProgress), not simulated ones.
        """
        lifetime = float(
            self.request["HumanTaskConfig"].get("TaskAvailabilityLifetimeInSeconds", 864000)
        )
        return self.at(INITIALIZING_SECONDS) + lifetime

    def outcome(self, plan: ObjectPlan, now: float) -> tuple[float, bool] | None:
        """When (clock time) an object is done, and whether it expired; None while it waits.

        Without person tasks it is the plan's; with them, the later of its simulated answers
        and its people's answers (plus the consolidation delay), or the expiry of its tasks.
        """
        if plan.expired or not plan.people:
            return self.at(plan.done_at), plan.expired
        answered = [t.submitted for t in plan.people if t.submitted is not None]
        if len(answered) == len(plan.people):
            return max(
                self.at(plan.done_at), max(answered) + CONSOLIDATION_DELAY / self.speed
            ), False
        expiry = self.people_expiry()
        return (expiry, True) if now >= expiry else None


@dataclass
class LabelingJobs(JobOperations):
    """Answers the labeling-job operations of the local SageMaker."""

    _jobs: dict[tuple[str, str], LabelingJob] = field(default_factory=dict)  # (region, lower name)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _truth_cache: dict[str, Any] = field(default_factory=dict)
    _person_labelers: tuple[str, ...] | None = None  # set by the admin route; else the config's
    models: Models | None = None  # where automated labeling's final model is made

    # --- operations -------------------------------------------------------------------------------

    def create(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """CreateLabelingJob: validate as the service does, plan the work, start the clock."""
        name = request["LabelingJobName"]
        with self._lock:
            if (region, name.lower()) in self._jobs:
                raise in_use(
                    f"A labeling job named {name} already exists in this account and "
                    "region (names are unique, case-insensitively)"
                )
        self._validate(request, region)
        labels = self._labels(request)
        job = LabelingJob(
            request=request,
            region=region,
            arn=sagemaker_arn(region, "labeling-job", name.lower()),
            created=self.clock.now(),
            labels=labels,
            speed=self.clock.speed,
        )
        job.last_modified = job.created
        job.forced_failure = self.faults.job_failure("labeling-job", name)
        self._plan(job)
        with self._lock:
            if (region, name.lower()) in self._jobs:
                raise in_use(f"A labeling job named {name} already exists")
            self._jobs[(region, name.lower())] = job
        self.workforces.set_tags(job.arn, request.get("Tags"))
        return {"LabelingJobArn": job.arn}

    def describe(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DescribeLabelingJob."""
        job = self._job(region, request["LabelingJobName"])
        self.advance(job)
        return self._description(job)

    def list(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """ListLabelingJobs with NameContains, StatusEquals, sorting and paging."""
        with self._lock:
            jobs = [j for (r, _), j in self._jobs.items() if r == region]
        for job in jobs:
            self.advance(job)
        page, token = select_jobs(jobs, request)
        answer: dict[str, Any] = {"LabelingJobSummaryList": [self._summary(j) for j in page]}
        if token:
            answer["NextToken"] = token
        return answer

    def stop(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """StopLabelingJob: Stopping, then Stopped with what was labeled so far written out."""
        job = self._job(region, request["LabelingJobName"])
        self.advance(job)
        with job.lock:
            if job.status in TERMINAL or job.status == "Stopping":
                raise validation(f"Labeling job {job.name} is {job.status} and cannot be stopped")
            job.stop_requested_at = self.clock.now()
            job.status = "Stopping"
            job.last_modified = job.stop_requested_at
        return {}

    # --- person labelers (see `people`) -----------------------------------------------------------

    def person_labelers(self) -> tuple[str, ...]:
        """The Cognito usernames whose tasks wait for people, in jobs created from now on."""
        if self._person_labelers is not None:
            return self._person_labelers
        return self.config.person_labelers

    def set_person_labelers(self, usernames: list[str]) -> tuple[str, ...]:
        """Replace the person labelers (for jobs created from now on; running jobs keep theirs)."""
        if not isinstance(usernames, list) or not all(
            isinstance(u, str) and u.strip() for u in usernames
        ):
            raise ValueError("person_labelers must be a list of Cognito usernames")
        self._person_labelers = tuple(sorted({u.strip() for u in usernames}))
        return self._person_labelers

    def person_jobs(self, region: str, username: str, groups: list[str]) -> list[dict[str, Any]]:
        """The InProgress jobs with tasks for this person, of teams whose groups they are in."""
        answer = []
        for job in self._region_jobs(region):
            if job.status in TERMINAL:
                continue
            self.advance(job)
            if job.status != "InProgress":
                continue
            with job.lock:
                waiting = self._waiting(job, username)
            human = job.request["HumanTaskConfig"]
            if waiting and self._team_groups(human["WorkteamArn"]) & set(groups):
                answer.append(
                    {
                        "job_name": job.name,
                        "title": human["TaskTitle"],
                        "description": human["TaskDescription"],
                        "tasks_waiting": len(waiting),
                        "time_limit_seconds": int(human["TaskTimeLimitInSeconds"]),
                    }
                )
        return answer

    def _team_groups(self, arn: str) -> set[str]:
        """The Cognito groups of a job's workteam (none once the team was deleted)."""
        try:
            team = self.workforces.workteam_by_arn(arn)
        except ServiceError:  # deleted while the job runs: nobody of it sees the job
            return set()
        return {m["CognitoMemberDefinition"]["UserGroup"] for m in team["MemberDefinitions"]}

    def take_task(self, region: str, job_name: str, username: str) -> people.Task | None:
        """Lease this person's next task of a job (the one they hold, if any); None when none."""
        job = self._job(region, job_name)
        self.advance(job)
        with job.lock:
            if job.status != "InProgress":
                return None
            now = self.clock.now()
            waiting = self._waiting(job, username)
            held = [(p, t) for p, t in waiting if t.leased(now)]
            if held:
                plan, task = held[0]
            elif waiting:
                plan, task = waiting[0]
                limit = float(job.request["HumanTaskConfig"]["TaskTimeLimitInSeconds"])
                task.accepted, task.lease_until = now, now + limit
            else:
                return None
            mine = self._mine(job, username)
            return people.Task(
                task_id=task.task_id,
                job_name=job.name,
                source_ref=str(plan.line["source-ref"]),
                labels=list(job.labels),
                ui_template_uri=job.request["HumanTaskConfig"]["UiConfig"]["UiTemplateS3Uri"],
                title=job.request["HumanTaskConfig"]["TaskTitle"],
                description=job.request["HumanTaskConfig"]["TaskDescription"],
                deadline=float(task.lease_until or now),
                index=sum(1 for t in mine if t.submitted is not None) + 1,
                total=len(mine),
            )

    def submit_answer(
        self, region: str, job_name: str, username: str, task_id: str, answer: dict[str, Any]
    ) -> None:
        """Take a person's answer to the task they lease (ValidationException when it is not)."""
        job = self._job(region, job_name)
        self.advance(job)
        with job.lock:
            people.refuse_unless_open(job)
            now = self.clock.now()
            plan, task = people.find_task(job, task_id)
            if task.worker.username != username:
                raise validation(f"Task {task_id} of labeling job {job.name} is not yours")
            if task.submitted is not None:
                raise validation(f"Task {task_id} of labeling job {job.name} is already answered")
            if job.outcome(plan, now) is not None:
                raise validation(
                    f"Task {task_id} of labeling job {job.name} expired "
                    "(TaskAvailabilityLifetimeInSeconds)"
                )
            if not task.leased(now):
                raise validation(
                    f"Your time for task {task_id} ran out (TaskTimeLimitInSeconds) or you did "
                    "not take it: take the task again"
                )
            label = people.check_answer(job, answer)
            task.label, task.answer, task.submitted = label, dict(answer), now
            job.last_modified = now

    def pending(self, region: str) -> list[dict[str, Any]]:
        """Per job and person: the tasks waiting for them (leased ones included)."""
        answer = []
        for job in self._region_jobs(region):
            self.advance(job)
            if job.status != "InProgress":
                continue
            with job.lock:
                now = self.clock.now()
                for username in sorted({t.worker.username for o in job.objects for t in o.people}):
                    waiting = self._waiting(job, username)
                    if waiting:
                        answer.append(
                            {
                                "job_name": job.name,
                                "username": username,
                                "worker_id": waiting[0][1].worker.worker_id,
                                "tasks_waiting": len(waiting),
                                "leased": sum(1 for _, t in waiting if t.leased(now)),
                                "workteam_arn": job.request["HumanTaskConfig"]["WorkteamArn"],
                            }
                        )
        return answer

    def _waiting(
        self, job: LabelingJob, username: str
    ) -> list[tuple[ObjectPlan, people.PersonTask]]:
        """This person's unanswered tasks on objects still open, in manifest order."""
        now = self.clock.now()
        return [
            (plan, task)
            for plan, task in people.open_tasks(job, username)
            if task.submitted is None and job.outcome(plan, now) is None
        ]

    def _mine(self, job: LabelingJob, username: str) -> list[people.PersonTask]:
        """This person's tasks on objects that have not expired (answered ones included)."""
        now = self.clock.now()
        return [
            task
            for plan, task in people.open_tasks(job, username)
            if not (outcome := job.outcome(plan, now)) or not outcome[1]
        ]

    def _region_jobs(self, region: str) -> list[LabelingJob]:
        with self._lock:
            return [j for (r, _), j in self._jobs.items() if r == region]

    # --- time -------------------------------------------------------------------------------------

    def advance_all(self) -> None:
        """Move every unfinished job forward to the current time."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if job.status not in TERMINAL:
                self.advance(job)

    def advance(self, job: LabelingJob) -> None:
        """Bring one job's status up to the clock, writing its output when it finishes."""
        with job.lock:
            if job.status in TERMINAL:
                return
            now = self.clock.now()
            if job.status == "Stopping":
                if now >= self.clock.due(job.stop_requested_at or now, STOPPING_SECONDS):
                    self._finish(job, "Stopped", labeled_before=job.stop_requested_at)
                return
            if job.status == "Initializing" and now >= job.at(INITIALIZING_SECONDS):
                problem = self.roles.check_read(job.request["RoleArn"], self._inputs(job))
                if problem:
                    self._fail(job, f"ClientError: {problem}")
                    return
                if job.forced_failure:
                    self._fail(job, job.forced_failure)
                    return
                job.status = "InProgress"
                job.last_modified = now
            end = self._end(job, now)
            if job.status == "InProgress" and end is not None and now >= end:
                self._finish(job, "Completed", labeled_before=None)

    def _end(self, job: LabelingJob, now: float) -> float | None:
        """When (clock time) the job completes; None while objects wait for people."""
        if not job.waits_for_people:
            return job.at(job.simulated_end() + FINALIZE_SECONDS)
        outcomes = [job.outcome(o, now) for o in job.objects]
        if any(o is None for o in outcomes):
            return None
        return max(o[0] for o in outcomes if o is not None) + FINALIZE_SECONDS / job.speed

    # --- description ------------------------------------------------------------------------------

    def counters(self, job: LabelingJob, until: float | None = None) -> dict[str, int]:
        """LabelCounters at the given clock time (now by default)."""
        now = self.clock.now() if until is None else until
        if job.status == "Initializing":
            done: list[tuple[float, bool, bool]] = []
        else:
            outcomes = ((job.outcome(o, now), o.machine is not None) for o in job.objects)
            done = [(*o, m) for o, m in outcomes if o is not None and o[0] <= now]
        labeled = sum(1 for _, expired, _ in done if not expired)
        failed = sum(1 for _, expired, _ in done if expired)
        machine = sum(1 for _, _, by_machine in done if by_machine)
        return {
            "TotalLabeled": labeled,
            "HumanLabeled": labeled - machine,
            "MachineLabeled": machine,
            "FailedNonRetryableError": failed,
            "Unlabeled": len(job.objects) - labeled - failed,
        }

    def _description(self, job: LabelingJob) -> dict[str, Any]:
        request = job.request
        until = job.finished_at if job.status in TERMINAL else None
        if job.status == "Stopped":
            until = job.stop_requested_at
        answer: dict[str, Any] = {
            "LabelingJobStatus": job.status,
            "LabelCounters": self.counters(job, until),
            "CreationTime": utc(job.created),
            "LastModifiedTime": utc(job.last_modified),
            "JobReferenceCode": hashlib.sha256(job.arn.encode()).hexdigest()[:24],
            "LabelingJobName": job.name,
            "LabelingJobArn": job.arn,
            "LabelAttributeName": request["LabelAttributeName"],
            "InputConfig": request["InputConfig"],
            "OutputConfig": request["OutputConfig"],
            "RoleArn": request["RoleArn"],
            "HumanTaskConfig": request["HumanTaskConfig"],
            "Tags": self.workforces.tags_of(job.arn),
        }
        for key in (
            "LabelCategoryConfigS3Uri",
            "StoppingConditions",
            "LabelingJobAlgorithmsConfig",
        ):
            if key in request:
                answer[key] = request[key]
        if job.failure_reason:
            answer["FailureReason"] = job.failure_reason
        if job.output_uri:
            answer["LabelingJobOutput"] = {"OutputDatasetS3Uri": job.output_uri}
            if job.final_model_arn:
                answer["LabelingJobOutput"]["FinalActiveLearningModelArn"] = job.final_model_arn
        return answer

    def _summary(self, job: LabelingJob) -> dict[str, Any]:
        description = self._description(job)
        summary = {
            k: description[k]
            for k in (
                "LabelingJobName",
                "LabelingJobArn",
                "CreationTime",
                "LastModifiedTime",
                "LabelingJobStatus",
                "LabelCounters",
            )
            if k in description
        }
        summary["WorkteamArn"] = job.request["HumanTaskConfig"]["WorkteamArn"]
        summary["PreHumanTaskLambdaArn"] = job.request["HumanTaskConfig"]["PreHumanTaskLambdaArn"]
        for key in ("FailureReason", "LabelingJobOutput", "InputConfig"):
            if key in description:
                summary[key] = description[key]
        return summary

    # --- validation -------------------------------------------------------------------------------

    def _validate(self, request: dict[str, Any], region: str) -> None:
        human = request["HumanTaskConfig"]
        if not regions.has_ground_truth(region):
            raise validation(f"Ground Truth's built-in task types are not available in {region}")
        pre = regions.pre_human_task_lambda(region)
        acs = regions.consolidation_lambda(region)
        if human["PreHumanTaskLambdaArn"] != pre:
            raise validation(
                f"PreHumanTaskLambdaArn {human['PreHumanTaskLambdaArn']} is not a "
                f"Ground Truth image classification Lambda in {region} (use {pre})"
            )
        given_acs = human["AnnotationConsolidationConfig"]["AnnotationConsolidationLambdaArn"]
        if given_acs != acs:
            raise validation(
                f"AnnotationConsolidationLambdaArn {given_acs} does not match the "
                f"task type's consolidation Lambda in {region} (use {acs})"
            )
        if not 1 <= human["NumberOfHumanWorkersPerDataObject"] <= 9:
            raise validation("NumberOfHumanWorkersPerDataObject must be between 1 and 9")
        if not 30 <= human["TaskTimeLimitInSeconds"] <= 28800:
            raise validation("TaskTimeLimitInSeconds must be between 30 and 28800 for images")
        if human.get("TaskAvailabilityLifetimeInSeconds", 864000) < 60:
            raise validation("TaskAvailabilityLifetimeInSeconds must be at least 60")
        if request["LabelAttributeName"].endswith(("-metadata", "-ref")):
            raise validation("LabelAttributeName must not end with -metadata or -ref")
        algorithm = request.get("LabelingJobAlgorithmsConfig")
        if algorithm is not None:
            expected = regions.auto_labeling_algorithm_arn(region)
            given = algorithm.get("LabelingJobAlgorithmSpecificationArn")
            if given != expected:
                raise validation(
                    f"LabelingJobAlgorithmSpecificationArn {given} is not an automated data "
                    f"labeling algorithm for this task type in {region} (use {expected})"
                )
        self.roles.require_role(request["RoleArn"])
        self.workforces.workteam_by_arn(human["WorkteamArn"])
        for uri in (
            request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"],
            request.get("LabelCategoryConfigS3Uri"),
            human["UiConfig"].get("UiTemplateS3Uri"),
        ):
            if uri is None:
                raise validation(
                    "LabelCategoryConfigS3Uri and UiConfig.UiTemplateS3Uri are "
                    "required for image classification"
                )
            if not self._exists(uri):
                raise validation(
                    f"Cannot find the S3 object {uri}: check that it exists and "
                    "that the URI is right"
                )

    def _labels(self, request: dict[str, Any]) -> list[str]:
        raw = self._read(request["LabelCategoryConfigS3Uri"])
        try:
            labels = [str(entry["label"]) for entry in json.loads(raw)["labels"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise validation(f"The label category configuration file is not valid: {exc}") from exc
        if len(labels) < 2:
            raise validation(
                "Image classification needs at least 2 labels in the label category "
                "configuration file"
            )
        if len({label.lower() for label in labels}) != len(labels):
            raise validation("Labels in the label category configuration file must be unique")
        return labels

    def _inputs(self, job: LabelingJob) -> list[str]:
        request = job.request
        refs = [o.line["source-ref"] for o in job.objects]
        return [
            request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"],
            request["LabelCategoryConfigS3Uri"],
            request["HumanTaskConfig"]["UiConfig"]["UiTemplateS3Uri"],
            *refs,
        ]

    # --- S3 ---------------------------------------------------------------------------------------

    def _s3(self) -> Any:
        return self.backend.client("s3", "us-east-1")

    def _exists(self, uri: str) -> bool:
        bucket, key = split_s3_uri(uri)
        if not uri.startswith("s3://") or not key:
            return False
        try:
            self._s3().head_object(Bucket=bucket, Key=key)
        except Exception:  # noqa: BLE001 - any failure means "cannot find"
            return False
        return True

    def _read(self, uri: str) -> str:
        bucket, key = split_s3_uri(uri)
        return self._s3().get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")

    def _write(self, uri: str, body: str, kms_key: str | None = None) -> None:
        """Write an object; with the job's output KMS key, encrypted as Ground Truth does."""
        bucket, key = split_s3_uri(uri)
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
        self._s3().put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), **encryption)

    # --- planning ---------------------------------------------------------------------------------

    def _plan(self, job: LabelingJob) -> None:
        request = job.request
        human = request["HumanTaskConfig"]
        lines = self._manifest(
            request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
        )
        team = self.workforces.workteam_by_arn(human["WorkteamArn"])
        seed = int(hashlib.sha256(job.arn.encode()).hexdigest()[:8], 16)
        workers = crowd.make_workers(
            self.workforces.team_usernames(team),
            job.region,
            seed,
            accuracy=self.config.worker_accuracy,
            seconds=self.config.worker_seconds,
        )
        truths = self._truths(lines, job.labels)
        similarity = crowd.similarity_matrix(job.labels)
        rng = np.random.default_rng(seed)
        per_object = int(human["NumberOfHumanWorkersPerDataObject"])
        time_limit = float(human["TaskTimeLimitInSeconds"])
        expiry = INITIALIZING_SECONDS + float(
            human.get("TaskAvailabilityLifetimeInSeconds", 864000)
        )
        free = {w.worker_id: INITIALIZING_SECONDS for w in workers}
        persons = set(self.person_labelers()) & {w.username for w in workers}
        planned: dict[int, ObjectPlan] = {}

        def plan_object(index: int, not_before: float) -> tuple[float, int | None]:
            """Plan one object for humans; when it is done and its simulated answers' label."""
            line, truth = lines[index], truths[index]
            answers: list[WorkerAnswer] = []
            if len(workers) >= per_object:
                chosen = sorted(
                    workers, key=lambda w: (max(free[w.worker_id], not_before), w.worker_id)
                )
                for worker in chosen[:per_object]:
                    start = max(free[worker.worker_id], not_before)
                    spent = min(crowd.answer_time(worker, rng), time_limit)
                    label = crowd.answer(worker, truth, len(job.labels), similarity, rng)
                    answers.append(WorkerAnswer(worker, label, start, start + spent))
                    free[worker.worker_id] = start + spent
            done = max((a.submitted for a in answers), default=expiry) + CONSOLIDATION_DELAY
            expired = len(answers) < per_object or done > expiry
            tasks: list[people.PersonTask] = []
            if persons and not expired:  # a person's task replaces their simulated answer
                tasks = [
                    people.new_task(index, a.worker)
                    for a in answers
                    if a.worker.username in persons
                ]
                answers = [a for a in answers if a.worker.username not in persons]
                done = max((a.submitted for a in answers), default=INITIALIZING_SECONDS)
                done += CONSOLIDATION_DELAY
            plan = ObjectPlan(
                index,
                line,
                truth,
                answers if not expired else [],
                min(done, expiry),
                expired,
                tasks,
            )
            planned[index] = plan
            return plan.done_at, None if expired else _agreed(plan.answers)

        if "LabelingJobAlgorithmsConfig" in request:
            job.auto = auto_labeling.run(
                len(lines), len(job.labels), seed, plan_object, self._feature_reader(lines)
            )
            for index, machine in job.auto.machine.items():
                planned[index] = ObjectPlan(
                    index, lines[index], truths[index], [], machine.done_at, False
                )
                planned[index].machine = machine
        else:
            for index in range(len(lines)):
                plan_object(index, 0.0)
        job.objects.extend(planned[index] for index in range(len(lines)))

    def _feature_reader(self, lines: list[dict[str, Any]]) -> auto_labeling.FeatureReader:
        """The stand-in classifier's features of objects' pictures, each picture read once."""
        cache: dict[str, np.ndarray] = {}

        def read(indices: Any) -> np.ndarray:
            rows = []
            for index in indices:
                ref = str(lines[index]["source-ref"])
                if ref not in cache:
                    try:
                        bucket, key = split_s3_uri(ref)
                        body = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
                        cache[ref] = classifier.image_features(body)
                    except Exception:  # noqa: BLE001 - unreadable: never machine-labeled
                        cache[ref] = np.full(classifier.FEATURE_SIZE, np.nan)
                rows.append(cache[ref])
            return np.array(rows).reshape(len(rows), classifier.FEATURE_SIZE)

        return read

    def _manifest(self, uri: str) -> list[dict[str, Any]]:
        lines = []
        for number, raw in enumerate(self._read(uri).splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise validation(
                    f"Line {number} of the input manifest {uri} is not valid JSON: {exc.msg}"
                ) from exc
            if not isinstance(line, dict) or "source-ref" not in line:
                raise validation(f"Line {number} of the input manifest {uri} has no source-ref")
            lines.append(line)
        if not lines:
            raise validation(f"The input manifest {uri} has no objects")
        return lines

    def _truths(self, lines: list[dict[str, Any]], labels: list[str]) -> list[int | None]:
        """The class each image truly shows, from the Open Images annotations (None: unknown)."""
        positives = self._open_images_positives()
        index = {label.lower(): i for i, label in enumerate(labels)}
        truths: list[int | None] = []
        for line in lines:
            image_id = line["source-ref"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
            found = {index[n] for n in positives.get(image_id, ()) if n in index}
            truths.append(found.pop() if len(found) == 1 else None)
        return truths

    def _open_images_positives(self) -> dict[str, tuple[str, ...]]:
        with self._lock:
            if "positives" not in self._truth_cache:
                self._truth_cache["positives"] = self._load_positives()
            return self._truth_cache["positives"]

    def _load_positives(self) -> dict[str, tuple[str, ...]]:
        try:
            source = f"s3://{mirror.BUCKET}"
            annotations = pd.read_csv(io.StringIO(self._read(f"{source}/{mirror.ANNOTATIONS_KEY}")))
            names = pd.read_csv(
                io.StringIO(self._read(f"{source}/{mirror.CLASS_DESCRIPTIONS_KEY}")),
                header=None,
                names=["mid", "name"],
            )
        except Exception:  # noqa: BLE001 - no mirror: every truth is unknown
            return {}
        positive = annotations[
            (annotations["Confidence"] == 1) & annotations["Source"].isin(HUMAN_SOURCES)
        ]
        lowered = dict(zip(names["mid"], names["name"].str.lower(), strict=True))
        positive = positive.assign(name=positive["LabelName"].map(lowered)).dropna()
        return {k: tuple(v) for k, v in positive.groupby("ImageID")["name"]}

    # --- finishing --------------------------------------------------------------------------------

    def _fail(self, job: LabelingJob, reason: str) -> None:
        """End the job as Failed; one that fails before it starts has read nothing and counts it.

        A job that fails its role check (or a forced failure) at start could not read its
        manifest: like the service, it labels nothing and counts no object, not even as
        Unlabeled (its planned objects are dropped, so no LabelCounters and no task remain).
        """
        if job.status == "Initializing":
            job.objects.clear()
        job.status = "Failed"
        job.failure_reason = reason
        job.finished_at = job.last_modified = self.clock.now()

    def _finish(self, job: LabelingJob, status: str, labeled_before: float | None) -> None:
        """Write the output layout for the objects done by `labeled_before` (all when None)."""
        now = self.clock.now()
        cutoff = now if labeled_before is None else labeled_before
        done = [
            (o, *outcome)
            for o in job.objects
            if (outcome := job.outcome(o, now)) is not None
            and (labeled_before is None or outcome[0] <= cutoff)
        ]
        role = job.request["RoleArn"]
        problem = self.roles.check_write(
            role, [job.output.output_manifest]
        ) or self.roles.check_key(
            role, job.request["OutputConfig"].get("KmsKeyId"), job.region, OUTPUT_KEY_USE
        )
        if problem:
            self._fail(job, f"ClientError: {problem}")
            return
        try:
            self._write_outputs(job, done)
            if status == "Completed" and job.auto is not None:
                job.final_model_arn = self._final_model(job)
        except ServiceError as exc:
            self._fail(job, f"ClientError: {exc.message}")
            return
        job.output_uri = job.output.output_manifest
        job.status = status
        job.finished_at = job.last_modified = self.clock.now()

    def _write_outputs(self, job: LabelingJob, done: list[tuple[ObjectPlan, float, bool]]) -> None:
        """Write the output layout for the objects done: (plan, when, expired) each."""
        attribute = job.request["LabelAttributeName"]
        answered = [o for o, _, expired in done if not expired and o.machine is None]
        consolidated = consolidate(
            [(o.index, a.worker.worker_id, a.label) for o in answered for a in o.answers]
            + [
                (o.index, t.worker.worker_id, t.label)
                for o in answered
                for t in o.people
                if t.label is not None
            ],
            len(job.labels),
        )
        finished = {o.index: (when, expired) for o, when, expired in done}
        lines = []
        responses = []
        worker_responses: list[tuple[str, str]] = []
        pool = self._team_pool(job)
        for plan in job.objects:
            if plan.index not in finished:
                continue
            line = dict(plan.line)
            done_time, expired = finished[plan.index]
            when = _iso(done_time)
            metadata: dict[str, Any] = {
                "job-name": f"labeling-job/{job.name.lower()}",
                "type": "groundtruth/image-classification",
            }
            if plan.machine is not None:
                line[attribute] = plan.machine.label
                metadata.update(
                    {
                        "confidence": plan.machine.confidence,
                        "class-name": job.labels[plan.machine.label],
                        "human-annotated": "no",
                        "creation-date": when,
                    }
                )
            elif expired:
                metadata["failure-reason"] = (
                    "ClientError: The task expired before enough workers answered it "
                    "(TaskAvailabilityLifetimeInSeconds); too few workers in the work team for "
                    "NumberOfHumanWorkersPerDataObject, or the team did not finish in time"
                )
            else:
                result = consolidated[plan.index]
                line[attribute] = result.label
                metadata.update(
                    {
                        "confidence": result.confidence,
                        "class-name": job.labels[result.label],
                        "human-annotated": "yes",
                        "creation-date": when,
                    }
                )
                responses.append(
                    {
                        "datasetObjectId": str(plan.index),
                        "consolidatedAnnotation": {
                            "content": {attribute: result.label, f"{attribute}-metadata": metadata}
                        },
                    }
                )
                worker_responses.append(_worker_responses(job, plan, pool))
            line[f"{attribute}-metadata"] = metadata
            lines.append(json.dumps(line))
        manifest = "\n".join(lines) + ("\n" if lines else "")
        last = job.at(job.simulated_end())
        if job.waits_for_people:
            last = max((when for _, when, _ in done), default=job.at(INITIALIZING_SECONDS))
        stamp = _stamp(last)
        kms_key = job.request["OutputConfig"].get("KmsKeyId")
        self._write_many(worker_responses, kms_key)
        self._write(
            job.output.consolidation_response(stamp),
            json.dumps(responses),
            kms_key,
        )
        self._write(job.output.intermediate_manifest, manifest, kms_key)
        self._write(job.output.output_manifest, manifest, kms_key)

    def _final_model(self, job: LabelingJob) -> str | None:
        """Write the last auto-labeling model and make it a SageMaker model (as the role)."""
        auto = job.auto
        if auto is None or auto.result is None or auto.hyperparameters is None:
            return None
        if self.models is None:
            raise ServiceError("InternalFailure", "the local SageMaker has no models", 500)
        uri = f"{job.output.prefix}/activelearning/final-model/model.tar.gz"
        bucket, key = split_s3_uri(uri)
        body = classifier.model_archive(auto.result, auto.hyperparameters)
        kms_key = job.request["OutputConfig"].get("KmsKeyId")
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key} if kms_key else {}
        self._s3().put_object(Bucket=bucket, Key=key, Body=body, **encryption)
        name = f"{job.name[:40]}-al-{hashlib.sha256(job.arn.encode()).hexdigest()[:12]}"
        answer = self.models.create(
            {
                "ModelName": name,
                "ExecutionRoleArn": job.request["RoleArn"],
                "PrimaryContainer": {
                    "Image": regions.image_classification_image(job.region),
                    "ModelDataUrl": uri,
                },
            },
            job.region,
        )
        return str(answer["ModelArn"])

    def _write_many(self, objects: list[tuple[str, str]], kms_key: str | None) -> None:
        """Write many (uri, body) objects, each its own S3 object, a few at a time."""
        if len(objects) <= 1:
            for uri, body in objects:
                self._write(uri, body, kms_key)
            return
        with ThreadPoolExecutor(max_workers=min(WRITERS, len(objects))) as pool:
            list(pool.map(lambda o: self._write(o[0], o[1], kms_key), objects))

    def _team_pool(self, job: LabelingJob) -> str:
        team = self.workforces.workteam_by_arn(job.request["HumanTaskConfig"]["WorkteamArn"])
        return str(team["MemberDefinitions"][0]["CognitoMemberDefinition"]["UserPool"])

    def _job(self, region: str, name: str) -> LabelingJob:
        with self._lock:
            job = self._jobs.get((region, name.lower()))
        if job is None:
            raise not_found(f"Could not find labeling job {name} in {region} (account {ACCOUNT})")
        return job


def _agreed(answers: list[WorkerAnswer]) -> int | None:
    """The label most of the answers give (the first such on a tie); None without answers."""
    if not answers:
        return None
    counts: dict[int, int] = {}
    for a in answers:
        counts[a.label] = counts.get(a.label, 0) + 1
    return max(counts, key=lambda label: counts[label])


def _worker_responses(job: LabelingJob, plan: ObjectPlan, pool: str) -> tuple[str, str]:
    """One object's worker-response file: its S3 URI and its JSON text."""
    answers = [
        {
            "answerContent": {"crowd-image-classifier": {"label": job.labels[a.label]}},
            "acceptanceTime": _iso(job.at(a.accepted), zulu=True),
            "submissionTime": _iso(job.at(a.submitted), zulu=True),
            "timeSpentInSeconds": round(a.submitted - a.accepted, 3),
            "workerId": a.worker.worker_id,
            "workerMetadata": _identity(job, pool, a.worker),
        }
        for a in plan.answers
    ]
    submitted = [job.at(a.submitted) for a in plan.answers]
    for task in plan.people:
        if task.submitted is None or task.accepted is None:
            continue
        answers.append(
            {
                "answerContent": task.answer,
                "acceptanceTime": _iso(task.accepted, zulu=True),
                "submissionTime": _iso(task.submitted, zulu=True),
                "timeSpentInSeconds": round(task.submitted - task.accepted, 3),
                "workerId": task.worker.worker_id,
                "workerMetadata": _identity(job, pool, task.worker),
            }
        )
        submitted.append(task.submitted)
    stamp = _stamp(max(submitted))
    return job.output.worker_response(plan.index, stamp), json.dumps({"answers": answers})


def _identity(job: LabelingJob, pool: str, worker: crowd.Worker) -> dict[str, Any]:
    """A worker response's workerMetadata: the worker's Cognito identity."""
    return {
        "identityData": {
            "identityProviderType": "Cognito",
            "issuer": f"https://cognito-idp.{job.region}.amazonaws.com/{pool}",
            "sub": hashlib.sha256(worker.username.encode()).hexdigest()[:32],
        }
    }


def _iso(epoch: float, zulu: bool = False) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    if zulu:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds")


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d_%H:%M:%S")
