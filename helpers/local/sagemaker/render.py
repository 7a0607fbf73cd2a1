"""RenderUiTemplate: fill in a worker task template (Liquid, autoescaped) as Ground Truth does."""

from __future__ import annotations

import json
from typing import Any

import liquid
from markupsafe import Markup

from helpers.local.core import Backend, split_s3_uri, validation


def render_ui_template(backend: Backend, request: dict[str, Any], region: str) -> dict[str, Any]:
    """Render `UiTemplate.Content` with `Task.Input`; template errors come back in `Errors`."""
    template = (request.get("UiTemplate") or {}).get("Content")
    if template is None:
        raise validation(
            "UiTemplate.Content is required (the local AWS does not support HumanTaskUiArn)"
        )
    try:
        task_input = json.loads(request["Task"]["Input"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise validation(f"Task.Input must be a JSON string: {exc}") from exc
    try:
        rendered = (
            _environment(backend, region).from_string(template).render(task={"input": task_input})
        )
    except liquid.exceptions.LiquidError as exc:
        return {"RenderedContent": "", "Errors": [{"Code": "TemplateError", "Message": str(exc)}]}
    return {"RenderedContent": rendered, "Errors": []}


def _environment(backend: Backend, region: str) -> liquid.Environment:
    s3 = backend.client("s3", region)

    def grant_read_access(uri: object) -> str:
        text = str(uri)
        if not text.startswith("s3://"):
            return text
        bucket, key = split_s3_uri(text)
        return str(
            s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600
            )
        )

    env = liquid.Environment(autoescape=True)
    env.filters["grant_read_access"] = grant_read_access
    env.filters["to_json"] = lambda value: json.dumps(value)
    env.filters["skip_autoescape"] = lambda value: Markup(str(value))
    return env
