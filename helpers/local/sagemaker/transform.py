"""Local SageMaker batch transform jobs for models of the built-in image-classification algorithm.

The job validates like the service, lists its input and checks the model's execution role may
read it and write the output, then predicts in a child process
(`helpers.local.sagemaker.transform_child`) so the endpoint stays responsive. Each input object
`<input prefix><relative key>` gets `<S3OutputPath>/<relative key>.out`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from helpers.local.core import in_use, split_s3_uri, utc, validation
from helpers.local.sagemaker.common import (
    Job,
    JobOperations,
    follow_child,
    sagemaker_arn,
    select_jobs,
    start_child,
)
from helpers.local.sagemaker.models import Models

TERMINAL = ("Completed", "Failed", "Stopped")
LOG_GROUP = "/aws/sagemaker/TransformJobs"
#: MaxPayloadInMB when the request leaves it out, and its upper bound (SageMaker's).
DEFAULT_MAX_PAYLOAD_MB = 6
MAX_PAYLOAD_MB = 100
#: Input data types the local AWS reads.
DATA_TYPES = ("S3Prefix", "ManifestFile")


@dataclass
class TransformJob(Job):
    """A transform job's request, its model's role and data, and progress."""

    NAME_KEY: ClassVar[str] = "TransformJobName"

    status: str = "InProgress"
    role: str = ""
    model_data: str = ""
    started: float | None = None
    ended: float | None = None
    process: subprocess.Popen[str] | None = None

    @property
    def log_stream(self) -> str:
        """The container's log stream: `<job>/<instance id>-<epoch>` (one instance locally)."""
        instance = "i-" + hashlib.sha256(self.arn.encode()).hexdigest()[:17]
        return f"{self.name}/{instance}-{int(self.created)}"


