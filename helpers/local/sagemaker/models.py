"""Local SageMaker models: the built-in image-classification image plus a trained model.tar.gz.

`CreateModel` checks what SageMaker checks at once: the execution role exists, the image is the
algorithm's in the region, and the model data can be read as the role (a missing object is
AWS's `Could not find model data at s3://...`). Transform jobs (`transform.py`) run the models.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from helpers.local.core import split_s3_uri, utc, validation
from helpers.local.sagemaker.common import (
    ALGORITHM,
    JobOperations,
    require_algorithm_image,
    sagemaker_arn,
    select_jobs,
)


@dataclass
class Model:
    """A model's request and when it was made (`status` only so jobs' list helpers apply)."""

    request: dict[str, Any]
    region: str
    arn: str
    created: float
    status: str = ""

    @property
    def name(self) -> str:
        """The model's name."""
        return str(self.request["ModelName"])

    @property
    def last_modified(self) -> float:
        """Models do not change once made."""
        return self.created

    @property
    def role(self) -> str:
        """The execution role transform jobs of this model act as."""
        return str(self.request["ExecutionRoleArn"])

    @property
    def model_data(self) -> str:
        """The S3 URI of the model.tar.gz."""
        return str(self.request["PrimaryContainer"]["ModelDataUrl"])


def model_arn(region: str, name: str) -> str:
    """The ARN of a model (SageMaker lower-cases the name in ARNs)."""
    return sagemaker_arn(region, "model", name.lower())


def missing_model(region: str, name: str) -> Exception:
    """SageMaker's answer for a model that does not exist."""
    return validation(f'Could not find model "{model_arn(region, name)}".')


@dataclass
class Models(JobOperations):
    """Answers CreateModel, DescribeModel, DeleteModel and ListModels."""

    _models: dict[tuple[str, str], Model] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def create(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """CreateModel: check the role, the image and the model data, then record the model."""
        name = request["ModelName"]
        arn = model_arn(region, name)
        with self._lock:
            if self._find(region, name) is not None:
                raise validation(f'Cannot create already existing model "{arn}".')
        self._validate(request, region)
        with self._lock:
            if self._find(region, name) is not None:
                raise validation(f'Cannot create already existing model "{arn}".')
            model = Model(request, region, arn, self.clock.now())
            self._models[(region, name.lower())] = model
        self.workforces.set_tags(arn, request.get("Tags"))
        return {"ModelArn": arn}

    def describe(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DescribeModel (tags are not part of it, as on AWS: ask ListTags)."""
        model = self.get(region, request["ModelName"])
        answer: dict[str, Any] = {
            "ModelName": model.name,
            "PrimaryContainer": {"Mode": "SingleModel", **model.request["PrimaryContainer"]},
            "ExecutionRoleArn": model.role,
            "CreationTime": utc(model.created),
            "ModelArn": model.arn,
            "EnableNetworkIsolation": model.request.get("EnableNetworkIsolation", False),
        }
        if "VpcConfig" in model.request:
            answer["VpcConfig"] = model.request["VpcConfig"]
        return answer

    def delete(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DeleteModel (transform jobs already made from it keep running, as on AWS)."""
        model = self.get(region, request["ModelName"])
        with self._lock:
            self._models.pop((region, model.name.lower()), None)
        self.workforces.forget_tags(model.arn)
        return {}

    def list(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """ListModels with NameContains, creation-time bounds, sorting and paging."""
        with self._lock:
            models = [m for (r, _), m in self._models.items() if r == region]
        page, token = select_jobs(models, request)
        answer: dict[str, Any] = {
            "Models": [
                {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": utc(m.created)}
                for m in page
            ]
        }
        if token:
            answer["NextToken"] = token
        return answer

    def get(self, region: str, name: str) -> Model:
        """The model of this name, or SageMaker's ValidationException."""
        model = self._find(region, name)
        if model is None:
            raise missing_model(region, name)
        return model

    def _find(self, region: str, name: str) -> Model | None:
        with self._lock:
            return self._models.get((region, name.lower()))

    # --- validation -------------------------------------------------------------------------------

    def _validate(self, request: dict[str, Any], region: str) -> None:
        if "Containers" in request or "InferenceExecutionConfig" in request:
            raise validation(
                "The local AWS runs single-container models only: give PrimaryContainer, "
                "not Containers"
            )
        container = request.get("PrimaryContainer")
        if container is None:
            raise validation("Either PrimaryContainer or Containers must be specified")
        role = request.get("ExecutionRoleArn")
        if not role:
            raise validation("ExecutionRoleArn is required for a model of a built-in algorithm")
        self.roles.require_role(role)
        if container.get("Mode", "SingleModel") != "SingleModel":
            raise validation(f"The {ALGORITHM} algorithm does not support multi-model mode")
        require_algorithm_image(container.get("Image", ""), region, "Image")
        data = container.get("ModelDataUrl")
        if not data or not data.startswith("s3://"):
            raise validation(
                f"The {ALGORITHM} algorithm needs its trained model: set "
                "PrimaryContainer.ModelDataUrl to the training job's s3://.../model.tar.gz"
            )
        self.require_network(request.get("VpcConfig"), region)
        self._require_model_data(role, data, region)

    def _require_model_data(self, role: str, uri: str, region: str) -> None:
        """The model data exists and the role may read it (checked as SageMaker does, at once)."""
        bucket, key = split_s3_uri(uri)
        try:
            self.backend.client("s3", region).head_object(Bucket=bucket, Key=key)
        except ClientError:
            raise validation(f"Could not find model data at {uri}.") from None
        if self.roles.check_read(role, [uri]):
            raise validation(
                f"Could not access model data at {uri}. Please ensure that the role "
                f'"{role}" exists and that its trust relationship policy allows the action '
                '"sts:AssumeRole" for the service principal "sagemaker.amazonaws.com". Also '
                'ensure that the role has "s3:GetObject" permissions and that the object is '
                f"located in {region}."
            )
