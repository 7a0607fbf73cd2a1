"""The cluster behind the KFP stand-in: each run executes its uploaded spec in a child process.

`Cluster` is the `executor` of `tests.kfp_fake.FakeKfp`: it starts `runner.py` for a created
run (the spec the client uploaded, the run's runtime parameters), reads the events the runner
writes to answer GetRun (run state, task details), and terminates a run's process group. The
runner and the component processes get only the environment the cluster is given (the pods'
AWS configuration and the network guard) and a working folder of their own outside the project.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RUNNER = Path(__file__).resolve().parent / "runner.py"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Execution:
    """One run's process and where it reports."""

    process: subprocess.Popen[bytes]
    events: Path
    log: Path
    canceled: bool = False


@dataclass
class Cluster:
    """Runs KFP runs as child processes with the pods' environment `env`, under `folder`."""

    folder: Path
    env: dict[str, str]
    executions: dict[str, Execution] = field(default_factory=dict)

    def start(self, run_id: str, spec: dict[str, Any], parameters: dict[str, Any]) -> None:
        """Start executing a created run."""
        folder = self.folder / run_id
        folder.mkdir(parents=True)
        (folder / "spec.json").write_text(json.dumps(spec))
        (folder / "arguments.json").write_text(json.dumps(parameters))
        events, log = folder / "events.jsonl", folder / "pods.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    str(RUNNER),
                    str(folder / "spec.json"),
                    str(folder / "arguments.json"),
                    str(folder / "root"),
                    str(events),
                ],
                cwd=folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.executions[run_id] = Execution(process, events, log)

    def report(self, run_id: str) -> dict[str, Any]:
        """The run's state, error and task details, as GetRun reports them."""
        execution = self.executions[run_id]
        code = execution.process.poll()
        events = _events(execution.events)
        tasks: dict[str, dict[str, Any]] = {}
        error = None
        for event in events:
            if "task" in event:
                task = tasks.setdefault(
                    event["task"],
                    {
                        "run_id": run_id,
                        "task_id": f"{run_id}-{event['task']}",
                        "display_name": event["display_name"],
                        "create_time": _iso(event["time"]),
                        "start_time": _iso(event["time"]),
                    },
                )
                task["state"] = event["state"]
                if event["state"] != "RUNNING":
                    task["end_time"] = _iso(event["time"])
                if event["state"] == "FAILED":
                    task["error"] = {"code": 2, "message": f"task {event['display_name']} failed"}
            elif event.get("error"):
                error = event["error"]
        if execution.canceled:
            state = "CANCELING" if code is None else "CANCELED"
        elif code is None:
            state = "RUNNING" if events else "PENDING"
        else:
            state = "SUCCEEDED" if code == 0 else "FAILED"
            error = error or (None if code == 0 else f"the run's process ended with code {code}")
        report: dict[str, Any] = {"state": state, "tasks": list(tasks.values()), "error": error}
        if code is not None and events:
            report["finished_at"] = _iso(events[-1]["time"])
        return report

    def terminate(self, run_id: str) -> None:
        """Terminate a run: SIGTERM to its process group (the components stop their jobs)."""
        execution = self.executions[run_id]
        execution.canceled = True
        if execution.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(execution.process.pid, signal.SIGTERM)

    def wait(self, run_id: str, timeout: float) -> int:
        """Wait for a run's process to end; return its exit code."""
        return self.executions[run_id].process.wait(timeout)

    def close(self) -> None:
        """Stop every run still going (at the end of a test)."""
        for execution in self.executions.values():
            if execution.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(execution.process.pid, signal.SIGKILL)
                execution.process.wait(10)


def _events(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip().endswith("}")]
