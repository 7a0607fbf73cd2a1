"""The SageMaker operations the local AWS answers itself (moto lacks or only fakes them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import liquid
from botocore.config import Config
from markupsafe import Markup


class ServiceError(Exception):
    """An AWS-style error: HTTP status, error code and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class SageMaker:
    """Answers SageMaker JSON operations by name; `handles` says which ones."""

    endpoint_url: str
    region_default: str = "us-east-1"

    def handles(self, operation: str) -> bool:
        """Return True when this layer (not moto) answers the operation."""
        return operation in self._operations()

    def call(self, operation: str, request: dict[str, Any], region: str) -> dict[str, Any]:
        """Run one operation and return its response body."""
        return self._operations()[operation](request, region)

    def _operations(self) -> dict[str, Callable[[dict[str, Any], str], dict[str, Any]]]:
        return {"RenderUiTemplate": self.render_ui_template}

    # RenderUiTemplate -------------------------------------------------------------------------

    def render_ui_template(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """Render a worker task template (Liquid, autoescaped) with a task input."""
        _require(request, "Task", "RoleArn")
        template = (request.get("UiTemplate") or {}).get("Content")
        if template is None:
            raise ServiceError(
                "ValidationException",
                "UiTemplate.Content is required (HumanTaskUiArn is not supported by the local AWS)",
            )
        try:
            task_input = json.loads(request["Task"].get("Input", ""))
        except json.JSONDecodeError as exc:
            raise ServiceError(
                "ValidationException", f"Task.Input is not valid JSON: {exc}"
            ) from exc
        try:
            rendered = self._liquid(region).from_string(template).render(task={"input": task_input})
        except liquid.exceptions.LiquidError as exc:
            return {
                "RenderedContent": "",
                "Errors": [{"Code": "TemplateError", "Message": str(exc)}],
            }
        return {"RenderedContent": rendered, "Errors": []}

    def _liquid(self, region: str) -> liquid.Environment:
        s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

        def grant_read_access(uri: object) -> str:
            text = str(uri)
            if not text.startswith("s3://"):
                return text
            bucket, _, key = text[5:].partition("/")
            return s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600
            )

        env = liquid.Environment(autoescape=True)
        env.filters["grant_read_access"] = grant_read_access
        env.filters["to_json"] = lambda value: json.dumps(value)
        env.filters["skip_autoescape"] = lambda value: Markup(str(value))
        return env


def _require(request: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if n not in request]
    if missing:
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value null at '{missing[0]}' failed to "
            "satisfy constraint: Member must not be null",
        )
