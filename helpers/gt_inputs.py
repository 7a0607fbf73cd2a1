"""The four files a Ground Truth image classification job reads: manifests, labels and worker UI."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from helpers.errors import InputError

CROWD_ELEMENTS_SCRIPT = "https://assets.crowd.aws/crowd-html-elements.js"
DEFAULT_HEADER = "Which class does this picture belong to?"
LABEL_CONFIG_VERSION = "2018-11-28"


def manifest(uris: Iterable[str]) -> str:
    """Return a JSON Lines manifest with one `{"source-ref": uri}` object per S3 URI."""
    lines = []
    for uri in uris:
        if not str(uri).startswith("s3://"):
            raise InputError("manifest", uri, "every object must be an s3:// URI", "fix the URI")
        lines.append(json.dumps({"source-ref": str(uri)}) + "\n")
    return "".join(lines)


def label_config(labels: Sequence[str]) -> dict[str, Any]:
    """Return the label category configuration; the list order is the class index."""
    labels = [str(label) for label in labels]
    if len(labels) < 2:
        raise InputError(
            "classes", labels, "image classification needs at least 2 labels", "add a class"
        )
    keys = [label.strip().casefold() for label in labels]
    repeated = sorted(
        {label for label, key in zip(labels, keys, strict=True) if keys.count(key) > 1}
    )
    if repeated or "" in keys:
        raise InputError(
            "classes",
            labels,
            f"labels must be non-empty and distinct (ignoring case); repeated: {repeated}",
            "list each class once",
        )
    return {
        "document-version": LABEL_CONFIG_VERSION,
        "labels": [{"label": label} for label in labels],
    }


def _text(value: str) -> str:
    """Escape text for HTML and keep Liquid from reading braces in it as template code."""
    return html.escape(value, quote=True).replace("{", "&#123;").replace("}", "&#125;")


def _example(name: str, uri: str) -> str:
    """One example picture of a class with its name as caption, for the instructions."""
    if not uri.startswith("s3://") or any(c in uri for c in '"{}<>'):
        raise InputError(
            "example image",
            uri,
            "must be an s3:// URI without quotes, braces or angle brackets",
            "use an image staged by the walkthrough",
        )
    return (
        '      <figure style="display:inline-block;margin:4px;text-align:center">\n'
        f'        <img src="{{{{ "{uri}" | grant_read_access }}}}" alt="{_text(name)}" '
        'style="max-width:160px;max-height:120px">\n'
        f"        <figcaption>{_text(name)}</figcaption>\n"
        "      </figure>\n"
    )


def ui_template(examples: Mapping[str, str], header: str | None = None) -> str:
    """Return the worker task page (Liquid HTML) with one example image per class."""
    pictures = "".join(_example(name, uri) for name, uri in examples.items())
    gallery = f"      <p>One example of each class:</p>\n{pictures}" if pictures else ""
    return f"""<script src="{CROWD_ELEMENTS_SCRIPT}"></script>

<crowd-form>
  <crowd-image-classifier
    name="crowd-image-classifier"
    src="{{{{ task.input.taskObject | grant_read_access }}}}"
    header="{_text(header or DEFAULT_HEADER)}"
    categories="{{{{ task.input.labels | to_json | escape }}}}"
  >
    <full-instructions header="How to label these pictures">
      <p>Look at the whole picture, then pick the single class that best describes
        what it mainly shows.</p>
      <ul>
        <li>Choose a class when its object is clearly visible, even if small or partly
          hidden.</li>
        <li>If the picture seems to show more than one of the classes, pick the one that
          is most prominent.</li>
        <li>Judge the picture itself; ignore any file name or caption.</li>
      </ul>
{gallery}    </full-instructions>

    <short-instructions>
      <p>Pick the one class that matches the main subject of the picture.</p>
{gallery}    </short-instructions>
  </crowd-image-classifier>
</crowd-form>
"""


def upload_inputs(
    s3: Any, bucket: str, prefix: str, files: Mapping[str, str | bytes]
) -> dict[str, str]:
    """Put each file at `<prefix>/<name>` in the bucket; return name -> S3 URI."""
    base = prefix.strip("/")
    uris = {}
    for name, content in files.items():
        key = f"{base}/{name}" if base else name
        body = content.encode() if isinstance(content, str) else content
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=_content_type(name))
        uris[name] = f"s3://{bucket}/{key}"
    return uris


def _content_type(name: str) -> str:
    """A content type for a Ground Truth input file, chosen by its extension."""
    if name.endswith(".json"):
        return "application/json"
    if name.endswith(".template") or name.endswith(".html"):
        return "text/html"
    return "text/plain"


def parse_manifest(text: str) -> list[dict[str, Any]]:
    """Parse a JSON Lines manifest; a bad line raises an error naming its line number."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad_line(number, line, f"is not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("source-ref"), str):
            raise _bad_line(number, line, 'has no "source-ref" string')
        rows.append(row)
    return rows


def _bad_line(number: int, line: str, problem: str) -> InputError:
    return InputError(
        "manifest",
        line if len(line) <= 200 else line[:200] + "...",
        f'line {number} {problem}; every line must be a JSON object with a "source-ref"',
        f"fix or remove line {number} (run notebook 01 again to rewrite the manifests)",
    )
