"""Preview the Ground Truth worker task: render the template with SageMaker, then show it offline.

`RenderUiTemplate` fills in the Liquid template exactly as Ground Truth will for a worker. The
rendered page needs AWS's crowd-html-elements script and presigned image links, neither of which
survives in a saved notebook, so `preview_html` redraws the task as plain HTML with every image
embedded (never a link to S3 or to 127.0.0.1).
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from helpers.errors import WalkthroughError

_IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")', re.IGNORECASE)


def render_task(
    sagemaker: Any, template: str, task_object: str, labels: list[str], role_arn: str
) -> str:
    """Render the worker template for one object, as Ground Truth's built-in task does."""
    answer = sagemaker.render_ui_template(
        UiTemplate={"Content": template},
        Task={"Input": json.dumps({"taskObject": task_object, "labels": labels})},
        RoleArn=role_arn,
    )
    if answer.get("Errors"):
        problems = "; ".join(f"{e.get('Code')}: {e.get('Message')}" for e in answer["Errors"])
        raise WalkthroughError(f"the worker template does not render: {problems}")
    return str(answer["RenderedContent"])


class _ClassifierParser(HTMLParser):
    """Collects the crowd-image-classifier's attributes and its instruction blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.classifier: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "crowd-image-classifier":
            self.classifier = {k: v or "" for k, v in attrs}


def _block(rendered: str, tag: str) -> str:
    match = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", rendered, re.DOTALL | re.IGNORECASE)
    return match.group(1).strip() if match else ""


def _data_uri(data: bytes) -> str:
    kind = "png" if data.startswith(b"\x89PNG") else "jpeg"
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def task_parts(rendered: str) -> dict[str, Any]:
    """Pull the image, header, categories and instructions out of a rendered task page."""
    parser = _ClassifierParser()
    parser.feed(rendered)
    attrs = parser.classifier
    if not attrs:
        raise WalkthroughError(
            "the rendered template has no <crowd-image-classifier> element; "
            "Ground Truth's image classification task needs one"
        )
    try:
        categories = json.loads(attrs.get("categories", "[]"))
    except json.JSONDecodeError as exc:
        raise WalkthroughError(f"the categories attribute is not JSON: {exc}") from exc
    return {
        "src": attrs.get("src", ""),
        "header": attrs.get("header", ""),
        "name": attrs.get("name", ""),
        "categories": categories,
        "short_instructions": _block(rendered, "short-instructions"),
        "full_instructions": _block(rendered, "full-instructions"),
    }


def preview_html(rendered: str, fetch: Callable[[str], bytes]) -> str:
    """Redraw a rendered task as self-contained HTML (images embedded) for a notebook."""
    parts = task_parts(rendered)

    def embed(match: re.Match[str]) -> str:
        return match.group(1) + _data_uri(fetch(html.unescape(match.group(2)))) + match.group(3)

    instructions = _IMG_SRC.sub(embed, parts["short_instructions"])
    choices = "".join(
        f'<label style="display:block;margin:4px 0"><input type="radio" disabled> '
        f"{html.escape(str(c))}</label>"
        for c in parts["categories"]
    )
    image = _data_uri(fetch(parts["src"]))
    return (
        '<div class="gt-worker-preview" style="font-family:sans-serif;border:1px solid #bbb;'
        'border-radius:6px;max-width:900px">'
        '<div style="background:#232f3e;color:#fff;padding:8px 12px">Ground Truth worker task '
        f"(rendered by RenderUiTemplate) &mdash; {html.escape(parts['header'])}</div>"
        '<div style="display:flex;gap:16px;padding:12px">'
        f'<div style="flex:0 0 200px;font-size:13px;overflow:hidden">{instructions}</div>'
        f'<div style="flex:1"><img src="{image}" style="max-width:100%;max-height:360px"></div>'
        f'<div style="flex:0 0 180px"><b>Choose one</b>{choices}'
        '<button disabled style="margin-top:12px">Submit</button></div>'
        "</div></div>"
    )


def fetch_url(url: str) -> bytes:
    """Download a (presigned) image URL, as a worker's browser would."""
    import requests

    response = requests.get(url, timeout=30)
    response.raise_for_status()
    return response.content
