"""One KFP run, as a cluster runs it: `python runner.py SPEC.json ARGUMENTS.json ROOT EVENTS.jsonl`.

It runs the compiled pipeline spec it is given (an uploaded IR, parsed back) with the run's
runtime parameters through kfp's local orchestrator, each executor's command in a subprocess of
this Python (no per-task virtualenv). It never imports the walkthrough's code, so it cannot call
the pipeline function. Each task's start and end, and the run's end, are appended to EVENTS as
JSON lines for the KFP stand-in to report through GetRun. Exit code 0 when the run succeeded.

kfp's local orchestrator runs a DAG's tasks one after the other; a cluster (Argo) runs the tasks
whose inputs are ready at the same time. So the DAGs are scheduled here as Argo does: ready
tasks run concurrently; after a task fails no new task starts (tasks already running go on to
their end), except those that run on any upstream outcome; exit-handler tasks run last, with the
body's final status. DAGs with conditions or loops fall back to kfp's own orchestrator.
"""

from __future__ import annotations

import contextlib
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
    _schedule_like_a_cluster()
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


def _schedule_like_a_cluster() -> None:
    """Replace kfp.local's sequential DAG runners by one that runs ready tasks concurrently."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from kfp.local import io, status
    from kfp.local.orchestrator import dag_orchestrator, enhanced_dag_orchestrator
    from kfp.local.orchestrator.orchestrator_utils import OrchestratorUtils
    from kfp.local.pip_install_manager import pip_install_manager
    from kfp.pipeline_spec import pipeline_spec_pb2

    # kfp.local holds one lock around every task whose command installs packages (the whole
    # task, not just the install). Pods install nothing here (pip runs with no index, as a dry
    # run), and each pod is a process of its own, so the tasks need no such lock.
    pip_install_manager.managed_install = lambda *_, **__: contextlib.nullcontext()
    sequential = enhanced_dag_orchestrator.run_enhanced_dag
    all_done = pipeline_spec_pb2.PipelineTaskSpec.TriggerPolicy.TriggerStrategy.Value(
        "ALL_UPSTREAM_TASKS_COMPLETED"
    )
    is_exit = enhanced_dag_orchestrator._has_task_final_status_input  # noqa: SLF001

    def run_dag(**kwargs: Any) -> Any:
        spec = kwargs["dag_component_spec"]
        tasks = dict(spec.dag.tasks)
        if any(t.trigger_policy.condition or t.WhichOneof("iterator") for t in tasks.values()):
            return sequential(**kwargs)
        arguments = OrchestratorUtils.join_user_inputs_and_defaults(
            dag_arguments=kwargs["dag_arguments"], dag_inputs_spec=spec.input_definitions
        )
        store = io.IOStore(parent=kwargs.get("parent_io_store"))
        for key, value in arguments.items():
            store.put_parent_input(key, value)
        exits = {
            n: t for n, t in tasks.items() if t.trigger_policy.strategy == all_done and is_exit(t)
        }
        body = {n: t for n, t in tasks.items() if n not in exits}
        common = {
            k: kwargs[k]
            for k in (
                "pipeline_resource_name",
                "components",
                "executors",
                "pipeline_root",
                "runner",
                "unique_pipeline_id",
                "fail_stack",
            )
        }

        def execute(name: str, task: Any) -> Any:
            return enhanced_dag_orchestrator.execute_task(
                task_name=name, task_spec=task, io_store=store, **common
            )

        def record(name: str, outputs: Any, task_status: Any) -> bool:
            ok = task_status == status.Status.SUCCESS
            store.put_task_status(name, "SUCCEEDED" if ok else "FAILED")
            if ok:
                for key, value in outputs.items():
                    store.put_task_output(name, key, value)
            else:
                kwargs["fail_stack"].append(name)
            return ok

        failed: set[str] = set()
        finished: set[str] = set()
        with ThreadPoolExecutor(max_workers=max(1, len(body))) as pool:
            running: dict[Any, str] = {}
            waiting = dict(body)
            while waiting or running:
                for name, task in list(waiting.items()):
                    if not set(task.dependent_tasks) <= finished:
                        continue
                    del waiting[name]
                    tolerant = task.trigger_policy.strategy == all_done
                    if (failed and not tolerant) or (
                        set(task.dependent_tasks) & failed and not tolerant
                    ):
                        failed.add(name)  # not started: the run has failed (Argo's failFast)
                        finished.add(name)
                        continue
                    running[pool.submit(execute, name, task)] = name
                if not running:
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    name = running.pop(future)
                    if not record(name, *future.result()):
                        failed.add(name)
                    finished.add(name)
        exit_failed = False
        for name, task in exits.items():
            if not record(name, *execute(name, task)):
                exit_failed = True
        if failed or exit_failed:
            return {}, status.Status.FAILURE
        outputs = OrchestratorUtils.get_dag_outputs(
            dag_outputs_spec=spec.dag.outputs, io_store=store
        )
        return outputs, status.Status.SUCCESS

    enhanced_dag_orchestrator.run_enhanced_dag = run_dag
    dag_orchestrator.run_dag = run_dag


def main(argv: list[str]) -> int:
    """Read the spec and arguments files, run, exit 1 when the run failed."""
    spec_file, arguments_file, root, events = argv
    spec = json.loads(Path(spec_file).read_text())
    arguments = json.loads(Path(arguments_file).read_text())
    _event(Path(events), run="RUNNING")
    return 0 if run(spec, arguments, Path(root), Path(events)) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
