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
import random
import re
import time
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
        raise WalkthroughError(f"the worker template does not render: {redact(problems)}")
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


#: HTTP answers worth another try, as boto3 retries them (S3's 503 SlowDown among them).
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
FETCH_ATTEMPTS = 5
#: A URL's (or a request path's) query string: `?` then text with an `=` in it, up to a space.
_QUERY = re.compile(r"\?[^\s'\"<>]*=[^\s'\"<>]*")


def redact(text: str) -> str:
    """Text with the query of every URL in it removed: a presigned URL's query carries the
    access key id, the signature and (with temporary credentials) the session token."""
    return _QUERY.sub("?[query redacted]", text)


def fetch_url(
    url: str,
    attempts: int = FETCH_ATTEMPTS,
    base_delay: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """Download a (presigned) image URL, as a worker's browser would, retrying like boto3 does.

    Connection errors and retryable answers (5xx, 503 SlowDown, 429) are tried again with
    jittered exponential backoff, up to `attempts` in all. An error never shows the URL's query.
    """
    import requests

    problem = ""
    for attempt in range(attempts):
        if attempt:
            sleep(random.uniform(0, min(20.0, base_delay * 2**attempt)))  # noqa: S311 - backoff
        try:
            response = requests.get(url, timeout=30)
        except (requests.ConnectionError, requests.Timeout) as exc:
            problem = f"{type(exc).__name__}: {redact(str(exc))}"
            continue
        if response.status_code in RETRYABLE_STATUS:
            problem = f"HTTP {response.status_code} {response.reason}"
            continue
        if response.status_code >= 400:
            raise WalkthroughError(
                f"the worker preview could not download {redact(url)}: HTTP "
                f"{response.status_code} {response.reason} {redact(response.text[:200])}"
            )
        return response.content
    raise WalkthroughError(
        f"the worker preview could not download {redact(url)} in {attempts} attempts "
        f"(last: {problem}); run the cell again"
    )
