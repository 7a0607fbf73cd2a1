"""Notebook 05's clean-up: find what the walkthrough created, plan its removal, then remove it.

What it looks for, and how it knows the walkthrough made it:

- the runs notebook 03 recorded under the prefix (`<prefix>/runs/`, and the project's
  `runs/records/` when they name this bucket and prefix): their labeling, training and batch
  transform jobs (stopped when still running; their records stay, AWS has no API to delete
  them) and their workteam, each only when it carries the tag `walkthrough-run=<run id>`; running
  jobs tagged with a recorded run id, or with any run id and an output under the prefix, are
  stopped too;
- the runs' SageMaker models (ListModels, then each model's tags): deleted when tagged with a
  recorded run id, or with any run id and model data under the prefix; a model of another run is
  never touched, nor a model the record names that lacks the run's tag; the final model automated
  data labeling left (the recorded labeling jobs' `FinalActiveLearningModelArn`) is deleted too;
- every object under `<prefix>/` (never anything outside it, and never at the bucket's root),
  the transform output `predictions/<run id>/` with it,
  except another walkthrough prefix nested under it (one with notebook 01's files or run
  records): that is someone else's, so its objects and its runs' workteams and jobs are kept, and
  listed as kept with the reason;
- with labeling_backend=label_studio, the recorded runs' Label Studio projects (their titles hold
  the run id or are the run's labeling job names): deleted with their tasks and annotations;
  other projects are never touched; when the server cannot be reached, a row says why;
- the two roles the settings name, when `--create-missing` made them (tag `walkthrough-setup`);
- the shared pieces (private workforce, Cognito user pool, IAM OIDC provider, EKS cluster), kept
  unless named in `also_delete` and only when tagged `walkthrough-setup`;
- the bucket, deleted only when the walkthrough created it (tag `walkthrough-setup`) and nothing
  is left in it once the prefix is gone.

Running jobs are stopped (and waited for) first, then the models (a transform job reads its
model while it runs) and the rest; the workteam goes before any Cognito resource.
Without `confirm_delete` (aws mode's default) the plan is shown and nothing is touched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from helpers import policies
from helpers.awserrors import DENIED_CODES, error_code, is_missing, unless_missing
from helpers.errors import InputError, WalkthroughError
from helpers.layout import PREFIX_MARKERS
from helpers.paths import runs_dir
from helpers.records import RunRecord, parse_record
from helpers.s3 import read_object
from helpers.settings import Settings
from helpers.tags import RUN_TAG, SETUP_TAG, SHARED_TAG, tag_map

STOP, DELETE, NARROW, KEEP = "stop", "delete", "narrow", "keep"
#: Shared pieces a user may name in `also_delete` (comma-separated) to remove them too.
SHARED_PIECES = ("oidc-provider", "workforce", "cognito-pool", "eks-cluster")
CANNOT_DELETE = "job record: AWS has no API to delete it"
NOT_OURS = f"not created by the walkthrough (no {SETUP_TAG}=true tag): never touched"
NOT_DONE = "not done (dry run)"
RUNNING = ("Initializing", "InProgress", "Stopping")
PROJECT = "Label Studio project"


@dataclass(frozen=True)
class Item:
    """One row of the plan: a resource, what it is, how it was found, and what will happen."""

    resource: str
    kind: str
    found_by: str
    action: str
    note: str = ""
    target: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Plan:
    """Everything the survey found, in the order it will be acted on."""

    items: tuple[Item, ...]
    confirmed: bool
    bucket: str
    prefix: str
    #: the Label Studio API client that deletes the run's projects (labeling_backend=label_studio)
    label_studio: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Done:
    """What happened to one planned resource."""

    resource: str
    kind: str
    action: str
    outcome: str


# --- finding --------------------------------------------------------------------------------------


def parse_also_delete(value: str | None) -> frozenset[str]:
    """Parse the `also_delete` parameter: comma-separated names of shared pieces."""
    names = frozenset(part.strip() for part in (value or "").split(",") if part.strip())
    unknown = sorted(names - set(SHARED_PIECES))
    if unknown:
        raise InputError(
            "also_delete",
            value,
            f"unknown shared pieces {unknown}",
            f"name any of {', '.join(SHARED_PIECES)}, separated by commas (or leave it empty)",
        )
    return names


def object_prefix(settings: Settings) -> str:
    """The key prefix clean-up works under (`<prefix>/`); refuses the bucket's root."""
    if not settings.prefix.strip("/"):
        raise WalkthroughError(
            "clean-up refuses to work at the bucket's root: set prefix to the walkthrough's prefix"
        )
    return settings.layout.keys


def _ours(tags: Mapping[str, str]) -> bool:
    return tags.get(SETUP_TAG) == "true"


