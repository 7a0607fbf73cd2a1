"""Following a submitted run to its end by SageMaker's `Describe*` calls, the same in both modes.

A run that labels in Label Studio has no labeling jobs to describe: its labeling progress comes
from its projects' counts (tasks with all their annotations over tasks), and once a labeling
step has finished, from the job description it wrote beside its output (`job.json`, shaped as
DescribeLabelingJob's answer).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpers import gt_access, local_runner, people
from helpers.awserrors import unless_missing
from helpers.errors import WalkthroughError
from helpers.labelstudio import output as studio_output
from helpers.names import RunNames
from helpers.progress import progress
from helpers.records import RunRecord
from helpers.s3 import read_text


@dataclass
class RunState:
    """What SageMaker says about a run's resources right now."""

    workteam_arn: str | None = None
    labeling: dict[str, dict[str, Any]] = field(default_factory=dict)
    training: dict[str, Any] | None = None
    #: whether the run predicts the test images (its record names a model)
    predictions: bool = False
    model: dict[str, Any] | None = None
    transform: dict[str, Any] | None = None
    #: whether the run labels in Label Studio (no workteam; labeling from its projects)
    label_studio: bool = False

    def failure(self) -> str | None:
        """The first failure reason among the run's jobs (a failed job before a stopped one)."""
        # a labeling job is stopped when the run's other labeling job failed: name the cause
        ended = [
            (split, job)
            for status in ("Failed", "Stopped")
            for split, job in self.labeling.items()
            if job["LabelingJobStatus"] == status
        ]
        for split, job in ended[:1]:
            return (
                f"labeling job {job['LabelingJobName']} ({split}) "
                f"{job['LabelingJobStatus'].lower()}: {job.get('FailureReason', '')}"
            )
        if self.training and self.training["TrainingJobStatus"] in ("Failed", "Stopped"):
            return (
                f"training job {self.training['TrainingJobName']} "
                f"{self.training['TrainingJobStatus'].lower()}: "
                f"{self.training.get('FailureReason', '')}"
            )
        transform = self.transform
        if transform and transform["TransformJobStatus"] in ("Failed", "Stopped"):
            return (
                f"transform job {transform['TransformJobName']} "
                f"{transform['TransformJobStatus'].lower()}: "
                f"{transform.get('FailureReason', '')}"
            )
        return None

    @property
    def over(self) -> bool:
        """Whether the run's last job completed (with predictions the transform job's, else
        the training job's)."""
        if self.predictions:
            return bool(self.transform) and self.transform["TransformJobStatus"] == "Completed"
        return bool(self.training) and self.training["TrainingJobStatus"] == "Completed"


@dataclass
class StudioWatch:
    """Where a Label Studio run's labeling progress comes from: its projects and job files."""

    client: Any  # helpers.labelstudio.api.Client
    output_location: str
    projects: dict[str, str]  # split -> project title (the labeling job's name)
    ids: dict[str, int] = field(default_factory=dict)  # title -> project id, once found

    def link(self, project_id: int) -> str:
        """Where a project's tasks are labeled in the browser."""
        return f"{self.client.url}/projects/{project_id}/data"


def studio_watch(record: RunRecord, client: Any) -> StudioWatch | None:
    """The watch of a run that labels in Label Studio (None for Ground Truth, or no client)."""
    studio = record.label_studio
    if studio is None or client is None:
        return None
    output_location = str(record.arguments.get("ground_truth_output_location", ""))
    return StudioWatch(client, output_location, dict(studio["projects"]))


def describe_project(s3: Any, watch: StudioWatch, title: str) -> dict[str, Any] | None:
    """A Label Studio labeling step's job, as DescribeLabelingJob would describe it.

    Its `job.json` once the step wrote it; before, the project's counts (InProgress); None
    while the project does not exist.
    """
    written = read_text(s3, studio_output.job_description_uri(watch.output_location, title))
    if written is not None:
        job = json.loads(written)
        for key in ("CreationTime", "LastModifiedTime"):
            job[key] = datetime.fromisoformat(job[key])
        return job
    if title not in watch.ids:
        found = [p for p in watch.client.projects() if p.get("title") == title]
        if not found:
            return None
        watch.ids[title] = int(found[0]["id"])
    project = watch.client.project(watch.ids[title])
    tasks = int(project.get("task_number") or 0)
    done = int(project.get("finished_task_number") or 0)
    return {
        "LabelingJobName": title,
        "LabelingJobStatus": "InProgress",
        "LabelCounters": {
            "TotalLabeled": done,
            "HumanLabeled": done,
            "MachineLabeled": 0,
            "FailedNonRetryableError": 0,
            "Unlabeled": tasks - done,
        },
        "CreationTime": studio_output.parse_time(project["created_at"]),
        "LabelStudio": {
            "url": watch.client.url,
            "project_id": watch.ids[title],
            "title": title,
            "tasks_with_annotations": int(project.get("num_tasks_with_annotations") or 0),
        },
    }


