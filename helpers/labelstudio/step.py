"""The pipeline's Label Studio labeling step: one project per split, then Ground Truth's output.

It creates the project titled with the labeling job's name (or attaches to the one a retried pod
made: same title and labeling config), connects the manifest's bucket and prefix as an S3 source
storage with presigned URLs (nothing is synced), imports the manifest's objects as tasks (those
not imported yet only), asks for `workers` annotations per task, and follows the project until
every task has them or `task_availability` seconds have passed since the project was created.
Then it exports the annotations, consolidates them and writes Ground Truth's output layout (see
`output`). Standard library, boto3 and numpy only: the pod runs this package as shipped.
"""

from __future__ import annotations

import json
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from helpers.labelstudio import api, config, output

#: Label Studio's longest project title.
MAX_TITLE = 50
#: Tasks per import request.
IMPORT_BATCH = 500
#: Ground Truth's default task availability for a private work team (10 days), used for 0.
DEFAULT_AVAILABILITY = 864000


@dataclass(frozen=True)
class Job:
    """One labeling job: what to label, how, and where its output goes."""

    job_name: str
    manifest_location: str
    output_location: str
    label_category_config: str
    attribute: str = "category"
    title: str = ""
    description: str = ""
    workers: int = 3
    task_availability: int = 0
    region: str = "us-west-2"
    endpoint_url: str = ""

    @property
    def availability(self) -> int:
        """Seconds the tasks stay open after the project is created."""
        return self.task_availability or DEFAULT_AVAILABILITY