def _bucket_records(s3: Any, settings: Settings) -> Iterator[RunRecord]:
    object_prefix(settings)  # refuses the bucket's root
    runs = settings.layout.run_keys
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix=runs)
    try:
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    except ClientError as exc:
        if is_missing(exc):
            return
        raise
    for key in keys:
        if key.endswith(".json") and not key.endswith("/latest.json"):
            record = _record(read_object(s3, settings.bucket, key), settings, key)
            if record is not None:
                yield record


def _record(body: bytes | str, settings: Settings, where: str) -> RunRecord | None:
    """A record checked as untrusted input; None (never acted on) when it is not valid."""
    try:
        return parse_record(body, settings, where)
    except InputError:
        return None


def nested_prefixes(keys: Iterable[str], prefix: str) -> list[str]:
    """Other walkthrough prefixes under `prefix` (outermost only), found by their own files."""
    found = set()
    for key in keys:
        rest = key[len(prefix) :] if key.startswith(prefix) else ""
        for marker in PREFIX_MARKERS:
            if rest.endswith("/" + marker):
                found.add(prefix + rest[: -len(marker)])
    return sorted(p for p in found if not any(p != q and p.startswith(q) for q in found))


@dataclass(frozen=True)
class Scope:
    """What is this prefix's: under `s3://bucket/<prefix>/` and not under a nested prefix."""

    bucket: str
    prefix: str
    nested: tuple[str, ...] = ()

    def owns(self, uri: str) -> bool:
        """True when an S3 URI is this prefix's (not outside it, not another prefix's)."""
        base = f"s3://{self.bucket}/"
        key = uri[len(base) :] if uri.startswith(base) else None
        return key is not None and _owned_key(key, self.prefix, self.nested)


def _owned_key(key: str, prefix: str, nested: Iterable[str]) -> bool:
    return key.startswith(prefix) and not any(key.startswith(n) for n in nested)


def _local_records(settings: Settings, scope: Scope | None = None) -> Iterator[RunRecord]:
    """Records in the project's runs/records/ whose outputs are this bucket and prefix's."""
    scope = scope or Scope(settings.bucket, object_prefix(settings))
    for path in sorted((runs_dir() / "records").glob("*.json")):
        record = (
            None if path.name == "latest.json" else _record(path.read_text(), settings, str(path))
        )
        output = "" if record is None else str(record.arguments.get("ground_truth_output_location"))
        if record is not None and scope.owns(output):
            yield record


def known_runs(
    settings: Settings, aws: Any, scope: Scope | None = None
) -> dict[str, tuple[RunRecord, str]]:
    """The runs recorded for this bucket and prefix: run id -> (record, where it was found)."""
    found: dict[str, tuple[RunRecord, str]] = {}
    for record in _local_records(settings, scope):
        found[record.run_id] = (record, "local record")
    for record in _bucket_records(aws.client("s3"), settings):
        found[record.run_id] = (record, "record in the bucket")
    return found


def _job_item(sm: Any, kind: str, name: str, run_id: str, found_by: str) -> Item | None:
    describe, key, status_key = _JOB_CALLS[kind]
    job = unless_missing(getattr(sm, describe), **{key: name})
    if job is None:
        return None
    arn = job[_JOB_ARNS[kind]]
    status = job[status_key]
    tagged = tag_map(sm.list_tags(ResourceArn=arn).get("Tags")).get(RUN_TAG) == run_id
    if not tagged:
        note = f"not tagged {RUN_TAG}={run_id}: never touched"
        return Item(name, kind, found_by, KEEP, note)
    if status in RUNNING:
        return Item(name, kind, found_by, STOP, f"{status}", {"name": name})
    return Item(name, kind, found_by, KEEP, f"{status}; {CANNOT_DELETE}")


_JOB_CALLS = {
    "labeling job": ("describe_labeling_job", "LabelingJobName", "LabelingJobStatus"),
    "training job": ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
    "transform job": ("describe_transform_job", "TransformJobName", "TransformJobStatus"),
}
_JOB_ARNS = {
    "labeling job": "LabelingJobArn",
    "training job": "TrainingJobArn",
    "transform job": "TransformJobArn",
}


def _recorded_jobs(sm: Any, runs: Mapping[str, tuple[RunRecord, str]]) -> list[Item]:
    items = []
    for run_id, (record, source) in runs.items():
        names = record.names
        for kind, name in (
            ("labeling job", names.get("train_job")),
            ("labeling job", names.get("validation_job")),
            ("training job", names.get("training_job")),
            ("transform job", names.get("transform_job")),  # "" or absent: no predictions
        ):
            item = name and _job_item(sm, kind, name, run_id, f"{source} {run_id}")
            if item:
                items.append(item)
    return items