def observe(aws: Any, names: RunNames, studio: StudioWatch | None = None) -> RunState:
    """Describe the run's workteam and jobs (those that exist so far).

    With a Label Studio watch the labeling comes from its projects, and there is no workteam.
    """
    sagemaker = aws.client("sagemaker")
    if studio is not None:
        state = RunState(label_studio=True)
        s3 = aws.client("s3")
        for split, title in sorted(studio.projects.items()):
            found = describe_project(s3, studio, title)
            if found:
                state.labeling[split] = found
    else:
        team = unless_missing(sagemaker.describe_workteam, WorkteamName=names.team)
        state = RunState(workteam_arn=team["Workteam"]["WorkteamArn"] if team else None)
        for split, job in (("train", names.train_job), ("validation", names.validation_job)):
            found = unless_missing(sagemaker.describe_labeling_job, LabelingJobName=job)
            if found:
                state.labeling[split] = found
    state.training = unless_missing(
        sagemaker.describe_training_job, TrainingJobName=names.training_job
    )
    state.predictions = bool(names.model)
    if names.model and state.training is not None:
        # listed first: a Describe of a missing model or transform job answers a
        # ValidationException whose wording is not a "not found" one
        models = sagemaker.list_models(NameContains=names.model, MaxResults=100)["Models"]
        if any(m["ModelName"] == names.model for m in models):
            state.model = sagemaker.describe_model(ModelName=names.model)
    if names.transform_job and state.model is not None:
        jobs = sagemaker.list_transform_jobs(NameContains=names.transform_job, MaxResults=100)
        if any(j["TransformJobName"] == names.transform_job for j in jobs["TransformJobSummaries"]):
            state.transform = sagemaker.describe_transform_job(TransformJobName=names.transform_job)
    return state


def follow(
    aws: Any,
    record: RunRecord,
    finished: Callable[[], bool | None],
    poll_seconds: float = 1.0,
    timeout: float = 7 * 86400,
    objects: int | None = None,
    label_studio: Any = None,
) -> RunState:
    """Show the run's progress (objects labeled, then training) until the pipeline ends.

    `finished()` returns None while the pipeline runs, then True (succeeded) or False (failed).
    `objects` (both manifests' lines, known before submission) is the bar's total from the
    start; the bar ends once, when every object is labeled or failed, before training starts.
    A run that labels in Label Studio needs `label_studio`, a client of its server: each
    project's link is printed once it exists.
    """
    names = record.run_names
    studio = studio_watch(record, label_studio)
    linked: set[str] = set()
    bar: Any = None
    if objects:
        bar = progress(total=objects, desc="objects labeled", unit="obj")
    labeling_over = False
    statuses: dict[str, str] = {}
    told: set[tuple[str, str]] = set()  # (job, person) whose wait was shown
    outcome: bool | None = None
    deadline = time.monotonic() + timeout
    try:
        while outcome is None and time.monotonic() < deadline:
            outcome = finished()
            state = observe(aws, names, studio)
            if studio is not None:
                _print_links(state, linked)
            if state.labeling and not labeling_over:
                done, total, detail = _labeling_progress(state)
                if not state.label_studio:
                    detail = _with_people(aws, state, detail, told)
                if bar is None:  # the count was not given: the jobs' own, once they exist
                    bar = progress(total=total, desc="objects labeled", unit="obj")
                bar.total = max(bar.total or 0, total)
                bar.set_postfix_str(detail, refresh=False)
                bar.update(done - bar.n)
                labeling_over = len(state.labeling) == 2 and done >= bar.total
            labeling_over = labeling_over or state.training is not None
            if labeling_over and bar is not None:
                bar.close()  # once: a closed bar prints nothing more
            for what, status in _job_statuses(state).items():
                if statuses.get(what) != status:
                    print(f"{what}: {status}", flush=True)
                    statuses[what] = status
            if outcome is None:
                time.sleep(poll_seconds)
    finally:
        if bar is not None:
            bar.close()
    state = observe(aws, names, studio)
    if outcome is None:
        raise WalkthroughError(f"run {record.run_id} did not finish within {timeout:.0f}s")
    if not outcome:
        reason = (
            state.failure()
            or labeling_refusal(record, state)
            or "a pipeline step failed (see the pipeline log)"
        )
        raise WalkthroughError(f"the pipeline run {record.run_id} failed: {reason}")
    return state