def split_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` as (bucket, key)."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


def read_text(s3: Any, uri: str) -> str:
    """An S3 object's text."""
    bucket, key = split_uri(uri)
    return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())


def read_manifest(text: str) -> list[dict[str, Any]]:
    """The manifest's lines (each with a `source-ref`)."""
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not lines or any("source-ref" not in line for line in lines):
        raise ValueError('the input manifest needs lines {"source-ref": "s3://..."}')
    return lines


def read_classes(text: str) -> list[str]:
    """The class names of a label category config (`{"labels": [{"label": ...}]}`), in order."""
    return [str(entry["label"]) for entry in json.loads(text)["labels"]]


def storage_locations(sources: list[str]) -> list[tuple[str, str]]:
    """The (bucket, prefix) to connect per bucket: the folder all its objects are under."""
    keys: dict[str, list[str]] = {}
    for uri in sources:
        bucket, key = split_uri(uri)
        keys.setdefault(bucket, []).append(key)
    found = []
    for bucket, names in keys.items():
        common = posixpath.commonprefix(names)
        found.append((bucket, common[: common.rfind("/") + 1]))
    return found


def ensure_project(client: api.Client, job: Job, classes: list[str], log: Callable) -> dict:
    """Create the job's project, or attach to the one of the same title and labeling config."""
    if len(job.job_name) > MAX_TITLE:
        raise ValueError(
            f"job name {job.job_name!r} is {len(job.job_name)} characters: a Label Studio "
            f"project title (the job's name) has at most {MAX_TITLE}. Choose a shorter "
            "ground_truth_*_job_name, or leave it unset."
        )
    fields = config.project_fields(
        classes, job.attribute, job.job_name, job.description, job.workers, header=job.title
    )
    same = [p for p in client.projects() if p.get("title") == job.job_name]
    for project in same:
        if project.get("label_config", "").strip() == str(fields["label_config"]).strip():
            log(f"Label Studio project {job.job_name} exists (id {project['id']}): attaching")
            if project.get("maximum_annotations") != job.workers:
                client.update_project(project["id"], maximum_annotations=job.workers)
            return project
    if same:
        raise RuntimeError(
            f"A Label Studio project titled {job.job_name} already exists (id {same[0]['id']}) "
            "with another labeling config: it was not made for this run. Rename or delete that "
            "project, or choose another job name."
        )
    project = client.create_project(**fields)
    log(f"Created Label Studio project {job.job_name} (id {project['id']})")
    return project


def storage_endpoint(job: Job, s3: Any = None) -> str:
    """The S3 endpoint Label Studio is to use: the step's, else its S3 client's unless AWS's."""
    if job.endpoint_url:
        return job.endpoint_url
    used = str(getattr(getattr(s3, "meta", None), "endpoint_url", "") or "")
    host = used.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return "" if not host or host.endswith((".amazonaws.com", ".amazonaws.com.cn")) else used


def connect_storage(
    client: api.Client, project_id: int, job: Job, sources: list[str], s3: Any = None
) -> None:
    """Connect each bucket's prefix as an S3 source storage (presigned URLs, no sync), once.

    The storage's endpoint is the step's S3 endpoint when that is not AWS's own (the local AWS
    in local mode), so that Label Studio reads the same S3 as the step.
    """
    endpoint = storage_endpoint(job, s3)
    existing = {(s.get("bucket"), s.get("prefix") or "") for s in client.s3_storages(project_id)}
    for bucket, prefix in storage_locations(sources):
        if (bucket, prefix) in existing:
            continue
        fields = {
            "project": project_id,
            "title": f"s3://{bucket}/{prefix}",
            "bucket": bucket,
            "prefix": prefix,
            "presign": True,
            "presign_ttl": 60,
            "use_blob_urls": True,
            "region_name": job.region,
        }
        if endpoint:
            fields["s3_endpoint"] = endpoint
        client.create_s3_storage(**fields)


def stored_task_data(client: api.Client, project_id: int) -> list[dict[str, Any]]:
    """Every task's data as imported (storage URIs such as s3://... left as they are)."""
    return [dict(task["data"]) for task in client.tasks(project_id, resolve_uri=False)]


def import_missing(client: api.Client, project_id: int, sources: list[str], log: Callable) -> int:
    """Import the objects that are not tasks of the project yet; return how many were added."""
    present = {str(data.get(config.IMAGE)) for data in stored_task_data(client, project_id)}
    missing = list(dict.fromkeys(s for s in sources if s not in present))
    for start in range(0, len(missing), IMPORT_BATCH):
        batch = missing[start : start + IMPORT_BATCH]
        client.import_tasks(project_id, [{"data": {config.IMAGE: s}} for s in batch])
    if missing:
        log(f"Imported {len(missing)} tasks ({len(present)} were there already)")
    elif present:
        log(f"All {len(present)} tasks were imported already")
    return len(missing)


def all_answered(client: api.Client, project_id: int, job: Job, classes: list[str]) -> bool:
    """Whether every task of the project has `workers` annotators' submitted answers."""
    tasks = client.export(project_id)
    return bool(tasks) and all(
        len({a.worker for a in output.task_answers(task, classes, job.attribute)}) >= job.workers
        for task in tasks
    )


def follow(
    client: api.Client,
    project: dict[str, Any],
    job: Job,
    classes: list[str],
    tasks: int,
    poll_seconds: float,
    log: Callable,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> bool:
    """Wait until every task has its annotations (True) or the availability time passed."""
    created = output.parse_time(project["created_at"])
    last = None
    while True:
        try:
            counts = client.project(project["id"])
        except api.LabelStudioError as error:
            if error.status and error.status < 500:
                raise
            log(f"{job.job_name}: no answer from Label Studio this time ({error}): trying again")
            sleep(poll_seconds)
            continue
        finished = int(counts.get("finished_task_number") or 0)
        line = (
            f"{job.job_name}: {finished}/{tasks} tasks have their {job.workers} annotations "
            f"({counts.get('total_annotations_number') or 0} annotations)"
        )
        if line != last:
            log(line)
            last = line
        if finished >= tasks:
            return True
        # Label Studio's count of finished tasks can lag behind annotations submitted at once:
        # when there are enough annotations, count each task's annotators in the export
        if int(counts.get("total_annotations_number") or 0) >= tasks * job.workers and all_answered(
            client, project["id"], job, classes
        ):
            log(f"{job.job_name}: every task has its {job.workers} annotations")
            return True
        if (now() - created).total_seconds() >= job.availability:
            log(f"{job.job_name}: task availability ({job.availability}s) passed")
            return False
        sleep(poll_seconds)


def say(line: str) -> None:
    """Print a progress line at once (a pod's log shows it as it happens)."""
    print(line, flush=True)


def run(
    client: api.Client,
    s3: Any,
    job: Job,
    poll_seconds: float = 5.0,
    log: Callable[[str], None] = say,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Label the job's manifest in Label Studio and write its Ground Truth output; describe it."""
    manifest = read_manifest(read_text(s3, job.manifest_location))
    classes = read_classes(read_text(s3, job.label_category_config))
    sources = [str(line["source-ref"]) for line in manifest]
    project = ensure_project(client, job, classes, log)
    connect_storage(client, project["id"], job, sources, s3)
    import_missing(client, project["id"], sources, log)
    log(f"Label here: {client.url}/projects/{project['id']}/data")
    follow(client, project, job, classes, len(set(sources)), poll_seconds, log, now, sleep)
    out = output.build(
        manifest,
        client.export(project["id"]),
        classes,
        job.attribute,
        job.job_name,
        job.workers,
        job.availability,
    )
    ended = now()
    described = output.description(
        job.job_name,
        job.output_location,
        job.manifest_location,
        job.label_category_config,
        job.attribute,
        job.workers,
        out,
        output.parse_time(project["created_at"]),
        ended,
        {"url": client.url, "id": project["id"], "title": project["title"]},
    )

    def put(uri: str, body: str) -> None:
        bucket, key = split_uri(uri)
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode())

    output.write(put, job.output_location, job.job_name, out, described, ended)
    log(
        f"{job.job_name}: {out.labeled} labeled, {out.failed} failed; output manifest "
        f"{described['LabelingJobOutput']['OutputDatasetS3Uri']}"
    )
    return described