def _running_jobs(sm: Any, runs: Mapping[str, Any], under: Scope, seen: set[str]) -> Iterator[Item]:
    """Running jobs tagged with a recorded run id, or with any run id and output under prefix."""
    listings = (
        (
            "labeling job",
            "list_labeling_jobs",
            "LabelingJobSummaryList",
            "LabelingJob",
            "Initializing",
        ),
        (
            "labeling job",
            "list_labeling_jobs",
            "LabelingJobSummaryList",
            "LabelingJob",
            "InProgress",
        ),
        ("training job", "list_training_jobs", "TrainingJobSummaries", "TrainingJob", "InProgress"),
        (
            "transform job",
            "list_transform_jobs",
            "TransformJobSummaries",
            "TransformJob",
            "InProgress",
        ),
    )
    for kind, operation, key, stem, status in listings:
        pages = sm.get_paginator(operation).paginate(StatusEquals=status)
        for job in (j for page in pages for j in page[key]):
            name = job[f"{stem}Name"]
            if name in seen:
                continue
            run_id = tag_map(sm.list_tags(ResourceArn=job[f"{stem}Arn"]).get("Tags")).get(RUN_TAG)
            found_by = _running_found_by(sm, kind, name, run_id, runs, under)
            if found_by:
                seen.add(name)
                yield Item(name, kind, found_by, STOP, status, {"name": name})


def _running_found_by(
    sm: Any, kind: str, name: str, run_id: str | None, runs: Mapping[str, Any], under: Scope
) -> str | None:
    if run_id is None:
        return None
    if run_id in runs:
        return f"tag {RUN_TAG}={run_id} (recorded run)"
    describe, key, _ = _JOB_CALLS[kind]
    job = getattr(sm, describe)(**{key: name})
    config = (
        job.get("OutputConfig") or job.get("OutputDataConfig") or job.get("TransformOutput") or {}
    )
    if under.owns(str(config.get("S3OutputPath", ""))):
        return f"tag {RUN_TAG}={run_id} and output under the prefix"
    return None


def _job_items(sm: Any, runs: Mapping[str, Any], under: Scope) -> list[Item]:
    items = _recorded_jobs(sm, runs)
    seen = {i.resource for i in items}
    items += list(_running_jobs(sm, runs, under, seen))
    return sorted(items, key=lambda i: i.action != STOP)  # stops first (stable)


def _model_items(sm: Any, runs: Mapping[str, tuple[RunRecord, str]], under: Scope) -> list[Item]:
    """The runs' models, by their run tag (ListModels + ListTags); recorded ones not tagged kept."""
    items = []
    pages = sm.get_paginator("list_models").paginate()
    for model in (m for page in pages for m in page["Models"]):
        run_id = _run_tag(sm, model["ModelArn"])
        found_by = run_id and _model_found_by(sm, model["ModelName"], run_id, runs, under)
        if found_by:
            name = model["ModelName"]
            items.append(Item(name, "model", found_by, DELETE, target={"name": name}))
    named = {i.resource for i in items}
    for item in _final_models(sm, runs, named):
        items.append(item)
        named.add(item.resource)
    for run_id, (record, source) in runs.items():
        name = record.names.get("model")  # "" or absent: no predictions, or an older record
        if name and name not in named and unless_missing(sm.describe_model, ModelName=name):
            note = f"not tagged {RUN_TAG}={run_id}: never touched"
            items.append(Item(name, "model", f"{source} {run_id}", KEEP, note))
    return items


def _final_models(
    sm: Any, runs: Mapping[str, tuple[RunRecord, str]], named: set[str]
) -> list[Item]:
    """The models automated data labeling left: each recorded labeling job's final model."""
    items = []
    for run_id, (record, source) in runs.items():
        for key in ("train_job", "validation_job"):
            job_name = record.names.get(key)
            job = job_name and unless_missing(sm.describe_labeling_job, LabelingJobName=job_name)
            arn = ((job or {}).get("LabelingJobOutput") or {}).get("FinalActiveLearningModelArn")
            name = arn.rsplit("/", 1)[-1] if arn else None
            if name and name not in named and unless_missing(sm.describe_model, ModelName=name):
                found_by = f"final model of labeling job {job_name} ({source} {run_id})"
                items.append(Item(name, "model", found_by, DELETE, target={"name": name}))
                named.add(name)
    return items


def _run_tag(sm: Any, arn: str) -> str | None:
    """A resource's run tag; None when it has none, or is gone since it was listed."""
    found = unless_missing(sm.list_tags, ResourceArn=arn)
    return None if found is None else tag_map(found.get("Tags")).get(RUN_TAG)


def _model_found_by(
    sm: Any, name: str, run_id: str, runs: Mapping[str, tuple[RunRecord, str]], under: Scope
) -> str | None:
    """Why a model tagged with a run id is this prefix's; None when it is another run's."""
    if run_id in runs:
        return f"tag {RUN_TAG}={run_id} ({runs[run_id][1]})"
    model = unless_missing(sm.describe_model, ModelName=name) or {}
    containers = [model.get("PrimaryContainer") or {}, *(model.get("Containers") or [])]
    if any(under.owns(str(c.get("ModelDataUrl", ""))) for c in containers):
        return f"tag {RUN_TAG}={run_id} and model data under the prefix"
    return None


