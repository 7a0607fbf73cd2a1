"""`make demo`'s runner: run folders, HTML copies and the summary."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.demo import isolate_settings, last_output_text, new_run_dir, stop_local_aws
from helpers.paths import project_root
from helpers.settings import load


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
    aws_settings = tmp_path / "aws-settings.json"  # a user's aws settings: the demo ignores them
    aws_settings.write_text(json.dumps({"mode": "aws", "bucket": "my-real-bucket"}))
    env = dict(
        os.environ, WALKTHROUGH_RUNS_DIR=str(tmp_path), WALKTHROUGH_SETTINGS_FILE=str(aws_settings)
    )
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
    assert "local mode" in result.stdout and f"does not read {aws_settings}" in result.stdout


def test_demo_reads_no_settings_file_only_defaults_and_variables(tmp_path: Path) -> None:
    # A user who followed the aws steps has a settings.json with their real bucket (conftest
    # points the default settings file at tmp_path/no-settings.json), and maybe a named one.
    user_file = tmp_path / "no-settings.json"
    user_file.write_text(json.dumps({"mode": "aws", "bucket": "my-real-bucket"}))
    named = tmp_path / "aws-settings.json"
    named.write_text(json.dumps({"mode": "aws", "bucket": "my-other-bucket"}))
    env = {"WALKTHROUGH_SETTINGS_FILE": str(named), "WALKTHROUGH_IMAGES_PER_CLASS": "7"}
    assert load(env=env).mode == "aws"

    said = isolate_settings(tmp_path, env)

    settings = load({"mode": "local"}, env=env)
    assert settings.bucket != "my-real-bucket" and settings.bucket != "my-other-bucket"
    assert settings.images_per_class == 7  # WALKTHROUGH_* variables still apply
    assert not any(source.startswith("file") for source in settings.sources.values())
    assert "local mode" in said and str(user_file) in said and str(named) in said


def test_a_stop_reply_cut_short_by_the_shutdown_is_not_a_failure() -> None:
    running = {"running": False}

    def stop() -> None:
        raise http.client.IncompleteRead(b"", 18)

    stop_local_aws(stop, lambda: running)  # stopped all the same: fine
    running["running"] = True
    with pytest.raises(http.client.IncompleteRead):
        stop_local_aws(stop, lambda: running)  # still running: say so


def test_the_labeling_backend_passes_through_to_the_notebooks(tmp_path: Path) -> None:
    """`WALKTHROUGH_LABELING_BACKEND=label_studio make demo`: the demo says so, and the
    notebooks' kernels (which inherit the demo's environment) load it."""
    env = {"WALKTHROUGH_LABELING_BACKEND": "label_studio"}
    said = isolate_settings(tmp_path, env)
    assert "Labeling backend: label_studio" in said
    assert load({"mode": "local"}, env=env).labeling_backend == "label_studio"
    assert "Labeling backend: ground_truth" in isolate_settings(tmp_path, {})
