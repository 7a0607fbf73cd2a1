"""Where the project keeps its files: the project root, local-AWS state and run folders."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """Return the project folder (the one holding `helpers/`), or WALKTHROUGH_ROOT when set."""
    override = os.environ.get("WALKTHROUGH_ROOT")
    return Path(override).resolve() if override else Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """Return the git-ignored folder for the local AWS's pid, port, log and caches."""
    override = os.environ.get("WALKTHROUGH_STATE_DIR")
    return Path(override).resolve() if override else project_root() / ".local-aws"


def runs_dir() -> Path:
    """Return the folder that holds executed notebooks and run records."""
    override = os.environ.get("WALKTHROUGH_RUNS_DIR")
    return Path(override).resolve() if override else project_root() / "runs"


def run_path(*parts: str) -> Path:
    """A path under `runs/` built from parts (run ids, names); refuses one that leaves `runs/`."""
    root = runs_dir().resolve()
    path = root.joinpath(*parts).resolve()
    if path == root or root not in path.parents:
        from helpers.errors import WalkthroughError

        raise WalkthroughError(f"refusing to write outside {root}: {'/'.join(parts)!r}")
    return path


def cache_dir() -> Path:
    """Return the folder for files kept between runs (downloads, the generated mirror)."""
    override = os.environ.get("WALKTHROUGH_CACHE_DIR")
    return Path(override).resolve() if override else state_dir() / "cache"