def _workteam_items(sm: Any, runs: Mapping[str, tuple[RunRecord, str]]) -> list[Item]:
    items = []
    pages = sm.get_paginator("list_workteams").paginate()
    for team in (t for page in pages for t in page["Workteams"]):
        run_id = tag_map(sm.list_tags(ResourceArn=team["WorkteamArn"]).get("Tags")).get(RUN_TAG)
        if run_id in runs:
            name = team["WorkteamName"]
            found_by = f"tag {RUN_TAG}={run_id} ({runs[run_id][1]})"
            items.append(Item(name, "workteam", found_by, DELETE, target={"name": name}))
    named = {i.resource for i in items}
    for run_id, (record, source) in runs.items():
        team = record.names.get("team")
        if team and team not in named and unless_missing(sm.describe_workteam, WorkteamName=team):
            note = f"not tagged {RUN_TAG}={run_id}: never touched"
            items.append(Item(team, "workteam", f"{source} {run_id}", KEEP, note))
    return items


def _listing(s3: Any, settings: Settings) -> list[tuple[str, int]]:
    """Every object under the prefix: (key, size); empty when the bucket does not exist."""
    prefix = object_prefix(settings)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.bucket, Prefix=prefix)
    try:
        return [(o["Key"], o["Size"]) for page in pages for o in page.get("Contents", [])]
    except ClientError as exc:
        if is_missing(exc):
            return []
        raise


def _object_items(listing: list[tuple[str, int]], scope: Scope) -> list[Item]:
    """One row for the prefix's own objects, and one (kept) per walkthrough prefix nested in it."""
    items = []
    owned = [(k, size) for k, size in listing if _owned_key(k, scope.prefix, scope.nested)]
    ours = [size for _, size in owned]
    if ours:
        uri = f"s3://{scope.bucket}/{scope.prefix}"
        note = f"{len(ours)} objects, {sum(ours) / 1e6:.1f} MB: {_contents(owned, scope.prefix)}"
        if scope.nested:
            note += f" (not those of the {len(scope.nested)} walkthrough prefix(es) under it)"
        target = {"prefix": scope.prefix, "keep": "\n".join(scope.nested)}
        items.append(Item(uri, "S3 objects", "the prefix", DELETE, note, target))
    for nested in scope.nested:
        sizes = [size for key, size in listing if key.startswith(nested)]
        note = (
            f"{len(sizes)} objects, {sum(sizes) / 1e6:.1f} MB: another walkthrough prefix nested "
            f"under {scope.prefix} (it has its own inputs or run records), so it is someone "
            f"else's: kept with its runs' workteams and jobs; clean it up with "
            f"prefix={nested.rstrip('/')}"
        )
        found_by = "a walkthrough prefix inside the prefix"
        items.append(Item(f"s3://{scope.bucket}/{nested}", "S3 objects", found_by, KEEP, note))
    return items


#: What the prefix's folders hold, as the plan explains them.
FOLDERS = {
    "images": "staged images",
    "test": "held-out test images and their labels",
    "output": "labeling output",
    "training-input": "training channels",
    "training-output": "models",
    "predictions": "batch transform output",
    "runs": "run records",
}


def _contents(owned: list[tuple[str, int]], prefix: str) -> str:
    """The prefix's folders and their object counts (`predictions/ (batch transform output) 20`)."""
    counts: dict[str, int] = {}
    for key, _ in owned:
        rest = key[len(prefix) :]
        top = rest.split("/", 1)[0] + "/" if "/" in rest else "files at the top"
        counts[top] = counts.get(top, 0) + 1
    shown = []
    for top, count in sorted(counts.items()):
        what = FOLDERS.get(top.rstrip("/"))
        shown.append(f"{top} ({what}) {count}" if what else f"{top} {count}")
    return ", ".join(shown)


def _role_items(aws: Any, settings: Settings) -> list[Item]:
    iam = aws.client("iam")
    account = aws.account_id()
    items = []
    arns = {settings.role_arn: "role_arn", settings.kfp_pod_role_arn: "kfp_pod_role_arn"}
    for arn, setting in arns.items():
        if not arn or policies.account_of(arn) != account:
            continue
        name = policies.role_name(arn)
        if unless_missing(iam.get_role, RoleName=name) is None:
            continue
        tags = tag_map(iam.list_role_tags(RoleName=name).get("Tags"))
        inline = iam.list_role_policies(RoleName=name)["PolicyNames"]
        found_by = f"setting {setting}"
        if not _ours(tags) or SHARED_TAG in tags:
            items.append(Item(name, "IAM role", found_by, KEEP, NOT_OURS))
            continue
        found_by += f" + tag {SETUP_TAG}"
        items.append(_role_item(iam, name, inline, found_by, settings.layout.object_arn))
    return items


