"""What a rendered task template asks of the crowd HTML elements, and which of them we stand in for.

The real elements come from `crowd-html-elements.js`, which cannot be loaded offline. The portal
serves its own stand-ins (`static/crowd.js`) for the ones the walkthrough's template uses; a
template with any other crowd element gets a message naming it, and cannot be submitted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: The crowd elements the portal's stand-ins implement.
IMPLEMENTED = ("crowd-form", "crowd-image-classifier")
_CROWD_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc=[\"']?https://assets\.crowd\.aws/[^>]*>\s*</script>", re.IGNORECASE
)


@dataclass
class TemplateUse:
    """The crowd elements a rendered template uses and the names of its classifiers."""

    elements: set[str] = field(default_factory=set)
    classifier_names: list[str] = field(default_factory=list)
    scripts: int = 0

    @property
    def missing(self) -> list[str]:
        """The crowd elements used that the stand-ins do not implement, sorted."""
        return sorted(e for e in self.elements if e not in IMPLEMENTED)


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.use = TemplateUse()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.startswith("crowd-"):
            self.use.elements.add(tag)
        if tag == "crowd-image-classifier":
            self.use.classifier_names.append(dict(attrs).get("name") or "")
        if tag == "script":
            self.use.scripts += 1


def without_crowd_script(rendered: str) -> str:
    """The rendered template without the real elements' script tag (the stand-ins replace it)."""
    return _CROWD_SCRIPT.sub("", rendered)


def scan(rendered: str) -> TemplateUse:
    """What a rendered template (without the crowd script) uses."""
    scanner = _Scanner()
    scanner.feed(rendered)
    scanner.close()
    return scanner.use
