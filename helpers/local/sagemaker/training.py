"""Local SageMaker training jobs for the built-in image-classification algorithm.

The job validates like the service and the algorithm, then trains for real in a child process
(`helpers.local.sagemaker.training_child`) so the endpoint stays responsive; its status moves
through the real secondary statuses as the child reports progress.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

from helpers.local.core import ACCOUNT, ServiceError, in_use, utc, validation
from helpers.local.sagemaker.common import (
    ALGORITHM,
    Job,
    JobOperations,
    follow_child,
    require_algorithm_image,
    sagemaker_arn,
    select_jobs,
    start_child,
)
from helpers.settings import GPU_FAMILIES, NVME_FAMILIES

TERMINAL = ("Completed", "Failed", "Stopped")
STATUS_MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "The training job was stopped",
}


@dataclass
class TrainingJob(Job):
    """A training job's request and progress."""

    NAME_KEY: ClassVar[str] = "TrainingJobName"

    status: str = "InProgress"
    secondary: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None
    process: subprocess.Popen[str] | None = None

    @property
    def model_uri(self) -> str:
        """Where the model artifact goes."""
        base = self.request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        return f"{base}/{self.name}/output/model.tar.gz"


@dataclass
class TrainingJobs(JobOperations):
    """Answers the training-job operations of the local SageMaker."""

    _jobs: dict[tuple[str, str], TrainingJob] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def create(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """CreateTrainingJob: validate, then train in a child process."""
        name = request["TrainingJobName"]
        self._validate(request, region)
        with self._lock:
            if (region, name) in self._jobs:
                raise in_use(
                    f"Training job names must be unique within an AWS account and "
                    f"region, and a training job with this name already exists "
                    f"({sagemaker_arn(region, 'training-job', name.lower())})"
                )
            job = TrainingJob(
                request,
                region,
                sagemaker_arn(region, "training-job", name.lower()),
                self.clock.now(),
            )
            job.last_modified = job.created
            job.forced_failure = self.faults.job_failure("training-job", name)
            self._jobs[(region, name)] = job
        self.workforces.set_tags(job.arn, request.get("Tags"))
        self._transition(job, "Starting")
        threading.Thread(target=self._run, args=(job,), daemon=True).start()
        return {"TrainingJobArn": job.arn}

    def describe(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DescribeTrainingJob."""
        return self._description(self._job(region, request["TrainingJobName"]))

    def list(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """ListTrainingJobs with NameContains, StatusEquals, sorting and paging."""
        with self._lock:
            jobs = [j for (r, _), j in self._jobs.items() if r == region]
        page, token = select_jobs(jobs, request)
        answer: dict[str, Any] = {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": j.name,
                    "TrainingJobArn": j.arn,
                    "CreationTime": utc(j.created),
                    "TrainingEndTime": utc(j.ended) if j.ended else None,
                    "LastModifiedTime": utc(j.last_modified),
                    "TrainingJobStatus": j.status,
                }
                for j in page
            ]
        }
        if token:
            answer["NextToken"] = token
        return answer

    def stop(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """StopTrainingJob: end the child process; the job goes Stopping, then Stopped."""
        job = self._job(region, request["TrainingJobName"])
        with job.lock:
            if job.status in TERMINAL or job.status == "Stopping":
                raise validation(
                    f"The training job {job.name} is {job.status} and cannot be stopped"
                )
            job.status = "Stopping"
        self._transition(job, "Stopping")
        if job.process is not None and job.process.poll() is None:
            job.process.terminate()
        return {}

    # --- validation -------------------------------------------------------------------------------

    def _validate(self, request: dict[str, Any], region: str) -> None:
        spec = request["AlgorithmSpecification"]
        image = spec.get("TrainingImage") or spec.get("AlgorithmName", "")
        require_algorithm_image(image, region, "TrainingImage")
        instance = request["ResourceConfig"]["InstanceType"]
        family = instance.split(".")[1] if instance.count(".") == 2 else ""
        if family not in GPU_FAMILIES:
            raise validation(
                f"Instance type {instance} is not supported by algorithm "
                f"{ALGORITHM}; only GPU instances are supported"
            )
        if "VolumeKmsKeyId" in request["ResourceConfig"] and family in NVME_FAMILIES:
            # AWS refuses the key on local NVMe storage, an empty one too (the official
            # components' programs always send it; kubeflow/pipelines#8335)
            raise validation(
                f"VolumeKmsKeyId is not supported for instance type: {instance}. KMS volume "
                "encryption is not supported for local NVMe instance storage. Please remove "
                "VolumeKmsKeyId in the request or choose a different instance type."
            )
        count = int(request["ResourceConfig"].get("InstanceCount", 1))
        quota = self.config.gpu_quota
        if count > quota:
            raise ServiceError(
                "ResourceLimitExceeded",
                f"The account-level service limit '{instance} for training job usage' is "
                f"{quota} Instances, with current utilization of 0 Instances and a request "
                f"delta of {count} Instances. Please use AWS Service Quotas to request an "
                "increase for this quota.",
            )
        self.roles.require_role(request["RoleArn"])
        self.require_network(request.get("VpcConfig"), region)
        names = [c["ChannelName"] for c in request.get("InputDataConfig", [])]
        for required in ("train", "validation"):
            if required not in names:
                raise validation(
                    f"The {ALGORITHM} algorithm needs a channel named {required!r} (got {names})"
                )

    def _channel_problem(self, request: dict[str, Any]) -> str | None:
        mode = request["AlgorithmSpecification"].get("TrainingInputMode", "File")
        for channel in request["InputDataConfig"]:
            source = channel["DataSource"]["S3DataSource"]
            if source.get("S3DataType") != "AugmentedManifestFile":
                return (
                    f"Channel {channel['ChannelName']}: the local AWS trains on augmented "
                    "manifests only (S3DataType AugmentedManifestFile)"
                )
            if len(source.get("AttributeNames", [])) != 2:
                return (
                    f"Channel {channel['ChannelName']}: AttributeNames must name the image "
                    "attribute and then the label attribute, e.g. ['source-ref', 'category']"
                )
            if channel.get("RecordWrapperType") != "RecordIO":
                return (
                    f"Channel {channel['ChannelName']}: an augmented manifest channel needs "
                    "RecordWrapperType RecordIO"
                )
            if channel.get("InputMode", mode) != "Pipe":
                return (
                    f"Channel {channel['ChannelName']}: image-classification reads augmented "
                    "manifests in Pipe mode only"
                )
            if channel.get("ContentType") not in (
                "application/x-recordio",
                "application/x-image",
                None,
            ):
                return f"Channel {channel['ChannelName']}: unsupported ContentType"
        return None

    # --- running ----------------------------------------------------------------------------------

    def _run(self, job: TrainingJob) -> None:
        if job.forced_failure:
            self._end(job, "Failed", job.forced_failure)
            return
        problem = self._channel_problem(job.request)
        manifests = [
            c["DataSource"]["S3DataSource"]["S3Uri"] for c in job.request["InputDataConfig"]
        ]
        problem = (
            problem
            or self.roles.check_read(job.request["RoleArn"], manifests)
            or self.roles.check_write(job.request["RoleArn"], [job.model_uri])
            or self.roles.check_key(
                job.request["RoleArn"],
                job.request["OutputDataConfig"].get("KmsKeyId"),
                job.region,
                ("kms:GenerateDataKey",),
            )
            or self.roles.check_key(
                job.request["RoleArn"],
                job.request["ResourceConfig"].get("VolumeKmsKeyId"),
                job.region,
                ("kms:CreateGrant",),
            )
        )
        if problem:
            self._end(job, "Failed", f"ClientError: {problem}")
            return
        spec = {
            "endpoint_url": self.backend.endpoint_url,
            "region": job.region,
            "hyperparameters": job.request.get("HyperParameters", {}),
            "channels": job.request["InputDataConfig"],
            "model_uri": job.model_uri,
            "output_kms_key": job.request["OutputDataConfig"].get("KmsKeyId") or None,
            "log_stream": f"{job.name}/algo-1-{int(job.created)}",
        }
        with job.lock:
            if job.status == "Stopping":
                self._end(job, "Stopped", None)
                return
            job.started = self.clock.now()
            job.process = start_child("helpers.local.sagemaker.training_child")
        outcome = follow_child(
            job.process,
            spec,
            lambda status: self._transition(job, status),
            "AlgorithmError: the training process ended without a result",
        )
        if job.status == "Stopping":
            self._end(job, "Stopped", None)
        elif outcome["ok"]:
            job.metrics = {
                "train:accuracy": outcome["train_accuracy"],
                "validation:accuracy": outcome["validation_accuracy"],
            }
            self._end(job, "Completed", None)
        else:
            self._end(job, "Failed", outcome["reason"])

    def _transition(self, job: TrainingJob, status: str) -> None:
        now = self.clock.now()
        with job.lock:
            if job.secondary:
                job.secondary[-1].setdefault("EndTime", now)
            job.secondary.append(
                {
                    "Status": status,
                    "StartTime": now,
                    "StatusMessage": STATUS_MESSAGES.get(status, status),
                }
            )
            job.last_modified = now

    def _end(self, job: TrainingJob, status: str, reason: str | None) -> None:
        self._transition(job, status)
        with job.lock:
            job.secondary[-1]["EndTime"] = job.secondary[-1]["StartTime"]
            job.status = status
            job.failure_reason = reason
            job.ended = self.clock.now()
            job.started = job.started or job.ended

    # --- description ------------------------------------------------------------------------------

    def _description(self, job: TrainingJob) -> dict[str, Any]:
        request = job.request
        with job.lock:
            transitions = [
                {
                    **t,
                    "StartTime": utc(t["StartTime"]),
                    **({"EndTime": utc(t["EndTime"])} if "EndTime" in t else {}),
                }
                for t in job.secondary
            ]
            answer: dict[str, Any] = {
                "TrainingJobName": job.name,
                "TrainingJobArn": job.arn,
                "ModelArtifacts": {
                    "S3ModelArtifacts": job.model_uri if job.status == "Completed" else ""
                },
                "TrainingJobStatus": job.status,
                "SecondaryStatus": job.secondary[-1]["Status"] if job.secondary else "Starting",
                "AlgorithmSpecification": request["AlgorithmSpecification"],
                "RoleArn": request["RoleArn"],
                "InputDataConfig": request["InputDataConfig"],
                "OutputDataConfig": request["OutputDataConfig"],
                "ResourceConfig": request["ResourceConfig"],
                "StoppingCondition": request.get(
                    "StoppingCondition", {"MaxRuntimeInSeconds": 86400}
                ),
                "CreationTime": utc(job.created),
                "LastModifiedTime": utc(job.last_modified),
                "SecondaryStatusTransitions": transitions,
                "HyperParameters": request.get("HyperParameters", {}),
                "EnableNetworkIsolation": request.get("EnableNetworkIsolation", False),
                "EnableInterContainerTrafficEncryption": request.get(
                    "EnableInterContainerTrafficEncryption", False
                ),
                "EnableManagedSpotTraining": request.get("EnableManagedSpotTraining", False),
            }
            if "VpcConfig" in request:
                answer["VpcConfig"] = request["VpcConfig"]
            if job.started:
                answer["TrainingStartTime"] = utc(job.started)
            if job.ended:
                answer["TrainingEndTime"] = utc(job.ended)
                seconds = max(1, round(job.ended - (job.started or job.ended)))
                answer["TrainingTimeInSeconds"] = seconds
                answer["BillableTimeInSeconds"] = seconds * int(
                    request["ResourceConfig"].get("InstanceCount", 1)
                )
            if job.failure_reason:
                answer["FailureReason"] = job.failure_reason
            if job.metrics:
                answer["FinalMetricDataList"] = [
                    {"MetricName": k, "Value": v, "Timestamp": utc(job.ended or job.created)}
                    for k, v in job.metrics.items()
                ]
        return answer

    def _job(self, region: str, name: str) -> TrainingJob:
        with self._lock:
            job = self._jobs.get((region, name))
        if job is None:
            # SageMaker answers a missing training job with ValidationException, not NotFound.
            raise validation(
                f"Requested resource not found: training job {name} in {region} (account {ACCOUNT})"
            )
        return job
