"""Showing check results: a text table for the terminal, a colored table for notebooks."""

from __future__ import annotations

import html
import shutil
import textwrap
from collections import Counter
from collections.abc import Sequence
from typing import Any

from helpers.checks.model import FAIL, PASS, SKIP, WARN, Result

COLORS = {PASS: "#d4edda", WARN: "#fff3cd", FAIL: "#f8d7da", SKIP: "#e2e3e5"}
TEXT_COLORS = {PASS: "#155724", WARN: "#856404", FAIL: "#721c24", SKIP: "#383d41"}


def counts(results: Sequence[Result]) -> Counter[str]:
    """How many results have each status."""
    return Counter(r.status for r in results)


def ready(results: Sequence[Result]) -> bool:
    """True when no check failed (the pipeline may run)."""
    return not any(r.status == FAIL for r in results)


def summary(results: Sequence[Result]) -> str:
    """One line: the counts per status and whether the pipeline is ready to run."""
    tally = counts(results)
    parts = ", ".join(f"{tally[s]} {s}" for s in (PASS, WARN, FAIL, SKIP) if tally[s])
    failing = [f"{r.number} {r.name}" for r in results if r.status == FAIL]
    if failing:
        return f"{parts}: the pipeline is NOT ready to run (fix: {', '.join(failing)})"
    return f"{parts}: the pipeline is ready to run"


def text_table(results: Sequence[Result], width: int | None = None) -> str:
    """The results as a plain-text table, with each problem's fix and commands below it."""
    width = width or max(80, min(140, shutil.get_terminal_size((120, 24)).columns))
    name_width = max(len(r.name) for r in results)
    head = f"{'#':>2}  {'check':<{name_width}}  status  "
    indent = " " * len(head)
    lines = [head + "found", "-" * min(width, len(head) + 60)]
    for r in results:
        wrapped = textwrap.wrap(
            r.found or "-", width=max(30, width - len(head)), break_on_hyphens=False
        ) or ["-"]
        lines.append(f"{r.number:>2}  {r.name:<{name_width}}  {r.status:<6}  {wrapped[0]}")
        lines += [indent + w for w in wrapped[1:]]
    problems = [r for r in results if r.fix or r.commands]
    if problems:
        lines += ["", "Fixes and notes:"]
    for r in problems:
        lines.append(f"{r.number:>2}  {r.name} ({r.status}):")
        lines += textwrap.wrap(
            r.fix,
            width=width,
            initial_indent="    ",
            subsequent_indent="    ",
            break_on_hyphens=False,
        )
        lines += [f"    $ {command}" for command in r.commands]
    lines += ["", summary(results)]
    return "\n".join(lines)


def fixes_text(results: Sequence[Result]) -> str:
    """Each failure's and warning's fix, with its commands ready to copy (one per line)."""
    blocks = []
    for r in results:
        if r.status in (FAIL, WARN) and (r.fix or r.commands):
            blocks.append("\n".join([f"[{r.status}] {r.number} {r.name}: {r.fix}", *r.commands]))
    return "\n\n".join(blocks) or "Nothing to fix."


def _fix_html(result: Result) -> str:
    commands = "".join(
        '<pre style="white-space:pre-wrap;word-break:break-all;margin:2px 0;font-size:85%">'
        f"{html.escape(c)}</pre>"
        for c in result.commands
    )
    return html.escape(result.fix) + commands


def styled_table(results: Sequence[Result]) -> Any:
    """The results as a pandas Styler: one row per check, the status colored."""
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "#": r.number,
                "check": html.escape(r.name),
                "status": r.status,
                "found": html.escape(r.found),
                "fix": _fix_html(r),
            }
            for r in results
        ]
    )

    def color(status: str) -> str:
        return (
            f"background-color: {COLORS.get(status, '')}; color: {TEXT_COLORS.get(status, '')}; "
            "font-weight: bold; text-align: center"
        )

    return (
        frame.style.hide(axis="index")
        .map(color, subset=["status"])
        .set_properties(subset=["check", "found", "fix"], **{"text-align": "left"})
        .set_properties(subset=["found", "fix"], **{"max-width": "40em"})
        .set_table_styles([{"selector": "th", "props": "text-align: left"}])
        .set_caption(html.escape(summary(results)))
    )


def _left_aligned(frame: Any) -> Any:
    return (
        frame.style.hide(axis="index")
        .set_properties(**{"text-align": "left", "vertical-align": "top"})
        .set_table_styles([{"selector": "th", "props": "text-align: left"}])
    )


def steps_table(steps: Sequence[Any]) -> Any:
    """What create-missing did (piece, outcome, detail), as a left-aligned table."""
    import pandas as pd

    frame = pd.DataFrame(
        [{"piece": s.piece, "outcome": s.outcome, "detail": s.detail} for s in steps]
    )
    return _left_aligned(frame)


def policy_table(document: dict[str, Any]) -> Any:
    """A policy document's statements, one row each: actions, resources, condition."""
    import pandas as pd

    def listed(value: Any) -> str:
        return "\n".join(value) if isinstance(value, list) else str(value)

    rows = [
        {
            "statement": st.get("Sid", ""),
            "actions": listed(st.get("Action", "")),
            "resources": listed(st.get("Resource", "")),
            "condition": "; ".join(
                f"{op} {key} = {value}"
                for op, tests in st.get("Condition", {}).items()
                for key, value in tests.items()
            ),
        }
        for st in document["Statement"]
    ]
    return _left_aligned(pd.DataFrame(rows)).set_properties(
        subset=["actions", "resources"], **{"white-space": "pre-wrap"}
    )
