"""Run the pipeline on KFP's local runner: `python -m helpers.local_runner ARGS.json ROOT`.

The Python component set runs in this Python (SubprocessRunner without a venv: no per-task
installs), with AWS reached as the environment says (`AWS_ENDPOINT_URL` in local mode). Each
task's log goes to stdout; the exit code says whether the pipeline succeeded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def run(arguments: dict[str, Any], pipeline_root: Path) -> None:
    """Run the pipeline built from the Python components with these arguments."""
    from kfp import local

    from helpers import components, pipeline

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(pipeline_root),
        raise_on_error=True,
    )
    pipeline.build(components.python(install=False))(**arguments)


def main(argv: list[str] | None = None) -> int:
    """Read the arguments file and run; exit 1 when a task fails."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m helpers.local_runner ARGUMENTS.json PIPELINE_ROOT", file=sys.stderr)
        return 2
    arguments = json.loads(Path(args[0]).read_text())
    try:
        run(arguments, Path(args[1]))
    except Exception as exc:  # noqa: BLE001 - the message is the pipeline's failure
        print(f"PIPELINE FAILED: {type(exc).__name__}: {exc}", flush=True)
        return 1
    print("PIPELINE SUCCEEDED", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