def _role_item(iam: Any, name: str, inline: list[str], found_by: str, ours: str) -> Item:
    """Delete a role made for this prefix; one that also serves other prefixes only loses ours."""
    docs = {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"] for p in inline}
    arns = set().union(*(policies.object_arns(doc) for doc in docs.values()))
    others = sorted(arns - {ours})
    if others:
        shown = ", ".join(_s3_uri(arn) for arn in others)
        if ours not in arns:
            return Item(name, "IAM role", found_by, KEEP, f"serves other prefixes only: {shown}")
        note = f"also serves {shown}: only {_s3_uri(ours)} is taken out of its policy"
        return Item(name, "IAM role", found_by, NARROW, note, {"name": name, "narrow": ours})
    noun = "policy" if len(inline) == 1 else "policies"
    note = f"with its inline {noun} {', '.join(inline)}" if inline else ""
    return Item(name, "IAM role", found_by, DELETE, note, {"name": name})


def _s3_uri(arn: str) -> str:
    return "s3://" + arn.removeprefix("arn:aws:s3:::").removesuffix("*")


def _shared_action(tags: Mapping[str, str], piece: str, also: frozenset[str]) -> tuple[str, str]:
    """The action and note for a shared piece: kept unless named, never touched when not ours."""
    if not _ours(tags):
        return KEEP, NOT_OURS
    if piece in also:
        return DELETE, f"named in also_delete ({piece})"
    return KEEP, f"shared: add {piece} to also_delete to remove it"


def _shared_items(aws: Any, settings: Settings, also: frozenset[str]) -> list[Item]:
    items = []
    sm = aws.client("sagemaker")
    workforces = sm.list_workforces()["Workforces"]
    workforce = workforces[0] if workforces else None
    if workforce:
        name = workforce["WorkforceName"]
        tags = tag_map(sm.list_tags(ResourceArn=workforce["WorkforceArn"]).get("Tags"))
        found = "the region's private workforce"
        action, note = _shared_action(tags, "workforce", also)
        items.append(Item(name, "private workforce", found, action, note, {"name": name}))
    pool = settings.user_pool or (workforce or {}).get("CognitoConfig", {}).get("UserPool")
    items += _pool_item(aws, pool, also, settings.user_pool is not None)
    items += _cluster_items(aws, settings, also)
    return items


def _pool_item(aws: Any, pool: str | None, also: frozenset[str], from_settings: bool) -> list[Item]:
    if not pool:
        return []
    idp = aws.client("cognito-idp")
    found = unless_missing(idp.describe_user_pool, UserPoolId=pool)
    if found is None:
        return []
    tags = found["UserPool"].get("UserPoolTags", {})
    found_by = "setting user_pool" if from_settings else "the private workforce's pool"
    action, note = _shared_action(tags, "cognito-pool", also)
    domain = found["UserPool"].get("Domain") or ""
    target = {"pool": pool, "domain": domain}
    return [Item(pool, "Cognito user pool", found_by, action, note, target)]


def _cluster_items(aws: Any, settings: Settings, also: frozenset[str]) -> list[Item]:
    name = settings.eks_cluster_name
    if not name:
        return []
    eks = aws.client("eks")
    cluster = unless_missing(eks.describe_cluster, name=name)
    if cluster is None:
        return []
    cluster = cluster["cluster"]
    items = []
    issuer = cluster.get("identity", {}).get("oidc", {}).get("issuer")
    if issuer:
        iam = aws.client("iam")
        arn = policies.oidc_provider_arn(aws.account_id(), issuer)
        provider = unless_missing(iam.get_open_id_connect_provider, OpenIDConnectProviderArn=arn)
        if provider is not None:
            tags = tag_map(provider.get("Tags"))
            found_by = "the EKS cluster's OIDC issuer"
            action, note = _shared_action(tags, "oidc-provider", also)
            host = policies.issuer_host(issuer)
            items.append(Item(host, "IAM OIDC provider", found_by, action, note, {"arn": arn}))
    tags = dict(cluster.get("tags") or {})
    action, note = _shared_action(tags, "eks-cluster", also)
    items.append(
        Item(name, "EKS cluster", "setting eks_cluster_name", action, note, {"name": name})
    )
    return items


def _bucket_item(
    s3: Any, settings: Settings, last_key: str | None, nested: tuple[str, ...] = ()
) -> list[Item]:
    bucket = settings.bucket
    try:
        tags = tag_map(s3.get_bucket_tagging(Bucket=bucket).get("TagSet"))
    except ClientError as exc:
        if is_missing(exc):
            return []
        if error_code(exc) != "NoSuchTagSet":
            raise
        tags = {}
    uri = f"s3://{bucket}"
    if not _ours(tags):
        return [Item(uri, "S3 bucket", "setting bucket", KEEP, NOT_OURS)]
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") in ("Enabled", "Suspended"):
        note = "versioning is on: old object versions remain; delete it by hand if you wish"
        return [Item(uri, "S3 bucket", "setting bucket", KEEP, note)]
    if nested or _holds_other_objects(s3, settings, last_key):
        note = "holds objects outside the prefix: kept"
        return [Item(uri, "S3 bucket", f"setting bucket + tag {SETUP_TAG}", KEEP, note)]
    found_by = f"setting bucket + tag {SETUP_TAG}"
    return [Item(uri, "S3 bucket", found_by, DELETE, "empty once the prefix is removed")]


def _holds_other_objects(s3: Any, settings: Settings, last_key: str | None) -> bool:
    """True when the bucket holds a key outside the prefix (before it, or after its last key)."""
    prefix = object_prefix(settings)
    first = s3.list_objects_v2(Bucket=settings.bucket, MaxKeys=1).get("Contents", [])
    if first and not first[0]["Key"].startswith(prefix):
        return True
    if last_key is None:
        return bool(first)
    after = s3.list_objects_v2(Bucket=settings.bucket, MaxKeys=1, StartAfter=last_key)
    return bool(after.get("Contents"))


def _looked(kind: str, find: Callable[[], list[Item]]) -> list[Item]:
    """Run one part of the survey; a denied call becomes a row saying what could not be seen."""
    try:
        return find()
    except ClientError as exc:
        if error_code(exc) not in DENIED_CODES:
            raise
        note = f"could not look: {exc.operation_name} was denied (nothing touched)"
        return [Item(f"({kind})", kind, "-", KEEP, note)]


def label_studio_client(settings: Settings) -> Any:
    """The Label Studio client clean-up uses; None when local mode never set a server up."""
    from helpers.labelstudio import token

    never_started = not token.account_file().is_file()
    if settings.mode == "local" and not settings.label_studio_url and never_started:
        return None
    return token.client(settings)


def _project_items(
    settings: Settings,
    runs: Mapping[str, tuple[RunRecord, str]],
    studio: Callable[[Settings], Any],
) -> tuple[list[Item], Any]:
    """The recorded runs' Label Studio projects (titled with the run's job names and id)."""
    from helpers.labelstudio.api import LabelStudioError

    kind = PROJECT
    try:
        client = studio(settings)
        if client is None:
            note = "no local Label Studio server was ever set up: nothing to look at"
            return [Item("(Label Studio projects)", kind, "-", KEEP, note)], None
        projects = client.projects()
    except (LabelStudioError, WalkthroughError, ImportError, OSError) as exc:
        note = f"could not look: {exc} (nothing touched)"
        return [Item("(Label Studio projects)", kind, "-", KEEP, note)], None
    items = []
    for project in projects:
        title = str(project.get("title", ""))
        for run_id, (record, source) in runs.items():
            names = {record.names.get("train_job"), record.names.get("validation_job")}
            if run_id in title or title in names:
                resource = f"{title} (project {project['id']})"
                target = {"id": str(project["id"])}
                items.append(Item(resource, kind, f"{source} {run_id}", DELETE, "", target))
                break
    return items, client


def survey(
    settings: Settings,
    aws: Any,
    also_delete: frozenset[str] = frozenset(),
    studio: Callable[[Settings], Any] = label_studio_client,
) -> Plan:
    """Find what the walkthrough created for these settings; plan to stop, delete or keep it."""
    prefix = object_prefix(settings)
    s3, sm = aws.client("s3"), aws.client("sagemaker")
    listing = _listing(s3, settings)
    under = Scope(settings.bucket, prefix, tuple(nested_prefixes((k for k, _ in listing), prefix)))
    runs = known_runs(settings, aws, under)
    objects = _object_items(listing, under)
    last_key = listing[-1][0] if listing else None
    studio_runs = settings.label_studio or any(
        getattr(record, "labeling", "") == "label_studio" for record, _ in runs.values()
    )
    projects, client = _project_items(settings, runs, studio) if studio_runs else ([], None)
    items = [
        *_looked("labeling, training and transform jobs", lambda: _job_items(sm, runs, under)),
        *projects,
        *_looked("models", lambda: _model_items(sm, runs, under)),
        *_looked("workteam", lambda: _workteam_items(sm, runs)),
        *objects,
        *_looked("IAM role", lambda: _role_items(aws, settings)),
        *_looked("shared pieces", lambda: _shared_items(aws, settings, also_delete)),
        *_looked("S3 bucket", lambda: _bucket_item(s3, settings, last_key, under.nested)),
    ]
    return Plan(tuple(items), bool(settings.confirm_delete), settings.bucket, prefix, client)


def leftovers(plan: Plan) -> list[Item]:
    """What a plan would still stop or delete (empty after a complete clean-up)."""
    return [item for item in plan.items if item.action in (STOP, DELETE, NARROW)]


# --- acting ---------------------------------------------------------------------------------------


def carry_out(
    aws: Any, plan: Plan, wait_seconds: float = 1800.0, poll_seconds: float = 2.0
) -> list[Done]:
    """Act on the plan in order: stop jobs (and wait), then delete; nothing without confirmation."""
    if not plan.confirmed:
        return [_done(i, NOT_DONE if i.action != KEEP else "kept") for i in plan.items]
    stops = [i for i in plan.items if i.action == STOP]
    done = {id(i): _done(i, _act(aws, plan, i)) for i in stops}
    ended = _wait_until_stopped(aws, stops, wait_seconds, poll_seconds)
    for item in stops:
        if not done[id(item)].outcome.startswith("failed"):
            done[id(item)] = _done(item, ended.get(item.resource, "still stopping"))
    for item in plan.items:
        if id(item) not in done:
            done[id(item)] = _done(item, _act(aws, plan, item) if item.action != KEEP else "kept")
    return [done[id(i)] for i in plan.items]


def _done(item: Item, outcome: str) -> Done:
    return Done(item.resource, item.kind, item.action, outcome)


def _act(aws: Any, plan: Plan, item: Item) -> str:
    """Carry out one item; a refused call becomes a `failed: …` outcome."""
    try:
        return _ACTIONS[item.kind](aws, plan, item)
    except ClientError as exc:
        if is_missing(exc):
            return "already gone"
        message = exc.response.get("Error", {}).get("Message", "")
        return f"failed: {exc.operation_name}: {error_code(exc)}: {message}"


#: The statuses in which each kind of job can still be stopped.
_STOPPABLE = {
    "labeling job": ("Initializing", "InProgress"),
    "training job": ("InProgress",),
    "transform job": ("InProgress",),
}


def _stop_job(aws: Any, plan: Plan, item: Item) -> str:
    """Stop a job that still runs (StopLabelingJob, StopTrainingJob or StopTransformJob)."""
    sm = aws.client("sagemaker")
    describe, key, status_key = _JOB_CALLS[item.kind]
    name = item.target["name"]
    status = getattr(sm, describe)(**{key: name})[status_key]
    if status in _STOPPABLE[item.kind]:
        getattr(sm, "stop_" + describe.removeprefix("describe_"))(**{key: name})
        return "stop requested"
    return status


def _delete_model(aws: Any, plan: Plan, item: Item) -> str:
    aws.client("sagemaker").delete_model(ModelName=item.target["name"])  # gone: "already gone"
    return "deleted"


def _job_status(aws: Any, item: Item) -> str:
    describe, key, status_key = _JOB_CALLS[item.kind]
    return str(getattr(aws.client("sagemaker"), describe)(**{key: item.resource})[status_key])


def _wait_until_stopped(
    aws: Any, stops: list[Item], wait_seconds: float, poll_seconds: float
) -> dict[str, str]:
    """Wait for the stopped jobs to end; return name -> outcome for those that did."""
    ended: dict[str, str] = {}
    deadline = time.monotonic() + wait_seconds
    while True:
        for item in (i for i in stops if i.resource not in ended):
            status = _job_status(aws, item)
            if status not in RUNNING:
                ended[item.resource] = f"stopped ({status})"
        if len(ended) == len(stops) or time.monotonic() > deadline:
            return ended
        time.sleep(poll_seconds)


def _delete_project(aws: Any, plan: Plan, item: Item) -> str:
    """Delete a run's Label Studio project (with its tasks and annotations)."""
    from helpers.labelstudio.api import LabelStudioError

    try:
        plan.label_studio.delete_project(int(item.target["id"]))
    except LabelStudioError as exc:
        return "already gone" if exc.status == 404 else f"failed: {exc}"
    return "deleted (with its tasks and annotations)"


def _delete_workteam(aws: Any, plan: Plan, item: Item) -> str:
    aws.client("sagemaker").delete_workteam(WorkteamName=item.target["name"])
    return "deleted"


def _delete_objects(aws: Any, plan: Plan, item: Item) -> str:
    s3 = aws.client("s3")
    prefix = item.target["prefix"]
    if not prefix.strip("/") or prefix != plan.prefix:
        raise WalkthroughError(f"refusing to delete objects outside the prefix ({prefix!r})")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=plan.bucket, Prefix=prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    # another walkthrough prefix under this one is kept (also one made since the survey)
    nested = {*nested_prefixes(keys, prefix), *filter(None, item.target.get("keep", "").split())}
    keys = [key for key in keys if _owned_key(key, prefix, nested)]
    failed = []
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        answer = s3.delete_objects(Bucket=plan.bucket, Delete={"Objects": batch, "Quiet": True})
        failed += answer.get("Errors", [])
    if failed:
        first = failed[0]
        return f"failed: {len(failed)} not deleted ({first['Key']}: {first.get('Code')})"
    return f"deleted {len(keys)} objects"


def _delete_role(aws: Any, plan: Plan, item: Item) -> str:
    iam = aws.client("iam")
    name = item.target["name"]
    if item.action == NARROW:
        return _narrow_role(iam, name, item.target["narrow"])
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    for profile in iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]:
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=name
        )
    iam.delete_role(RoleName=name)
    return "deleted (with its policies)"


