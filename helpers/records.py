"""The record store of notebook 03's runs: what was submitted, kept where every notebook finds it.

A run's record (its id, names and arguments) is kept in the bucket under the prefix
(`runs/<run id>.json` and `runs/latest.json`) and under the project's `runs/records/`. Records
are read as untrusted input. The next submission is claimed atomically in the bucket, so exactly
one execution of notebook 03 submits it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from botocore.exceptions import ClientError

from helpers.awserrors import error_code, is_missing
from helpers.errors import InputError, WalkthroughError
from helpers.names import RUN_ID, RunNames
from helpers.paths import run_path
from helpers.s3 import read_object, split_uri
from helpers.settings import Settings, sagemaker_name_problem


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
    #: the labeling backend: Ground Truth, or Label Studio (its URL and project titles in
    #: `extra["label_studio"]`; never its token)
    labeling: str = "ground_truth"

    @property
    def label_studio(self) -> dict[str, Any] | None:
        """Label Studio's URL and the run's project titles by split; None for Ground Truth."""
        if self.labeling != "label_studio":
            return None
        return dict(self.extra.get("label_studio", {}))

    @property
    def run_names(self) -> RunNames:
        """The run's workteam and job names."""
        return RunNames(run_id=self.run_id, **self.names)


#: The labeling backends a record may name.
LABELING_BACKENDS = ("ground_truth", "label_studio")
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
    optional = {"model", "transform_job"}  # "" or absent: a run without predictions
    if not isinstance(names, dict) or not expected <= set(names) <= expected | optional:
        raise bad(
            "names",
            names,
            f"must name exactly {sorted(expected)} (and, with predictions, {sorted(optional)})",
        )
    for key, name in names.items():
        problem = sagemaker_name_problem(name) if isinstance(name, str) else "must be a string"
        if key in optional and name == "":
            problem = None
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
    _check_labeling(data, bad)
    return RunRecord(**data)


def _check_labeling(data: dict[str, Any], bad: Callable[[str, object, str], InputError]) -> None:
    """Check a record's labeling backend and, for Label Studio, its URL and project titles."""
    labeling = data.get("labeling", "ground_truth")
    if labeling not in LABELING_BACKENDS:
        raise bad("labeling", labeling, f"must be one of {LABELING_BACKENDS}")
    studio = data.get("extra", {}).get("label_studio")
    if labeling != "label_studio" and studio is None:
        return
    url = studio.get("url") if isinstance(studio, dict) else None
    projects = studio.get("projects") if isinstance(studio, dict) else None
    if (
        not isinstance(url, str)
        or not url.startswith(("http://", "https://"))
        or not isinstance(projects, dict)
        or set(projects) != {"train", "validation"}
        or not all(isinstance(t, str) and 0 < len(t) <= 50 for t in projects.values())
    ):
        raise bad(
            "extra.label_studio",
            studio,
            'must be {"url": "http(s)://...", "projects": {"train": <title>, "validation": '
            "<title>}} (titles of at most 50 characters)",
        )


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
