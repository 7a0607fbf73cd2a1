"""One KFP run, as a cluster runs it: `python runner.py SPEC.json ARGUMENTS.json ROOT EVENTS.jsonl`.

It runs the compiled pipeline spec it is given (an uploaded IR, parsed back) with the run's
runtime parameters through kfp's local orchestrator, each executor's command in a subprocess of
this Python (no per-task virtualenv). It never imports the walkthrough's code, so it cannot call
the pipeline function. Each task's start and end, and the run's end, are appended to EVENTS as
JSON lines for the KFP stand-in to report through GetRun. Exit code 0 when the run succeeded.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def _event(events: Path, **values: Any) -> None:
    with events.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"time": time.time(), **values}) + "\n")


def run(spec: dict[str, Any], arguments: dict[str, Any], root: Path, events: Path) -> bool:
    """Run the spec with the arguments; return whether every task succeeded."""
    from google.protobuf import json_format
    from kfp import local
    from kfp.local import pipeline_orchestrator, status
    from kfp.local.orchestrator import task_executor
    from kfp.pipeline_spec import pipeline_spec_pb2

    pipeline_spec = json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())
    execute = task_executor.execute_single_task

    def traced(*args: Any, **kwargs: Any) -> Any:
        name, task_spec = kwargs["task_name"], kwargs["task_spec"]
        shown = task_spec.task_info.name or name
        _event(events, task=name, display_name=shown, state="RUNNING")
        outputs, task_status = execute(*args, **kwargs)
        done = "SUCCEEDED" if task_status == status.Status.SUCCESS else "FAILED"
        _event(events, task=name, display_name=shown, state=done)
        return outputs, task_status

    task_executor.execute_single_task = traced
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(root),
        raise_on_error=True,
    )
    try:
        pipeline_orchestrator.run_local_pipeline(pipeline_spec, arguments)
    except Exception as exc:  # noqa: BLE001 - the message is the run's error
        _event(events, run="FAILED", error=f"{type(exc).__name__}: {exc}")
        return False
    _event(events, run="SUCCEEDED")
    return True


def main(argv: list[str]) -> int:
    """Read the spec and arguments files, run, exit 1 when the run failed."""
    spec_file, arguments_file, root, events = argv
    spec = json.loads(Path(spec_file).read_text())
    arguments = json.loads(Path(arguments_file).read_text())
    _event(Path(events), run="RUNNING")
    return 0 if run(spec, arguments, Path(root), Path(events)) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