def _narrow_role(iam: Any, name: str, arn: str) -> str:
    """Take one prefix out of each inline policy of a role that other prefixes still use."""
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        narrowed = policies.without_resource(doc, arn)
        if narrowed != doc:
            iam.put_role_policy(
                RoleName=name, PolicyName=policy, PolicyDocument=json.dumps(narrowed)
            )
    return f"narrowed: {_s3_uri(arn)} taken out of its policy"


def _delete_workforce(aws: Any, plan: Plan, item: Item) -> str:
    aws.client("sagemaker").delete_workforce(WorkforceName=item.target["name"])
    return "deleted"


def _delete_pool(aws: Any, plan: Plan, item: Item) -> str:
    pool = item.target["pool"]
    users = aws.client("sagemaker").list_workforces()["Workforces"]
    if any(w.get("CognitoConfig", {}).get("UserPool") == pool for w in users):
        return "kept: the private workforce still uses it (name workforce in also_delete too)"
    idp = aws.client("cognito-idp")
    if item.target.get("domain"):
        idp.delete_user_pool_domain(Domain=item.target["domain"], UserPoolId=pool)
    idp.delete_user_pool(UserPoolId=pool)
    return "deleted (with its domain, app clients, groups and users)"


def _delete_provider(aws: Any, plan: Plan, item: Item) -> str:
    aws.client("iam").delete_open_id_connect_provider(OpenIDConnectProviderArn=item.target["arn"])
    return "deleted"


