"""The four files a Ground Truth image classification job reads: manifests, labels and worker UI."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from helpers.errors import InputError
from helpers.layout import Layout

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


def test_labels(rows: Iterable[tuple[str, str]]) -> str:
    """Return the test set's JSON lines: `{"source-ref": uri, "class-name": name}` per image.

    The class is Open Images' (the truth the predictions are scored against); its index is its
    position in class_labels.json. This file is never a labeling input.
    """
    lines = []
    for uri, name in rows:
        if not str(uri).startswith("s3://"):
            raise InputError("test labels", uri, "every image must be an s3:// URI", "fix the URI")
        lines.append(json.dumps({"source-ref": str(uri), "class-name": str(name)}) + "\n")
    return "".join(lines)


def parse_test_labels(
    text: str, classes: Sequence[str], name: str = "test/labels.jsonl"
) -> list[dict[str, str]]:
    """Parse the test set's lines; a bad line or a class not in `classes` raises naming `name`."""
    rows = parse_manifest(text, name)
    for number, row in enumerate(rows, start=1):
        if row.get("class-name") not in classes:
            raise InputError(
                name,
                json.dumps(row)[:200],
                f'line {number}\'s "class-name" must be one of the classes {list(classes)}',
                "run notebook 01 again with these classes: it rewrites the test set",
            )
    return rows


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
    layout = Layout(bucket, prefix.strip("/"))
    uris = {}
    for name, content in files.items():
        body = content.encode() if isinstance(content, str) else content
        s3.put_object(
            Bucket=bucket, Key=layout.key(name), Body=body, ContentType=_content_type(name)
        )
        uris[name] = layout.uri(name)
    return uris


def _content_type(name: str) -> str:
    """A content type for a Ground Truth input file, chosen by its extension."""
    if name.endswith(".json"):
        return "application/json"
    if name.endswith(".template") or name.endswith(".html"):
        return "text/html"
    return "text/plain"


def parse_manifest(text: str, name: str = "manifest") -> list[dict[str, Any]]:
    """Parse a JSON Lines manifest; a bad line raises an error naming `name` and the line."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad_line(name, number, line, f"is not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("source-ref"), str):
            raise _bad_line(name, number, line, 'has no "source-ref" string')
        bucket, _, key = row["source-ref"].removeprefix("s3://").partition("/")
        if not row["source-ref"].startswith("s3://") or not bucket or not key:
            raise _bad_line(name, number, line, 'has a "source-ref" that is not s3://bucket/key')
        rows.append(row)
    return rows


def _bad_line(name: str, number: int, line: str, problem: str) -> InputError:
    return InputError(
        name,
        line if len(line) <= 200 else line[:200] + "...",
        f'line {number} {problem}; every line must be a JSON object with a "source-ref"',
        f"fix or remove line {number} (run notebook 01 again to rewrite the manifests)",
    )


def parse_label_config(text: str, name: str = "class_labels.json") -> list[str]:
    """Return the labels of a label category configuration; a bad one raises naming `name`."""
    fix = "run notebook 01 again with two or more distinct classes: it rewrites the file"
    try:
        labels = [entry["label"] for entry in json.loads(text)["labels"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            name,
            text if len(text) <= 200 else text[:200] + "...",
            'must be a JSON object {"labels": [{"label": "<class>"}, ...]} '
            f"({type(exc).__name__}: {exc})",
            fix,
        ) from exc
    if not all(isinstance(label, str) for label in labels):
        raise InputError(name, labels, "every label must be a string", fix)
    try:
        label_config(labels)
    except InputError as exc:
        raise InputError(name, labels, exc.rule, fix) from exc
    return labels


def require_labels(labels: Sequence[str], classes: Sequence[str], name: str) -> None:
    """Raise when staged labels are not the settings' classes in the same order."""
    if list(labels) != list(classes):
        raise InputError(
            name,
            list(labels),
            f"the settings' classes are {list(classes)} (the order gives the class index)",
            f"run notebook 01 again with classes={list(classes)} (it rewrites the manifests and "
            "the labels), or set classes to the staged ones",
        )


def has_classifier(template: str) -> bool:
    """Return True when a worker template holds the <crowd-image-classifier> element."""
    return "<crowd-image-classifier" in template


def classifier_error(name: str) -> InputError:
    """The error for a worker template without the <crowd-image-classifier> element."""
    return InputError(
        name,
        "a page without <crowd-image-classifier>",
        "an image classification task page needs a <crowd-image-classifier> element "
        "inside <crowd-form>",
        "run notebook 01 again to rewrite it (helpers.gt_inputs.ui_template builds one)",
    )
