"""The Label Studio labeling config and instructions of an image classification project.

One image (`$image`, the task's `image` field) and one single-choice list named after the label
attribute, its choices the classes in the label category config's order (so the choice's index
is the class index Ground Truth writes). Standard library only: the labeling step's pod ships it.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

#: The name of the image tag, and the task data field it shows.
IMAGE = "image"


def label_config(
    classes: Sequence[str], attribute: str, title: str = "", description: str = ""
) -> str:
    """The labeling config XML: a header, the image, one single choice per class in order."""
    if len(classes) < 2 or len({c.lower() for c in classes}) != len(classes):
        raise ValueError(f"image classification needs at least 2 distinct classes: {classes}")
    lines = ["<View>"]
    if title:
        lines.append(f"  <Header value={quoteattr(title)}/>")
    if description:
        lines.append(f'  <Text name="description" value={quoteattr(description)}/>')
    lines.append(f'  <Image name="{IMAGE}" value="${IMAGE}" zoom="true"/>')
    lines.append(
        f'  <Choices name={quoteattr(attribute)} toName="{IMAGE}" choice="single" '
        'showInline="true" required="true">'
    )
    lines += [f"    <Choice value={quoteattr(name)}/>" for name in classes]
    lines += ["  </Choices>", "</View>"]
    return "\n".join(lines) + "\n"


def instructions(classes: Sequence[str], description: str = "") -> str:
    """The project's instructions (HTML): what to do, and the classes to choose from."""
    items = "".join(f"<li>{escape(name)}</li>" for name in classes)
    what = escape(description or "Choose the category that best describes the image.")
    return (
        f"<p>{what}</p><p>Choose exactly one of:</p><ul>{items}</ul>"
        "<p>Then press Submit. Each image is shown to several annotators; their answers are "
        "consolidated into one label.</p>"
    )


def project_fields(
    classes: Sequence[str],
    attribute: str,
    title: str,
    description: str,
    workers: int,
    header: str = "",
) -> dict[str, object]:
    """The fields of a new project: title, config (its header the task's title), instructions."""
    return {
        "title": title,
        "description": description,
        "label_config": label_config(classes, attribute, header or title, description),
        "expert_instruction": instructions(classes, description),
        "show_instruction": True,
        "maximum_annotations": workers,
        "show_skip_button": False,
        "sampling": "Uniform sampling",
    }
