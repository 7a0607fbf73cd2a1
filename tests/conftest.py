"""Shared test set-up: isolation from the developer's settings and local AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Variables the test session itself sets (where the test local AWS lives); kept for every test.
KEPT_VARIABLES = ("WALKTHROUGH_STATE_DIR", "WALKTHROUGH_CACHE_DIR", "WALKTHROUGH_RUNS_DIR")


@pytest.fixture(autouse=True)
def _no_user_settings_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep a developer's settings.json and WALKTHROUGH_* variables out of the tests."""
    import os

    import helpers.settings

    monkeypatch.setattr(
        helpers.settings, "default_settings_file", lambda: tmp_path / "no-settings.json"
    )
    for name in list(os.environ):
        if name.startswith("WALKTHROUGH_") and name not in KEPT_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def local_aws_url(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Start one local AWS for the test session (in its own state folder) and point boto3 at it."""
    import os

    from helpers import local
    from helpers.aws import local_environment

    folder = tmp_path_factory.mktemp("local-aws")
    saved = dict(os.environ)
    os.environ["WALKTHROUGH_STATE_DIR"] = str(folder)
    os.environ["WALKTHROUGH_CACHE_DIR"] = str(folder / "cache")
    os.environ["WALKTHROUGH_RUNS_DIR"] = str(folder / "runs")
    url = local.start(folder)
    os.environ.update(local_environment(url, "us-west-2"))
    try:
        yield url
    finally:
        local.stop(folder)
        os.environ.clear()
        os.environ.update(saved)
