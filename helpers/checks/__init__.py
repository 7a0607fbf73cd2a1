"""Setup checks: is the AWS and Kubeflow setup ready for the pipeline, and if not, the fix.

`python -m helpers.checks` runs every check with the effective settings and prints a table
(check, PASS / WARN / FAIL / SKIP, what it found, the fix); it exits 1 when a check fails.
`python -m helpers.checks --create-missing` first creates what is missing (see
`helpers.provision`), then checks. A check whose own AWS call is denied reports SKIP.
"""

from __future__ import annotations

from helpers.checks.model import FAIL, PASS, SKIP, WARN, Result
from helpers.checks.report import (
    fixes_text,
    policy_table,
    ready,
    steps_table,
    styled_table,
    summary,
    text_table,
)
from helpers.checks.runner import CHECKS, caller_account, run_checks

__all__ = [
    "CHECKS",
    "FAIL",
    "PASS",
    "SKIP",
    "WARN",
    "Result",
    "caller_account",
    "fixes_text",
    "policy_table",
    "ready",
    "run_checks",
    "steps_table",
    "styled_table",
    "summary",
    "text_table",
]
