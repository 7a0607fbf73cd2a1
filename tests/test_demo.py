"""`make demo`'s runner: run folders, HTML copies and the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.demo import last_output_text, new_run_dir
from helpers.paths import project_root


def test_new_run_dir_points_latest_at_the_newest(tmp_path: Path) -> None:
    first = new_run_dir(tmp_path)
    second = new_run_dir(tmp_path)
    assert first != second
    assert (tmp_path / "latest").resolve() == second.resolve()


def test_last_output_text_reads_the_closing_cell(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "code", "outputs": [{"output_type": "stream", "text": ["early\n"]}]},
            {
                "cell_type": "code",
                "outputs": [
                    {
                        "output_type": "execute_result",
                        "data": {"text/markdown": ["**Done:** it worked"]},
                    }
                ],
            },
            {"cell_type": "markdown", "source": "what next"},
        ]
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook))
    assert last_output_text(path) == "**Done:** it worked"


@pytest.mark.usefixtures("local_aws_url")
def test_demo_runs_notebooks_into_a_run_folder_with_html(tmp_path: Path) -> None:
    env = dict(os.environ, WALKTHROUGH_RUNS_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "helpers.demo", "--only", "01"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project_root(),
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    run = (tmp_path / "latest").resolve()
    assert (run / "01_prepare_dataset.ipynb").is_file()
    html = (run / "01_prepare_dataset.html").read_text()
    assert "data:image/png;base64" in html
    assert str(run) in result.stdout
    assert "Done:" in result.stdout and "staged 100 images" in result.stdout
