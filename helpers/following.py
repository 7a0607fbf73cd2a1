"""Following a submitted run to its end by SageMaker's `Describe*` calls, the same in both modes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpers import gt_access, local_runner
from helpers.awserrors import unless_missing
from helpers.errors import WalkthroughError
from helpers.names import RunNames
from helpers.progress import progress
from helpers.records import RunRecord


@dataclass
class RunState:
    """What SageMaker says about a run's resources right now."""

    workteam_arn: str | None = None
    labeling: dict[str, dict[str, Any]] = field(default_factory=dict)
    training: dict[str, Any] | None = None

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
        return None


def observe(aws: Any, names: RunNames) -> RunState:
    """Describe the run's workteam and jobs (those that exist so far)."""
    sagemaker = aws.client("sagemaker")
    team = unless_missing(sagemaker.describe_workteam, WorkteamName=names.team)
    state = RunState(workteam_arn=team["Workteam"]["WorkteamArn"] if team else None)
    for split, job in (("train", names.train_job), ("validation", names.validation_job)):
        found = unless_missing(sagemaker.describe_labeling_job, LabelingJobName=job)
        if found:
            state.labeling[split] = found
    state.training = unless_missing(
        sagemaker.describe_training_job, TrainingJobName=names.training_job
    )
    return state


def follow(
    aws: Any,
    record: RunRecord,
    finished: Callable[[], bool | None],
    poll_seconds: float = 1.0,
    timeout: float = 7 * 86400,
    objects: int | None = None,
) -> RunState:
    """Show the run's progress (objects labeled, then training) until the pipeline ends.

    `finished()` returns None while the pipeline runs, then True (succeeded) or False (failed).
    `objects` (both manifests' lines, known before submission) is the bar's total from the
    start; the bar ends once, when every object is labeled or failed, before training starts.
    """
    names = record.run_names
    bar: Any = None
    if objects:
        bar = progress(total=objects, desc="objects labeled", unit="obj")
    labeling_over = False
    training_status = None
    outcome: bool | None = None
    deadline = time.monotonic() + timeout
    try:
        while outcome is None and time.monotonic() < deadline:
            outcome = finished()
            state = observe(aws, names)
            if state.labeling and not labeling_over:
                done, total, detail = _labeling_progress(state)
                if bar is None:  # the count was not given: the jobs' own, once they exist
                    bar = progress(total=total, desc="objects labeled", unit="obj")
                bar.total = max(bar.total or 0, total)
                bar.set_postfix_str(detail, refresh=False)
                bar.update(done - bar.n)
                labeling_over = len(state.labeling) == 2 and done >= bar.total
            labeling_over = labeling_over or state.training is not None
            if labeling_over and bar is not None:
                bar.close()  # once: a closed bar prints nothing more
            if state.training:
                training = state.training
                status = f"{training['TrainingJobStatus']} ({training['SecondaryStatus']})"
                if status != training_status:
                    print(f"training job {names.training_job}: {status}", flush=True)
                    training_status = status
            if outcome is None:
                time.sleep(poll_seconds)
    finally:
        if bar is not None:
            bar.close()
    state = observe(aws, names)
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
    found = {"workteam ARN": state.workteam_arn or ""}
    for split, job in state.labeling.items():
        found[f"{split} output manifest"] = job.get("LabelingJobOutput", {}).get(
            "OutputDatasetS3Uri", ""
        )
    if state.training:
        found["training job"] = state.training["TrainingJobName"]
        found["model artifact"] = state.training["ModelArtifacts"]["S3ModelArtifacts"]
    return found