def _delete_cluster(aws: Any, plan: Plan, item: Item) -> str:
    aws.client("eks").delete_cluster(name=item.target["name"])
    return "deleted"


def _delete_bucket(aws: Any, plan: Plan, item: Item) -> str:
    s3 = aws.client("s3")
    if s3.list_objects_v2(Bucket=plan.bucket, MaxKeys=1).get("KeyCount", 0):
        return "kept: not empty"
    s3.delete_bucket(Bucket=plan.bucket)
    return "deleted"


_ACTIONS: dict[str, Callable[[Any, Plan, Item], str]] = {
    "labeling job": _stop_job,
    "training job": _stop_job,
    "transform job": _stop_job,
    "model": _delete_model,
    "workteam": _delete_workteam,
    PROJECT: _delete_project,
    "S3 objects": _delete_objects,
    "IAM role": _delete_role,
    "private workforce": _delete_workforce,
    "Cognito user pool": _delete_pool,
    "IAM OIDC provider": _delete_provider,
    "EKS cluster": _delete_cluster,
    "S3 bucket": _delete_bucket,
}


# --- showing --------------------------------------------------------------------------------------


def plan_table(plan: Plan) -> pd.DataFrame:
    """The plan as a table: resource, kind, found by, action (with why)."""
    rows = [
        {
            "resource": i.resource,
            "kind": i.kind,
            "found by": i.found_by,
            "action": f"{i.action}: {i.note}" if i.note else i.action,
        }
        for i in plan.items
    ]
    return pd.DataFrame(rows, columns=["resource", "kind", "found by", "action"])