def _print_links(state: RunState, linked: set[str]) -> None:
    """Print where each Label Studio project is labeled, once, when it first exists."""
    for split, job in sorted(state.labeling.items()):
        studio = job.get("LabelStudio", {})
        if studio and job["LabelingJobName"] not in linked:
            linked.add(job["LabelingJobName"])
            link = f"{studio['url']}/projects/{studio['project_id']}/data"
            print(f"Label Studio project {job['LabelingJobName']} ({split}): {link}", flush=True)


def _job_statuses(state: RunState) -> dict[str, str]:
    """The status line of each job after labeling (training, model, transform) that exists."""
    found = {}
    if state.training:
        training = state.training
        found[f"training job {training['TrainingJobName']}"] = (
            f"{training['TrainingJobStatus']} ({training['SecondaryStatus']})"
        )
    if state.model:
        found[f"model {state.model['ModelName']}"] = "created"
    if state.transform:
        transform = state.transform
        found[f"transform job {transform['TransformJobName']}"] = transform["TransformJobStatus"]
    return found


def labeling_refusal(record: RunRecord, state: RunState) -> str | None:
    """Why no labeling job exists in a failed run, when Ground Truth refused the account."""
    if state.labeling:
        return None
    log = local_runner.log_path(record.run_id)
    note = gt_access.refusal_in_log(log.read_text(errors="replace")) if log.exists() else None
    if note or not state.workteam_arn:
        return note
    return (
        "the labeling jobs were never created (the label-train step's log says why). If "
        "CreateLabelingJob answered AccessDenied without naming a missing permission, the "
        f"account may not have Ground Truth access: {gt_access.CLOSURE}; {gt_access.LOCAL_MODE}"
    )


def _with_people(aws: Any, state: RunState, detail: str, told: set[tuple[str, str]]) -> str:
    """The bar's note plus the tasks waiting for people (local mode); where to open them, once."""
    region = next(iter(state.labeling.values()))["LabelingJobArn"].split(":")[3]
    names = {job["LabelingJobName"] for job in state.labeling.values()}
    pending = [p for p in people.waiting(aws, region) if p["job_name"] in names]
    for entry in pending:
        if (entry["job_name"], entry["username"]) not in told:
            told.add((entry["job_name"], entry["username"]))
            print(people.waiting_line(entry, people.portal_link(aws)), flush=True)
    note = people.waiting_note(pending)
    return f"{detail}; waiting for people: {note}" if note else detail


def _labeling_progress(state: RunState) -> tuple[int, int, str]:
    """Objects done (labeled or failed) over all labeling jobs, their total, and a per-job note."""
    done = total = 0
    notes = []
    for split, job in sorted(state.labeling.items()):
        counters = job["LabelCounters"]
        count = sum(counters[k] for k in ("TotalLabeled", "FailedNonRetryableError", "Unlabeled"))
        done += count - counters["Unlabeled"]
        total += count
        notes.append(f"{split} {counters['TotalLabeled']}/{count}")
    return done, total, ", ".join(notes)


