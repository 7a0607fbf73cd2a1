"""What a check returns: a status, what it found and the fix; and building fix commands."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Re-exported: the checks read AWS errors through the one module that decides what they mean.
from helpers.awserrors import DENIED_CODES, error_code, is_denied, is_missing  # noqa: F401

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"
#: Statuses from worst to best (a combined outcome takes the worst).
SEVERITY = (FAIL, WARN, SKIP, PASS)
#: Why the prediction parts of checks 5, 7 and 12 are not checked.
PREDICTIONS_OFF = "predictions are off (test_images_per_class=0): no model or transform job"


@dataclass(frozen=True)
class Outcome:
    """A check's verdict: status, what it found, how to fix it, and fix commands to run."""

    status: str
    found: str
    fix: str = ""
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    """One row of the checks table."""

    number: int
    name: str
    title: str
    status: str
    found: str
    fix: str = ""
    commands: tuple[str, ...] = ()


def passed(found: str) -> Outcome:
    """A check that passed."""
    return Outcome(PASS, found)


def warned(found: str, fix: str, *commands: str) -> Outcome:
    """A check that found something to improve (the pipeline can still run)."""
    return Outcome(WARN, found, fix, commands)


def failed(found: str, fix: str, *commands: str) -> Outcome:
    """A check that found something that would make the pipeline fail."""
    return Outcome(FAIL, found, fix, commands)


def skipped(found: str, fix: str = "") -> Outcome:
    """A check that could not be made here; `found` says why."""
    return Outcome(SKIP, found, fix)


def worst(statuses: Iterable[str]) -> str:
    """Return the worst of some statuses (PASS when there are none)."""
    present = set(statuses)
    return next((s for s in SEVERITY if s in present), PASS)


def combine(outcomes: Iterable[Outcome], found_when_fine: str) -> Outcome:
    """Merge part-outcomes: the worst status; problems and fixes in order; PASS text if none."""
    problems = [o for o in outcomes if o.status != PASS]
    if not problems:
        return passed(found_when_fine)
    status = worst(o.status for o in problems)
    return Outcome(
        status,
        "; ".join(o.found for o in problems),
        " ".join(o.fix for o in problems if o.fix),
        tuple(c for o in problems for c in o.commands),
    )


def cli(service: str, operation: str, region: str, **options: Any) -> str:
    """Build a copy-pasteable `aws` command: JSON options single-quoted, `--region` last."""
    parts = ["aws", service, operation]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif isinstance(value, dict | list):
            parts += [flag, shlex.quote(json.dumps(value))]
        elif isinstance(value, tuple):
            parts += [flag, *(shlex.quote(str(v)) for v in value)]
        else:
            parts += [flag, shlex.quote(str(value))]
    parts += ["--region", region]
    return " ".join(parts)


def aimed_at(outcome: Outcome, endpoint_url: str | None) -> Outcome:
    """The outcome with every AWS CLI command in it sent to `endpoint_url` (the local AWS).

    In local mode a fix pasted into a shell with real credentials must not change a real
    account: each `aws ...` command gets `--endpoint-url`. With no endpoint (aws mode) the
    outcome is returned as it is.
    """
    if not endpoint_url:
        return outcome
    option = f"--endpoint-url {shlex.quote(endpoint_url)}"
    commands = tuple(
        f"{command} {option}" if command.startswith("aws ") else command
        for command in outcome.commands
    )
    fix = outcome.fix.replace("`aws ", f"`aws {option} ")
    return Outcome(outcome.status, outcome.found, fix, commands)
