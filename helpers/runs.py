"""Submitting the pipeline, keeping a record of the run, and following it to the end.

A run's record (its id, names and arguments) is kept in the bucket under the prefix
(`runs/<run id>.json` and `runs/latest.json`) and under the project's `runs/records/`; notebook 03
follows the latest recorded run instead of submitting again unless a new run is asked for.
Local mode runs the pipeline on KFP's local runner in a child process; aws mode submits it
through `kfp.Client`. Both are followed the same way: by SageMaker's `Describe*` calls.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from helpers import dataset, gt_access, gt_inputs, pipeline, regions
from helpers.aws import without_endpoint_overrides
from helpers.awserrors import error_code, is_missing, unless_missing
from helpers.errors import InputError, WalkthroughError
from helpers.names import RUN_ID, RunNames, new_run_id, run_names
from helpers.paths import run_path, runs_dir
from helpers.progress import progress
from helpers.s3 import read_object, split_uri
from helpers.settings import Settings, sagemaker_name_problem
from helpers.tags import RUN_TAG

TERMINAL = ("Completed", "Failed", "Stopped")


@dataclass
class RunRecord:
    """What notebook 03 submitted: enough to follow, review and clean up the run."""

    run_id: str
    mode: str
    component_set: str
    names: dict[str, str]
    arguments: dict[str, Any]
    submitted_at: str
    kfp_run_id: str | None = None
    kfp_host: str | None = None
    kfp_namespace: str | None = None
    ui_link: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def run_names(self) -> RunNames:
        """The run's workteam and job names."""
        return RunNames(run_id=self.run_id, **self.names)


#: A KFP run id (a UUID on KFP 2.x) and a Kubernetes namespace, as a record may carry them.
_KFP_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_RECORD_FIX = (
    "the record was not written by notebook 03 (or was changed since): delete it, or submit a "
    "new run with new_run=True"
)