def outputs(state: RunState) -> dict[str, str]:
    """The run's outputs: the workteam, both labeled manifests, the training job and model."""
    found = {} if state.label_studio else {"workteam ARN": state.workteam_arn or ""}
    for split, job in state.labeling.items():
        studio = job.get("LabelStudio")
        if studio:
            found[f"{split} Label Studio project"] = (
                f"{studio['url']}/projects/{studio['project_id']}/data"
            )
        found[f"{split} output manifest"] = job.get("LabelingJobOutput", {}).get(
            "OutputDatasetS3Uri", ""
        )
    if state.training:
        found["training job"] = state.training["TrainingJobName"]
        found["model artifact"] = state.training["ModelArtifacts"]["S3ModelArtifacts"]
    if state.model:
        found["model"] = state.model["ModelName"]
    if state.transform:
        found["transform job"] = state.transform["TransformJobName"]
        found["predictions"] = state.transform["TransformOutput"]["S3OutputPath"]
    return found


#: How SageMaker's job statuses read in the pipeline picture (as KFP's UI names a step's state).
_STATES = {
    "Completed": "succeeded",
    "Failed": "failed",
    "Stopped": "stopped",
    "Stopping": "stopping",
    "InProgress": "running",
    "Initializing": "running",
}


def step_states(state: RunState, ended: bool | None) -> dict[str, str]:
    """Each pipeline step's state and duration, by the step's display name, as far as known.

    The labeling and training steps take theirs from the jobs' `Describe*` times (creation to
    last change for a labeling job, training start to end for the training job). Steps without
    a job of their own are told from what follows them; no duration is made up for them.
    `ended` is the run's outcome: None while it runs, True (succeeded) or False (failed).
    """
    steps: dict[str, str] = {}
    if not state.label_studio:  # Label Studio's pipeline has no workteam
        steps["create-workteam"] = "succeeded" if state.workteam_arn else _unstarted(ended)
    for split in ("train", "validation"):
        job = state.labeling.get(split)
        if job is None:
            steps[f"label-{split}"] = _unstarted(ended)
            continue
        status = job["LabelingJobStatus"]
        over = status in ("Completed", "Failed", "Stopped")
        steps[f"label-{split}"] = _with_time(
            _STATES.get(status, status.lower()),
            job.get("CreationTime"),
            job.get("LastModifiedTime") if over else None,
        )
    training = state.training
    if training is not None:
        steps["prepare-training"] = "succeeded"  # the training job is made from its output
        steps["train"] = _with_time(
            _STATES.get(training["TrainingJobStatus"], training["TrainingJobStatus"].lower()),
            training.get("TrainingStartTime"),
            training.get("TrainingEndTime"),
        )
    else:
        labeled = len(state.labeling) == 2 and all(
            job["LabelingJobStatus"] == "Completed" for job in state.labeling.values()
        )
        steps["prepare-training"] = (
            "failed" if labeled and ended is False else "running" if labeled else _unstarted(ended)
        )
        steps["train"] = _unstarted(ended)
    if state.predictions:
        steps.update(_prediction_steps(state, ended))
    steps["stop-run-jobs"] = "waiting for the run's end" if ended is None else "done"
    return steps


def _prediction_steps(state: RunState, ended: bool | None) -> dict[str, str]:
    """The states of create-model, predict and evaluate (the transform job's times for predict)."""
    trained = bool(state.training) and state.training["TrainingJobStatus"] == "Completed"
    steps = {"create-model": "succeeded" if state.model else _next(trained, ended)}
    transform = state.transform
    if transform is None:
        steps["predict"] = _next(state.model is not None, ended)
        steps["evaluate"] = _unstarted(ended)
        return steps
    status = transform["TransformJobStatus"]
    steps["predict"] = _with_time(
        _STATES.get(status, status.lower()),
        transform.get("TransformStartTime"),
        transform.get("TransformEndTime"),
    )
    steps["evaluate"] = _next(status == "Completed", ended)  # reads the transform's output
    return steps


def _next(ready: bool, ended: bool | None) -> str:
    """A step whose job is not there yet: running once what it waits for is done, else to come."""
    if not ready:
        return _unstarted(ended)
    return "running" if ended is None else ("succeeded" if ended else "failed")


def _unstarted(ended: bool | None) -> str:
    """A step with nothing to show for it: still to come while the run runs, else skipped."""
    return "pending" if ended is None else "not run"


def _with_time(state: str, start: Any, end: Any) -> str:
    """A step's state, with its duration when both ends are known."""
    if start is None or end is None:
        return state
    return f"{state} in {_duration((end - start).total_seconds())}"


def _duration(seconds: float) -> str:
    """Seconds as a short duration: 42 s, 3 min 5 s, 2 h 4 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
