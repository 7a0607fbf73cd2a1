"""The routes of the local SageMaker: each JSON operation moto lacks or only fakes, by name."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpers.local.config import LocalConfig
from helpers.local.core import Backend, Clock, ServiceError
from helpers.local.faults import Faults
from helpers.local.guards import parse_json
from helpers.local.iam.role_access import RoleAccess
from helpers.local.sagemaker import shapes
from helpers.local.sagemaker.labeling import LabelingJobs
from helpers.local.sagemaker.models import Models
from helpers.local.sagemaker.render import render_ui_template
from helpers.local.sagemaker.training import TrainingJobs
from helpers.local.sagemaker.transform import TransformJobs
from helpers.local.sagemaker.workforces import Workforces

Operation = Callable[[dict[str, Any], str], dict[str, Any]]

__all__ = ["SageMaker", "ServiceError"]


@dataclass
class SageMaker:
    """Routes SageMaker JSON operations by name to the local implementations."""

    backend: Backend
    config: LocalConfig = field(default_factory=LocalConfig)

    def __post_init__(self) -> None:
        self.clock = Clock(self.config.speed)
        self.faults = Faults(self.config.faults)
        self.roles = RoleAccess(self.backend)
        self.workforces = Workforces(self.backend, self.clock)
        # what every kind of job shares: S3, the clock, the teams, the roles, faults, settings
        shared = (self.backend, self.clock, self.workforces, self.roles, self.faults, self.config)
        self.training = TrainingJobs(*shared)
        self.models = Models(*shared)
        self.labeling = LabelingJobs(*shared, models=self.models)
        self.transform = TransformJobs(*shared, models=self.models)
        w, lab, tr = self.workforces, self.labeling, self.training
        mo, tf = self.models, self.transform
        self._operations: dict[str, Operation] = {
            "RenderUiTemplate": lambda r, region: render_ui_template(self.backend, r, region),
            "CreateWorkforce": w.create_workforce,
            "DescribeWorkforce": w.describe_workforce,
            "ListWorkforces": w.list_workforces,
            "DeleteWorkforce": w.delete_workforce,
            "CreateWorkteam": w.create_workteam,
            "DescribeWorkteam": w.describe_workteam,
            "ListWorkteams": w.list_workteams,
            "DeleteWorkteam": w.delete_workteam,
            "AddTags": w.add_tags,
            "ListTags": w.list_tags,
            "DeleteTags": w.delete_tags,
            "CreateLabelingJob": lab.create,
            "DescribeLabelingJob": lab.describe,
            "ListLabelingJobs": lab.list,
            "StopLabelingJob": lab.stop,
            "CreateTrainingJob": tr.create,
            "DescribeTrainingJob": tr.describe,
            "ListTrainingJobs": tr.list,
            "StopTrainingJob": tr.stop,
            "CreateModel": mo.create,
            "DescribeModel": mo.describe,
            "DeleteModel": mo.delete,
            "ListModels": mo.list,
            "CreateTransformJob": tf.create,
            "DescribeTransformJob": tf.describe,
            "ListTransformJobs": tf.list,
            "StopTransformJob": tf.stop,
        }

    def handles(self, operation: str) -> bool:
        """Return True when this layer (not moto) answers the operation."""
        return operation in self._operations

    def call(self, operation: str, request: dict[str, Any], region: str) -> dict[str, Any]:
        """Run one operation and return its response body."""
        return self._operations[operation](request, region)

    def respond(self, operation: str, body: bytes, region: str) -> tuple[int, dict[str, Any]]:
        """Answer one JSON request: HTTP status and body, errors in SageMaker's JSON form."""
        try:
            request = _checked_request(operation, body)
            answer = self.call(operation, request, region)
            return 200, shapes.to_wire("sagemaker", operation, answer)
        except ServiceError as exc:
            return exc.status, {"__type": exc.code, "message": exc.message}

    def start_ticker(self, interval: float = 0.2) -> threading.Event:
        """Advance labeling jobs in the background (so outputs appear without polling)."""
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(interval):
                try:
                    self.labeling.advance_all()
                except Exception:  # noqa: BLE001 - keep ticking; the job records its failure
                    import traceback

                    traceback.print_exc()

        threading.Thread(target=tick, daemon=True, name="labeling-ticker").start()
        return stop


def _checked_request(operation: str, body: bytes) -> Any:
    """Parse a request body and check it against the model (Serialization/ValidationException)."""
    try:
        request = parse_json(body) if body.strip() else {}
        shapes.validate_request("sagemaker", operation, request)
    except (ValueError, RecursionError) as exc:  # not JSON, or nested too deep to check
        raise ServiceError("SerializationException", f"the body is not a request: {exc}") from None
    return request