def parse_record(body: bytes | str, settings: Settings, where: str) -> RunRecord:
    """Read a run record (JSON) as untrusted input: every field is checked before it is used.

    The run id must look like `new_run_id`'s (it names files under runs/), the names must be
    SageMaker names, every S3 URI must be under the settings' prefix.
    """

    def bad(field_name: str, value: object, rule: str) -> InputError:
        return InputError(f"run record {where}: {field_name}", value, rule, _RECORD_FIX)

    try:
        data = json.loads(body)
    except ValueError as exc:
        raise bad("(the whole record)", str(body)[:80], f"must be JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise bad("(the whole record)", str(body)[:80], "must be a JSON object")
    known = {f.name for f in fields(RunRecord)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise bad(unknown[0], data[unknown[0]], f"is not a field of a run record ({sorted(known)})")
    for required in ("run_id", "mode", "component_set", "names", "arguments", "submitted_at"):
        if required not in data:
            raise bad(required, None, "is missing")
    run_id = data["run_id"]
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise bad("run_id", run_id, f"must match {RUN_ID.pattern} (as the walkthrough makes them)")
    if data["mode"] not in ("local", "aws"):
        raise bad("mode", data["mode"], "must be local or aws")
    if data["component_set"] not in ("python", "official"):
        raise bad("component_set", data["component_set"], "must be python or official")
    names = data["names"]
    expected = {"team", "train_job", "validation_job", "training_job"}
    if not isinstance(names, dict) or set(names) != expected:
        raise bad("names", names, f"must name exactly {sorted(expected)}")
    for key, name in names.items():
        problem = sagemaker_name_problem(name) if isinstance(name, str) else "must be a string"
        if problem:
            raise bad(f"names.{key}", name, problem)
    if not isinstance(data["arguments"], dict):
        raise bad("arguments", data["arguments"], "must be a JSON object")
    under = settings.layout.root + "/"
    for key, value in data["arguments"].items():
        if isinstance(value, str) and value.startswith("s3://") and not value.startswith(under):
            raise bad(f"arguments.{key}", value, f"must be under {under}")
    for key, pattern in (("kfp_run_id", _KFP_RUN_ID), ("kfp_namespace", _NAMESPACE)):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
            raise bad(key, value, f"must match {pattern.pattern}")
    for key in ("submitted_at", "kfp_host", "ui_link"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise bad(key, value, "must be a string")
    link = data.get("ui_link")
    if link is not None and not link.startswith(("http://", "https://")):
        raise bad("ui_link", link, "must be an http(s) URL")
    extra = data.get("extra", {})
    pid = extra.get("pid") if isinstance(extra, dict) else None
    if not isinstance(extra, dict) or not (pid is None or (type(pid) is int and pid > 0)):
        raise bad("extra", extra, "must be a JSON object whose pid (if any) is a process id")
    return RunRecord(**data)


def record_uri(settings: Settings, run_id: str) -> str:
    """Where a run's record lives in the bucket."""
    return settings.layout.run_record(run_id)


def save_record(s3: Any, settings: Settings, record: RunRecord) -> str:
    """Write the record to the bucket (and as latest) and under runs/records/; return its URI."""
    body = json.dumps(asdict(record), indent=2, default=str)
    for uri in (record_uri(settings, record.run_id), record_uri(settings, "latest")):
        bucket, key = split_uri(uri)
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/json")
    mine = run_path("records", f"{record.run_id}.json")
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_text(body)
    run_path("records", "latest.json").write_text(body)
    return record_uri(settings, record.run_id)


def latest_record(s3: Any, settings: Settings) -> RunRecord | None:
    """Return the latest run recorded in the bucket under the prefix, or None."""
    bucket, key = split_uri(record_uri(settings, "latest"))
    try:
        body = read_object(s3, bucket, key)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise
    return parse_record(body, settings, f"s3://{bucket}/{key}")


def workforce_cognito(aws: Any, settings: Settings) -> tuple[str, str]:
    """The Cognito pool and app client: from the settings, else the region's private workforce."""
    if settings.user_pool and settings.client_id:
        return settings.user_pool, settings.client_id
    workforces = aws.client("sagemaker").list_workforces()["Workforces"]
    cognito = workforces[0].get("CognitoConfig") if workforces else None
    if not cognito:
        raise InputError(
            "user_pool",
            settings.user_pool,
            f"no private workforce exists in {settings.region} to take it from",
            "run notebook 02 (it creates or checks the workforce), or set user_pool and client_id",
        )
    return settings.user_pool or cognito["UserPool"], settings.client_id or cognito["ClientId"]


def arguments(settings: Settings, aws: Any, names: RunNames) -> dict[str, Any]:
    """The pipeline's arguments for a run, from the settings and notebook 01's inputs."""
    role = settings.require("role_arn", "to run labeling and training jobs")
    groups = settings.require("user_groups", "to make the workteam")
    pool, client_id = workforce_cognito(aws, settings)
    staged = dataset.input_uris(settings)
    return {
        "region": settings.region,
        "tags": {RUN_TAG: names.run_id},
        "role_arn": role,
        "team_name": names.team,
        "team_description": settings.team_description,
        "user_pool": pool,
        "user_groups": groups,
        "client_id": client_id,
        "ground_truth_train_job_name": names.train_job,
        "ground_truth_validation_job_name": names.validation_job,
        "ground_truth_label_attribute_name": settings.ground_truth_label_attribute_name,
        "ground_truth_train_manifest_location": staged.train_manifest,
        "ground_truth_validation_manifest_location": staged.validation_manifest,
        "ground_truth_output_location": settings.layout.labeling_output,
        "ground_truth_label_category_config": staged.label_config,
        "ground_truth_ui_template": staged.ui_template,
        "ground_truth_title": settings.ground_truth_title,
        "ground_truth_description": settings.ground_truth_description,
        "ground_truth_num_workers_per_object": settings.ground_truth_num_workers_per_object,
        "ground_truth_time_limit": settings.ground_truth_time_limit,
        "ground_truth_task_availibility": settings.ground_truth_task_availibility,
        "ground_truth_max_concurrent_tasks": settings.ground_truth_max_concurrent_tasks,
        "training_job_name": names.training_job,
        "training_image": regions.image_classification_image(settings.region),
        "training_hyperparameters": dict(pipeline.DEFAULT_HYPERPARAMETERS),
        "training_input_location": settings.layout.training_input(names.run_id),
        "training_output_location": settings.layout.training_output,
        "training_instance_type": settings.training_instance_type,
        "training_instance_count": settings.training_instance_count,
        "training_volume_size": settings.training_volume_size,
        "training_max_run_time": settings.training_max_run_time,
        **encryption_and_network(settings),
    }


def encryption_and_network(settings: Settings) -> dict[str, str]:
    """The pipeline arguments of the KMS key and VPC settings that are set (none when unset)."""
    given = {
        "ground_truth_output_encryption_key": settings.labeling_output_kms_key or "",
        "training_resource_encryption_key": settings.training_volume_kms_key or "",
        "training_output_encryption_key": settings.training_output_kms_key or "",
        "training_vpc_subnets": ",".join(settings.vpc_subnets),
        "training_vpc_security_group_ids": ",".join(settings.vpc_security_group_ids),
    }
    return {name: value for name, value in given.items() if value}


def names_taken(aws: Any, names: RunNames) -> list[str]:
    """Return which of the run's names already exist (labeling job names case-insensitively)."""
    sagemaker = aws.client("sagemaker")
    taken = []
    if unless_missing(sagemaker.describe_workteam, WorkteamName=names.team):
        taken.append(f"workteam {names.team}")
    for job in (names.train_job, names.validation_job):
        found = sagemaker.list_labeling_jobs(NameContains=job, MaxResults=100)
        if any(
            j["LabelingJobName"].lower() == job.lower() for j in found["LabelingJobSummaryList"]
        ):
            taken.append(f"labeling job {job}")
    found = sagemaker.list_training_jobs(NameContains=names.training_job, MaxResults=100)
    if any(j["TrainingJobName"] == names.training_job for j in found["TrainingJobSummaries"]):
        taken.append(f"training job {names.training_job}")
    return taken


def plan_run(settings: Settings, aws: Any, component_set: str) -> RunRecord:
    """Name a new run and work out its arguments (nothing is created yet)."""
    names = run_names(settings, new_run_id())
    taken = names_taken(aws, names)
    if taken:
        raise InputError(
            "team_name / ground_truth_*_job_name",
            ", ".join(taken),
            "these names are taken (labeling job names are unique per account and "
            "region, case-insensitively)",
            "choose other names, or leave them unset to get unique ones",
        )
    return RunRecord(
        run_id=names.run_id,
        mode=settings.mode,
        component_set=component_set,
        names={
            "team": names.team,
            "train_job": names.train_job,
            "validation_job": names.validation_job,
            "training_job": names.training_job,
        },
        arguments=arguments(settings, aws, names),
        submitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


# --- running locally ------------------------------------------------------------------------------


def start_local(record: RunRecord) -> subprocess.Popen[bytes]:
    """Start the pipeline on KFP's local runner in a child process (log in the run folder)."""
    folder = run_path("pipeline-runs", record.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arguments.json").write_text(json.dumps(record.arguments, indent=2))
    log = open(folder / "pipeline.log", "wb")  # noqa: SIM115 - the child owns it until it ends
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "helpers.local_runner",
            str(folder / "arguments.json"),
            str(folder / "root"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=without_endpoint_overrides(os.environ),
    )


def local_log(record: RunRecord) -> Path:
    """The log of a local pipeline run."""
    return run_path("pipeline-runs", record.run_id, "pipeline.log")


# --- following ------------------------------------------------------------------------------------


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
) -> RunState:
    """Show the run's progress (objects labeled, then training) until the pipeline ends.

    `finished()` returns None while the pipeline runs, then True (succeeded) or False (failed).
    """
    names = record.run_names
    bar: Any = None
    training_status = None
    outcome: bool | None = None
    deadline = time.monotonic() + timeout
    try:
        while outcome is None and time.monotonic() < deadline:
            outcome = finished()
            state = observe(aws, names)
            if state.labeling:
                done, total, detail = _labeling_progress(state)
                if bar is None:
                    bar = progress(total=total, desc="objects labeled", unit="obj")
                bar.total = total
                bar.set_postfix_str(detail, refresh=False)
                bar.update(done - bar.n)
            if state.training:
                training = state.training
                status = f"{training['TrainingJobStatus']} ({training['SecondaryStatus']})"
                if status != training_status:
                    print(f"\ntraining job {names.training_job}: {status}", flush=True)
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
    log = local_log(record)
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


def local_finished(process: subprocess.Popen[bytes]) -> Callable[[], bool | None]:
    """A `finished` check for a local pipeline run."""
    return lambda: None if process.poll() is None else process.returncode == 0


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


# --- submitting -----------------------------------------------------------------------------------


@dataclass
class Submission:
    """A run being followed: its record, how to tell it ended, and whether it was resumed."""

    record: RunRecord
    finished: Callable[[], bool | None]
    resumed: bool


def confirm_cost(settings: Settings) -> None:
    """In aws mode, refuse to create labeling work (which costs money) unless confirmed."""
    if settings.mode == "aws" and not settings.confirm_submit:
        raise InputError(
            "confirm_submit",
            settings.confirm_submit,
            "a submission in aws mode sends labeling tasks to people and starts a GPU training "
            "job, which cost money (Ground Truth charges per object)",
            "set confirm_submit=True (a notebook parameter, WALKTHROUGH_CONFIRM_SUBMIT=true or "
            "settings.json) once you have checked the settings",
        )


def submit_or_resume(settings: Settings, aws: Any, claim_wait: float = 300.0) -> Submission:
    """Follow the latest recorded run, or (when there is none, or new_run is set) submit one.

    Exactly one execution submits: the submission is claimed atomically in the bucket before
    anything is created (see `claim`); an execution that loses the claim follows the winner's run.
    """
    s3 = aws.client("s3")
    latest = latest_record(s3, settings)
    previous = None if settings.new_run else latest
    if previous is not None:
        return Submission(previous, resume(settings, aws, previous), resumed=True)
    require_inputs(settings, s3)  # read only: a bad input stops before anything is created
    record = plan_run(settings, aws, settings.component_set or "python")
    confirm_cost(settings)
    winner = claim(s3, settings, record, latest)
    if winner is not None:
        print(f"Another execution of notebook 03 is submitting run {winner.run_id}: following it")
        followed = await_record(s3, settings, winner, latest, claim_wait)
        return Submission(followed, resume(settings, aws, followed), resumed=True)
    try:
        if settings.mode == "local":  # the runner differs by mode; the AWS calls do not
            process = start_local(record)
            record.extra["pid"] = process.pid
            finished = local_finished(process)
        else:
            finished = submit_kfp(settings, record)
    except BaseException:
        release(s3, settings, latest)  # nothing was submitted: the next execution may try
        raise
    save_record(s3, settings, record)
    return Submission(record, finished, resumed=False)


# --- claiming a submission ------------------------------------------------------------------------

#: S3's answers to a conditional write that lost: the object exists (412), or another
#: conditional write of the same key is in flight (409; try again).
_PRECONDITION_FAILED = ("PreconditionFailed", "412")
_CONFLICT = ("ConditionalRequestConflict", "409")


def claim_uri(settings: Settings, latest: RunRecord | None) -> str:
    """The key every execution that would submit after the latest run contends for."""
    after = latest.run_id if latest is not None else "none"
    return settings.layout.run_claim(after)


def claim(
    s3: Any,
    settings: Settings,
    record: RunRecord,
    latest: RunRecord | None,
    attempts: int = 6,
    sleep: Callable[[float], None] = time.sleep,
) -> RunRecord | None:
    """Claim the next submission atomically; None when it is ours, else the run that has it.

    The claim is a conditional PutObject (`If-None-Match: *`) of the planned record on a key
    named after the latest run (`claim_uri`): of the executions that saw the same latest run,
    exactly one writes it. A 409 (another conditional write in flight) is tried again; a 412
    means the key exists: its record says whose claim it is (ours too, when an earlier attempt
    of this same write went through and only its answer was lost).
    """
    bucket, key = split_uri(claim_uri(settings, latest))
    body = json.dumps(asdict(record), indent=2, default=str).encode()
    for attempt in range(attempts):
        try:
            s3.put_object(
                Bucket=bucket, Key=key, Body=body, IfNoneMatch="*", ContentType="application/json"
            )
            return None
        except ClientError as exc:
            code = error_code(exc)
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code in _CONFLICT or status == "409":
                sleep(min(5.0, 0.2 * 2**attempt))
                continue
            if code not in _PRECONDITION_FAILED and status != "412":
                raise
        break
    holder = parse_record(read_object(s3, bucket, key), settings, f"s3://{bucket}/{key}")
    return None if holder.run_id == record.run_id else holder


def release(s3: Any, settings: Settings, latest: RunRecord | None) -> None:
    """Give up a claim whose submission failed before anything ran."""
    bucket, key = split_uri(claim_uri(settings, latest))
    s3.delete_object(Bucket=bucket, Key=key)


def await_record(
    s3: Any,
    settings: Settings,
    claimed: RunRecord,
    latest: RunRecord | None,
    timeout: float = 300.0,
    poll_seconds: float = 1.0,
) -> RunRecord:
    """The record of a run another execution claimed, once that execution has submitted it."""
    bucket, key = split_uri(record_uri(settings, claimed.run_id))
    claim_bucket, claim_key = split_uri(claim_uri(settings, latest))
    deadline = time.monotonic() + timeout
    while True:
        try:
            return parse_record(read_object(s3, bucket, key), settings, f"s3://{bucket}/{key}")
        except ClientError as exc:
            if not is_missing(exc):
                raise
        try:
            s3.head_object(Bucket=claim_bucket, Key=claim_key)
        except ClientError as exc:
            if not is_missing(exc):
                raise
            raise WalkthroughError(
                f"another execution of notebook 03 claimed run {claimed.run_id} but its "
                "submission failed (it gave the claim up): run this notebook again"
            ) from None
        if time.monotonic() > deadline:
            raise WalkthroughError(
                f"run {claimed.run_id} was claimed by another execution of notebook 03 at "
                f"{claimed.submitted_at} but is still not submitted after {timeout:.0f}s. If that "
                f"execution stopped, delete s3://{claim_bucket}/{claim_key} and run this again"
            )
        time.sleep(poll_seconds)


def resume(settings: Settings, aws: Any, record: RunRecord) -> Callable[[], bool | None]:
    """A `finished` check for a run submitted earlier (possibly from another kernel)."""
    if record.kfp_run_id:
        return kfp_finished(kfp_client(settings), record.kfp_run_id)
    log = local_log(record)

    def finished() -> bool | None:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "PIPELINE SUCCEEDED" in text:
            return True
        if "PIPELINE FAILED" in text:
            return False
        state = observe(aws, record.run_names)
        if state.failure():
            return False
        if state.training and state.training["TrainingJobStatus"] == "Completed":
            return True
        if not _alive(record.extra.get("pid")):
            raise WalkthroughError(
                f"the local run {record.run_id} ended before it finished (its process is gone). "
                "Submit a new run with new_run=True."
            )
        return None

    return finished


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


# --- aws mode: the kfp Client ---------------------------------------------------------------------


def kfp_client(settings: Settings) -> Any:
    """A kfp Client: in-cluster defaults, or the host, namespace and token file from settings."""
    import kfp

    options: dict[str, Any] = {}
    if settings.kfp_host:
        options["host"] = settings.kfp_host
    if settings.kfp_token_file:
        options["existing_token"] = Path(settings.kfp_token_file).read_text().strip()
    namespace = kfp_namespace(settings)
    if namespace:
        options["namespace"] = namespace
    return kfp.Client(**options)


def kfp_namespace(settings: Settings) -> str | None:
    """The profile namespace in multi-user Kubeflow; None for standalone KFP (pipeline-runner)."""
    return None if settings.kfp_service_account == "pipeline-runner" else settings.kfp_namespace


def compiled_package(settings: Settings, record: RunRecord) -> Path:
    """Compile the run's pipeline (its component set, its credentials) into the run folder."""
    from helpers import components

    parts = components.official() if record.component_set == "official" else components.python()
    folder = run_path("pipeline-runs", record.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return pipeline.compile_pipeline(
        parts,
        folder / "mini-image-classification-pipeline.yaml",
        aws_secret=settings.kfp_aws_secret,
    )


def submit_kfp(settings: Settings, record: RunRecord) -> Callable[[], bool | None]:
    """Upload the pipeline (or a new version), create the run in the experiment, link to it."""
    client = kfp_client(settings)
    package = str(compiled_package(settings, record))
    namespace = kfp_namespace(settings)
    pipeline_id = find_pipeline(client, namespace)
    version_name = f"{pipeline.PIPELINE_NAME}-{record.run_id}"
    if pipeline_id is None:
        uploaded = client.upload_pipeline(
            package,
            pipeline_name=pipeline.PIPELINE_NAME,
            description=pipeline.DESCRIPTION,
            namespace=namespace,
        )
        pipeline_id = uploaded.pipeline_id
    version = client.upload_pipeline_version(
        package, pipeline_version_name=version_name, pipeline_id=pipeline_id
    )
    experiment = client.create_experiment(settings.kfp_experiment, namespace=namespace)
    run = client.run_pipeline(
        experiment_id=experiment.experiment_id,
        job_name=version_name,
        params=record.arguments,
        pipeline_id=pipeline_id,
        version_id=version.pipeline_version_id,
        enable_caching=False,
    )
    record.kfp_run_id = run.run_id
    record.kfp_host = settings.kfp_host
    record.kfp_namespace = namespace
    ui = client._get_url_prefix()  # noqa: SLF001 - the client's own idea of the UI's address
    record.ui_link = f"{ui.rstrip('/')}/#/runs/details/{run.run_id}"
    print(f"Created KFP run {run.run_id} in experiment {settings.kfp_experiment}")
    return kfp_finished(client, run.run_id)


def find_pipeline(client: Any, namespace: str | None) -> str | None:
    """The id of the walkthrough's pipeline in the namespace (shared ones without), or None.

    `kfp.Client.get_pipeline_id` looks among shared pipelines only, so in multi-user Kubeflow
    it misses the one uploaded into the profile's namespace and the upload then fails on
    "already exists".
    """
    name_filter = json.dumps(
        {
            "predicates": [
                {"operation": 1, "key": "display_name", "stringValue": pipeline.PIPELINE_NAME}
            ]
        }
    )  # operation 1: EQUALS
    found = client.list_pipelines(namespace=namespace, filter=name_filter, page_size=2).pipelines
    return found[0].pipeline_id if found else None


def kfp_finished(client: Any, kfp_run_id: str) -> Callable[[], bool | None]:
    """A `finished` check for a run on a KFP cluster."""

    def finished() -> bool | None:
        state = str(client.get_run(kfp_run_id).state or "").upper()
        if state == "SUCCEEDED":
            return True
        if state in ("FAILED", "CANCELED", "CANCELING", "SKIPPED"):
            return False
        return None

    return finished


def require_inputs(settings: Settings, s3: Any) -> dict[str, Any]:
    """Check the region and notebook 01's inputs (read only); raise naming what to fix first."""
    problem = regions.region_problem(settings.region)
    if problem:
        raise InputError("region", settings.region, problem, regions.region_fix())
    try:
        found = dataset.verify(settings, s3)
    except ClientError as exc:
        raise WalkthroughError(
            f"the Ground Truth inputs are not under {settings.s3_prefix_uri} "
            f"({exc.response['Error']['Code']}): run notebook 01_prepare_dataset first"
        ) from exc
    staged = dataset.input_uris(settings)
    for split, missing in found["missing_by_split"].items():
        manifest = getattr(staged, f"{split}_manifest")
        if not found["objects"][split]:
            raise InputError(
                manifest,
                "no objects",
                'a labeling job needs at least one line {"source-ref": "s3://..."}',
                "run notebook 01_prepare_dataset again to rewrite the manifests",
            )
        if missing:
            raise InputError(
                manifest,
                missing[0] if len(missing) == 1 else f"{missing[0]} and {len(missing) - 1} more",
                f"{len(missing)} of its {found['objects'][split]} source-ref objects do not exist",
                "run notebook 01_prepare_dataset again (it copies what is missing), or remove "
                "their lines",
            )
    gt_inputs.require_labels(found["labels"], settings.classes, staged.label_config)
    if not found["template_has_classifier"]:
        raise gt_inputs.classifier_error(staged.ui_template)
    return found


def compile_for(settings: Settings) -> Path:
    """Compile the pipeline with the settings' component set into runs/pipeline/ (to look at)."""
    from helpers import components

    parts = components.official() if settings.component_set == "official" else components.python()
    folder = runs_dir() / "pipeline"
    folder.mkdir(parents=True, exist_ok=True)
    return pipeline.compile_pipeline(
        parts,
        folder / "mini-image-classification-pipeline.yaml",
        aws_secret=settings.kfp_aws_secret,
    )