@dataclass
class TransformJobs(JobOperations):
    """Answers CreateTransformJob, DescribeTransformJob, ListTransformJobs, StopTransformJob."""

    models: Models | None = None
    _jobs: dict[tuple[str, str], TransformJob] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def create(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """CreateTransformJob: validate, then predict in a child process."""
        name = request["TransformJobName"]
        arn = sagemaker_arn(region, "transform-job", name.lower())
        self._validate(request)
        assert self.models is not None
        model = self.models.get(region, request["ModelName"])
        with self._lock:
            if (region, name.lower()) in self._jobs:
                raise in_use(
                    "Job name must be unique within an AWS account and region, and a job "
                    f"with this name already exists ({arn})"
                )
            job = TransformJob(
                request, region, arn, self.clock.now(), role=model.role, model_data=model.model_data
            )
            job.last_modified = job.created
            job.forced_failure = self.faults.job_failure("transform-job", name)
            self._jobs[(region, name.lower())] = job
        self.workforces.set_tags(arn, request.get("Tags"))
        threading.Thread(target=self._run, args=(job,), daemon=True).start()
        return {"TransformJobArn": arn}

    def describe(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DescribeTransformJob (tags are not part of it, as on AWS: ask ListTags)."""
        return self._description(self._job(region, request["TransformJobName"]))

    def list(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """ListTransformJobs with NameContains, StatusEquals, time bounds, sorting and paging."""
        with self._lock:
            jobs = [j for (r, _), j in self._jobs.items() if r == region]
        page, token = select_jobs(jobs, request)
        answer: dict[str, Any] = {
            "TransformJobSummaries": [
                {
                    "TransformJobName": j.name,
                    "TransformJobArn": j.arn,
                    "CreationTime": utc(j.created),
                    "TransformEndTime": utc(j.ended) if j.ended else None,
                    "LastModifiedTime": utc(j.last_modified),
                    "TransformJobStatus": j.status,
                    "FailureReason": j.failure_reason,
                }
                for j in page
            ]
        }
        if token:
            answer["NextToken"] = token
        return answer

    def stop(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """StopTransformJob: the job goes Stopping, its child process ends, then Stopped."""
        job = self._job(region, request["TransformJobName"])
        with job.lock:
            if job.status != "InProgress":
                raise validation(
                    f"The transform job {job.name} is {job.status} and cannot be stopped"
                )
            job.status = "Stopping"
            job.last_modified = self.clock.now()
            process = job.process
        if process is not None and process.poll() is None:
            process.terminate()
        return {}

    # --- validation -------------------------------------------------------------------------------

    def _validate(self, request: dict[str, Any]) -> None:
        payload = request.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)
        if payload > MAX_PAYLOAD_MB:
            raise validation(f"MaxPayloadInMB must be less than or equal to {MAX_PAYLOAD_MB}")
        concurrent = request.get("MaxConcurrentTransforms", 0)
        if concurrent and payload and concurrent * payload > MAX_PAYLOAD_MB:
            raise validation(
                f"MaxConcurrentTransforms * MaxPayloadInMB must not exceed {MAX_PAYLOAD_MB} MB "
                f"(got {concurrent} * {payload})"
            )
        given = request["TransformInput"]
        source = given["DataSource"]["S3DataSource"]
        if source["S3DataType"] not in DATA_TYPES:
            raise validation(
                f"The local AWS reads transform input of S3DataType {' or '.join(DATA_TYPES)} "
                f"only, not {source['S3DataType']}"
            )
        if given.get("SplitType", "None") != "None":
            raise validation(
                "The image-classification algorithm takes one image per request: the local AWS "
                f"supports SplitType None only, not {given['SplitType']}"
            )
        processing = request.get("DataProcessing", {})
        if processing.get("InputFilter", "$") not in ("", "$") or processing.get(
            "OutputFilter", "$"
        ) not in ("", "$"):
            raise validation("The local AWS does not apply DataProcessing input/output filters")
        if processing.get("JoinSource", "None") != "None":
            raise validation("JoinSource Input cannot join image input with its predictions")
        if "DataCaptureConfig" in request:
            raise validation("The local AWS does not emulate DataCaptureConfig")

    # --- running ----------------------------------------------------------------------------------

    def _run(self, job: TransformJob) -> None:
        try:
            self._run_checked(job)
        except Exception as exc:  # noqa: BLE001 - any crash is the job's failure, not the server's
            self._end(job, "Failed", f"InternalServerError: {type(exc).__name__}: {exc}")

    def _run_checked(self, job: TransformJob) -> None:
        if job.forced_failure:
            self._end(job, "Failed", job.forced_failure)
            return
        items, problem = self._items(job)
        output = job.request["TransformOutput"]
        problem = (
            problem
            or self.roles.check_read(job.role, [job.model_data] + [i["input"] for i in items])
            or self.roles.check_write(job.role, [i["output"] for i in items])
            or self.roles.check_key(
                job.role, output.get("KmsKeyId"), job.region, ("kms:GenerateDataKey",)
            )
            or self.roles.check_key(
                job.role,
                job.request["TransformResources"].get("VolumeKmsKeyId"),
                job.region,
                ("kms:CreateGrant",),
            )
        )
        if problem:
            self._end(job, "Failed", f"ClientError: {problem}")
            return
        given = job.request["TransformInput"]
        spec = {
            "endpoint_url": self.backend.endpoint_url,
            "region": job.region,
            "model_uri": job.model_data,
            "items": items,
            "content_type": given.get("ContentType") or None,
            "compression": given.get("CompressionType", "None"),
            "accept": output.get("Accept") or None,
            "output_kms_key": output.get("KmsKeyId") or None,
            "max_payload_mb": job.request.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB),
            "max_concurrent": job.request.get("MaxConcurrentTransforms", 0),
            "batch_strategy": job.request.get("BatchStrategy", "MultiRecord"),
            "log_group": LOG_GROUP,
            "log_stream": job.log_stream,
            "data_log_stream": f"{job.log_stream}/data-log",
        }
        with job.lock:
            if job.status == "Stopping":
                self._end_locked(job, "Stopped", None)
                return
            job.started = self.clock.now()
            job.process = start_child("helpers.local.sagemaker.transform_child")
        outcome = follow_child(
            job.process,
            spec,
            lambda _status: None,
            "InternalServerError: the transform process ended without a result",
        )
        if job.status == "Stopping":
            self._end(job, "Stopped", None)
        elif outcome["ok"]:
            self._end(job, "Completed", None)
        else:
            self._end(job, "Failed", outcome["reason"])

    def _items(self, job: TransformJob) -> tuple[list[dict[str, Any]], str | None]:
        """The input objects (uri, size) and their output URIs, or why they cannot be listed."""
        source = job.request["TransformInput"]["DataSource"]["S3DataSource"]
        uri = source["S3Uri"]
        listed: list[tuple[str, int]] = []
        if source["S3DataType"] == "ManifestFile":
            problem = self.roles.check_read(job.role, [uri])
            if problem:
                return [], problem
            try:
                prefix, relative = self._manifest(job.region, uri)
            except (ClientError, ValueError) as exc:
                return [], f"Cannot read the input manifest {uri}: {exc}"
        else:
            problem = self.roles.check_list(job.role, uri)
            if problem:
                return [], problem
            prefix = uri
            listed = self._listed(job.region, uri)
            relative = [key for key, _ in listed]
        if not relative:
            bucket = split_s3_uri(uri)[0]
            return [], (
                f'No S3 objects found under S3 URL "{uri}" given in input data source. Please '
                f"ensure that the bucket exists in the selected region ({job.region}), that "
                f'objects exist under that S3 prefix, and that the role "{job.role}" has '
                f'"s3:ListBucket" permissions on bucket "{bucket}".'
            )
        sizes = dict(
            listed if source["S3DataType"] == "S3Prefix" else self._listed(job.region, prefix)
        )
        out = job.request["TransformOutput"]["S3OutputPath"].rstrip("/")
        items = []
        for rel in relative:
            name = rel or prefix.rsplit("/", 1)[-1]
            items.append(
                {
                    "input": prefix + rel if rel else prefix,
                    "output": f"{out}/{name}.out",
                    "size": sizes.get(rel, -1),
                }
            )
        return items, None

    def _listed(self, region: str, uri: str) -> list[tuple[str, int]]:
        """(key relative to `uri` without leading '/', size) of each object under the prefix."""
        bucket, prefix = split_s3_uri(uri)
        s3 = self.backend.client("s3", region)
        found = []
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    if entry["Key"].endswith("/"):
                        continue  # a "folder" marker, not an input
                    found.append((entry["Key"][len(prefix) :].lstrip("/"), int(entry["Size"])))
        except ClientError:
            return []
        return sorted(found)

    def _manifest(self, region: str, uri: str) -> tuple[str, list[str]]:
        """Read a ManifestFile: `[{"prefix": "s3://..."}, "relative/key", ...]`."""
        bucket, key = split_s3_uri(uri)
        body = self.backend.client("s3", region).get_object(Bucket=bucket, Key=key)["Body"].read()
        entries = json.loads(body)
        if (
            not isinstance(entries, list)
            or not entries
            or not isinstance(entries[0], dict)
            or not str(entries[0].get("prefix", "")).startswith("s3://")
            or not all(isinstance(e, str) for e in entries[1:])
        ):
            raise ValueError('expected [{"prefix": "s3://bucket/prefix/"}, "key", ...]')
        prefix = str(entries[0]["prefix"])
        return prefix, [str(e) for e in entries[1:]]

    def _end(self, job: TransformJob, status: str, reason: str | None) -> None:
        with job.lock:
            self._end_locked(job, status, reason)

    def _end_locked(self, job: TransformJob, status: str, reason: str | None) -> None:
        if job.status == "Stopping":  # a stop asked for wins over how the work ended
            status, reason = "Stopped", None
        now = self.clock.now()
        job.status = status
        job.failure_reason = reason
        job.ended = now
        job.started = job.started or now
        job.last_modified = now

    # --- description ------------------------------------------------------------------------------

    def _description(self, job: TransformJob) -> dict[str, Any]:
        request = job.request
        given = request["TransformInput"]
        with job.lock:
            answer: dict[str, Any] = {
                "TransformJobName": job.name,
                "TransformJobArn": job.arn,
                "TransformJobStatus": job.status,
                "ModelName": request["ModelName"],
                "MaxConcurrentTransforms": request.get("MaxConcurrentTransforms", 1) or 1,
                "MaxPayloadInMB": request.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB),
                "TransformInput": {
                    **given,
                    "CompressionType": given.get("CompressionType", "None"),
                    "SplitType": given.get("SplitType", "None"),
                },
                "TransformOutput": {
                    "AssembleWith": "None",
                    **request["TransformOutput"],
                },
                "TransformResources": request["TransformResources"],
                "CreationTime": utc(job.created),
                "DataProcessing": {
                    "InputFilter": "$",
                    "OutputFilter": "$",
                    "JoinSource": "None",
                    **{k: v for k, v in request.get("DataProcessing", {}).items() if v},
                },
            }
            for key in ("BatchStrategy", "Environment", "ModelClientConfig", "ExperimentConfig"):
                if key in request:
                    answer[key] = request[key]
            if job.started:
                answer["TransformStartTime"] = utc(job.started)
            if job.ended:
                answer["TransformEndTime"] = utc(job.ended)
            if job.failure_reason:
                answer["FailureReason"] = job.failure_reason
        return answer

    def _job(self, region: str, name: str) -> TransformJob:
        with self._lock:
            job = self._jobs.get((region, name.lower()))
        if job is None:
            raise validation(f"Could not find requested job with name {name}")
        return job