def done_table(done: list[Done]) -> pd.DataFrame:
    """What was done: resource, kind, action, outcome."""
    rows = [
        {"resource": d.resource, "kind": d.kind, "action": d.action, "outcome": d.outcome}
        for d in done
    ]
    return pd.DataFrame(rows, columns=["resource", "kind", "action", "outcome"])


def summary_line(plan: Plan, done: list[Done]) -> str:
    """A one-line markdown outcome: what was stopped, deleted and kept."""
    where = f"s3://{plan.bucket}/{plan.prefix}"
    if not plan.confirmed:
        planned = len(leftovers(plan))
        return (
            f"**Done:** dry run for {where}: nothing was stopped or deleted; {planned} action(s) "
            "planned. Set `confirm_delete=True` to carry them out."
        )
    stopped = sum(1 for d in done if d.outcome.startswith("stopped"))
    deleted = [d for d in done if d.outcome.startswith("deleted")]
    records = sum(1 for i in plan.items if CANNOT_DELETE in i.note)
    kept = sum(1 for d in done if d.action == KEEP) - records
    failed = sum(1 for d in done if d.outcome.startswith("failed"))
    parts = [
        f"cleaned up {where}: stopped {stopped} job(s), deleted {len(deleted)} resource(s)",
        f"kept {records} job record(s) AWS cannot delete and {kept} other resource(s)",
    ]
    if failed:
        parts.append(f"{failed} action(s) failed (see the table)")
    return "**Done:** " + "; ".join(parts) + "."
