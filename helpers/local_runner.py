"""Run the pipeline on KFP's local runner: `python -m helpers.local_runner ARGS.json ROOT`.

The Python component set runs in this Python (SubprocessRunner without a venv: no per-task
installs), with AWS reached as the environment says (`AWS_ENDPOINT_URL` in local mode). Each
task's log goes to stdout. How the pipeline ended is written to `state.json` beside the arguments
file (and is the exit code): a run resumed from another kernel reads its end from there.

A run that labels in Label Studio (its arguments name `label_studio_url`) gets the API token in
this process's environment (`LABEL_STUDIO_API_KEY`, set by whoever starts it, never an
argument); kfp.local's task processes inherit it.

kfp.local runs the pipeline's exit handler (which stops the run's still-running jobs) after a
failed task from kfp 2.17 on; kfp 2.16's local runner stops at the first failed task and skips
it, so with 2.16 this module runs the exit handler's step itself after a failure.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from helpers.paths import run_path

#: How the pipeline ended, as `state.json` records it (absent while it runs).
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"


def folder(run_id: str) -> Path:
    """The folder of a local run: its arguments, log, end state and pipeline root."""
    return run_path("pipeline-runs", run_id)


def log_path(run_id: str) -> Path:
    """The log of a local pipeline run."""
    return folder(run_id) / "pipeline.log"


def ended(run_id: str) -> bool | None:
    """How a local run ended: True (succeeded), False (failed), None while it runs (or unknown)."""
    state = folder(run_id) / "state.json"
    if not state.exists():
        return None
    return json.loads(state.read_text()).get("state") == SUCCEEDED


def run(arguments: dict[str, Any], pipeline_root: Path) -> None:
    """Run the pipeline built from the Python components with these arguments."""
    from kfp import local

    from helpers import components, pipeline

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(pipeline_root),
        raise_on_error=True,
    )
    # the prediction steps run when the arguments name them (the settings' test images > 0)
    predictions = bool(arguments.get("transform_job_name"))
    labeling = labeling_of(arguments)
    try:
        built = pipeline.build(
            components.python(install=False), predictions=predictions, labeling=labeling
        )
        built(**arguments)
    except Exception:
        if not exit_handler_runs_after_failure():
            print("kfp.local before 2.17 skips the exit handler: running its step", flush=True)
            components.python_set.stop_run_jobs(
                region=arguments.get("region", "us-west-2"),
                endpoint_url=arguments.get("endpoint_url", ""),
                # Label Studio's projects are no SageMaker labeling jobs
                train_job_name=""
                if labeling == "label_studio"
                else arguments.get("ground_truth_train_job_name", ""),
                validation_job_name=""
                if labeling == "label_studio"
                else arguments.get("ground_truth_validation_job_name", ""),
                training_job_name=arguments.get("training_job_name", ""),
                transform_job_name=arguments.get("transform_job_name", ""),
            )
        raise


def labeling_of(arguments: dict[str, Any]) -> str:
    """The labeling backend of a run's arguments: Label Studio's name its URL."""
    return "label_studio" if "label_studio_url" in arguments else "ground_truth"


def exit_handler_runs_after_failure() -> bool:
    """Whether this kfp's local runner runs an ExitHandler's step after a failed task (2.17+)."""
    from importlib.metadata import version

    major, minor = (int(part) for part in version("kfp").split(".")[:2])
    return (major, minor) >= (2, 17)


def main(argv: list[str] | None = None) -> int:
    """Read the arguments file and run; exit 1 when a task fails."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m helpers.local_runner ARGUMENTS.json PIPELINE_ROOT", file=sys.stderr)
        return 2
    arguments_file = Path(args[0])
    arguments = json.loads(arguments_file.read_text())
    try:
        run(arguments, Path(args[1]))
    except Exception as exc:  # noqa: BLE001 - the message is the pipeline's failure
        error = f"{type(exc).__name__}: {exc}"
        _write_state(arguments_file.parent, FAILED, error)
        print(f"PIPELINE FAILED: {error}", flush=True)
        return 1
    _write_state(arguments_file.parent, SUCCEEDED)
    print("PIPELINE SUCCEEDED", flush=True)
    return 0


def _write_state(run_folder: Path, state: str, error: str = "") -> None:
    """Record how the pipeline ended (written whole, then renamed: never read half-written)."""
    partial = run_folder / "state.json.partial"
    partial.write_text(json.dumps({"state": state, "error": error}))
    partial.replace(run_folder / "state.json")


if __name__ == "__main__":
    raise SystemExit(main())
