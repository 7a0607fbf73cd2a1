"""A local AWS of the benchmarks' own, in a temporary folder, so nobody else's is disturbed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import local
from helpers.aws import local_environment
from helpers.local.config import variable

#: The region the benchmarks' clients use (the walkthrough's default).
REGION = "us-west-2"


@contextmanager
def bench_folder() -> Iterator[Path]:
    """A temporary folder for one `python -m benchmarks` run (removed afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix="walkthrough-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def own_local_aws(
    folder: Path, cache: Path | None = None, mirror_per_class: int | None = None
) -> Iterator[str]:
    """Start a local AWS with its state under `folder`, point this process at it, yield its URL.

    The user's `WALKTHROUGH_*` and `AWS_*` variables and settings file are set aside while it
    runs (the benchmarks measure the defaults, and never reach a real account), and the
    environment is restored when it stops. `cache` (default: under `folder`) holds the drawn
    Open Images mirror, which has `mirror_per_class` pictures per class when given.
    """
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith(("WALKTHROUGH_", "AWS_"))]:
        del os.environ[name]
    settings_file = folder / "settings.json"
    settings_file.parent.mkdir(parents=True, exist_ok=True)
    settings_file.write_text("{}\n")
    state = folder / "local-aws"
    os.environ.update(
        WALKTHROUGH_STATE_DIR=str(state),
        WALKTHROUGH_CACHE_DIR=str(cache or folder / "cache"),
        WALKTHROUGH_RUNS_DIR=str(folder / "runs"),
        WALKTHROUGH_SETTINGS_FILE=str(settings_file),
        WALKTHROUGH_PROGRESS="plain",
    )
    if mirror_per_class is not None:
        os.environ[variable("openimages_per_class")] = str(mirror_per_class)
    try:
        url = local.start(state)
        os.environ.update(local_environment(url, REGION))
        yield url
    finally:
        local.stop(state)
        os.environ.clear()
        os.environ.update(saved)
