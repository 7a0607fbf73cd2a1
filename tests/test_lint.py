"""`make lint` stays clean: ruff on the code, and through nbqa on the notebooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import project_root

BIN = Path(sys.executable).parent
COMMANDS = {
    "ruff check": [str(BIN / "ruff"), "check", "helpers", "tests", "benchmarks"],
    "ruff format": [str(BIN / "ruff"), "format", "--check", "helpers", "tests", "benchmarks"],
    "nbqa ruff": [str(BIN / "nbqa"), "ruff", "notebooks", "--extend-ignore=E402,B018"],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_lint_is_clean(name: str) -> None:
    result = subprocess.run(
        COMMANDS[name], cwd=project_root(), capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
