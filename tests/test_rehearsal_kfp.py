"""The rehearsal's KFP stand-in runs the uploaded spec with the run's parameters and reports it."""

# No `from __future__ import annotations`: KFP reads the component's parameter types.

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kfp
import pytest
import yaml
from kfp import compiler, dsl

from tests.kfp_fake import KfpServer
from tests.rehearsal.account import network_attempts, pod_environment
from tests.rehearsal.cluster import Cluster

pytestmark = pytest.mark.rehearsal


@dsl.component(base_image="python:3.11-slim", packages_to_install=["boto3>=1.34,<2"])
def write_word(word: str, out_file: str, fail: bool) -> str:
    """Write the word to a file (or fail)."""
    if fail:
        raise RuntimeError(f"asked to fail with {word}")
    with open(out_file, "w") as out:
        out.write(word)
    return word


@dsl.pipeline(name="rehearsal-probe")
def probe(
    out_file: str, second_file: str = "", word: str = "compiled-default", fail: bool = False
) -> None:
    first = write_word(word=word, out_file=out_file, fail=fail).set_display_name("first")
    write_word(word=first.output, out_file=second_file, fail=False).set_display_name("second")


@dsl.component(base_image="python:3.11-slim")
def slow_word(word: str, out_file: str, seconds: float) -> str:
    """Write the word after a while."""
    import time

    time.sleep(seconds)
    with open(out_file, "w") as out:
        out.write(word)
    return word


@dsl.pipeline(name="rehearsal-parallel-probe")
def parallel_probe(out_file: str, other_file: str) -> None:
    slow_word(word="slow", out_file=out_file, seconds=3.0).set_display_name("slow")
    quick = write_word(word="quick", out_file=other_file, fail=True).set_display_name("quick")
    write_word(word=quick.output, out_file=other_file, fail=False).set_display_name("after")


@dsl.component(base_image="python:3.11-slim")
def on_exit(out_file: str, status: dsl.PipelineTaskFinalStatus) -> None:
    """Write the pipeline's final state (an exit handler)."""
    with open(out_file, "w") as out:
        out.write(status.state)


@dsl.pipeline(name="rehearsal-exit-probe")
def exit_probe(out_file: str, other_file: str, exit_file: str) -> None:
    with dsl.ExitHandler(on_exit(out_file=exit_file).set_display_name("on-exit")):
        parallel_probe(out_file=out_file, other_file=other_file)


@pytest.fixture
def cluster_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("HOME", str(tmp_path))  # the kfp client's context file
    log = tmp_path / "network.log"
    env = pod_environment(os.environ, {}, log, tmp_path / "pod-home")
    cluster = Cluster(tmp_path / "cluster", env)
    with KfpServer(multi_user=True, executor=cluster) as server:
        yield {"server": server, "cluster": cluster, "log": log, "folder": tmp_path}
    cluster.close()


def upload_and_run(api: dict[str, Any], spec: dict[str, Any], **params: Any) -> tuple[Any, str]:
    path = api["folder"] / "probe.yaml"
    path.write_text(yaml.safe_dump(spec))
    client = kfp.Client(host=api["server"].url, namespace="team-a")
    uploaded = client.upload_pipeline(str(path), pipeline_name="probe", namespace="team-a")
    version = client.list_pipeline_versions(uploaded.pipeline_id).pipeline_versions[0]
    experiment = client.create_experiment("probe", namespace="team-a")
    run = client.run_pipeline(
        experiment_id=experiment.experiment_id,
        job_name="probe-run",
        params=params,
        pipeline_id=uploaded.pipeline_id,
        version_id=version.pipeline_version_id,
    )
    return client, run.run_id


def follow(client: Any, run_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    states = []
    while time.monotonic() < deadline:
        run = client.get_run(run_id)
        states.append(run.state)
        if run.state in ("SUCCEEDED", "FAILED", "CANCELED"):
            return run, states
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end: {states[-5:]}")


def pods_log(api: dict[str, Any]) -> str:
    return "".join(p.read_text() for p in (api["folder"] / "cluster").glob("*/pods.log"))


def compiled(tmp_path: Path) -> dict[str, Any]:
    compiler.Compiler().compile(probe, str(tmp_path / "compiled.yaml"))
    return yaml.safe_load((tmp_path / "compiled.yaml").read_text())


def test_a_default_edited_in_the_uploaded_spec_takes_effect(
    cluster_api: dict[str, Any], tmp_path: Path
) -> None:
    spec = compiled(tmp_path)
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["word"]["defaultValue"] == "compiled-default"
    parameters["word"]["defaultValue"] = "edited-in-the-ir"
    out = tmp_path / "word.txt"
    client, run_id = upload_and_run(cluster_api, spec, out_file=str(out), second_file=f"{out}.2")
    run, states = follow(client, run_id)
    assert run.state == "SUCCEEDED", pods_log(cluster_api)
    assert out.read_text() == "edited-in-the-ir"
    assert Path(f"{out}.2").read_text() == "edited-in-the-ir"  # the first task's output
    assert "RUNNING" in states or "PENDING" in states
    tasks = {t.display_name: t for t in run.run_details.task_details}
    assert {name: t.state for name, t in tasks.items()} == {
        "first": "SUCCEEDED",
        "second": "SUCCEEDED",
    }
    assert tasks["first"].end_time <= tasks["second"].start_time
    assert network_attempts(cluster_api["log"]) == []


def test_a_failed_task_fails_the_run_and_is_named(
    cluster_api: dict[str, Any], tmp_path: Path
) -> None:
    client, run_id = upload_and_run(
        cluster_api, compiled(tmp_path), out_file=str(tmp_path / "x"), fail=True
    )
    run, _ = follow(client, run_id)
    assert run.state == "FAILED"
    assert "Inner task failed" in run.error.message
    (task,) = run.run_details.task_details
    assert (task.display_name, task.state) == ("first", "FAILED")
    log = pods_log(cluster_api)
    assert "asked to fail with compiled-default" in log


def test_a_package_the_pod_would_install_must_already_be_there(
    cluster_api: dict[str, Any], tmp_path: Path
) -> None:
    """No package index: a requirement this Python does not meet fails the task."""
    spec = compiled(tmp_path)
    for executor in spec["deploymentSpec"]["executors"].values():
        command = executor["container"]["command"]
        executor["container"]["command"] = [
            c.replace("boto3>=1.34,<2", "boto3>=99") for c in command
        ]
    client, run_id = upload_and_run(cluster_api, spec, out_file=str(tmp_path / "x"))
    run, _ = follow(client, run_id)
    assert run.state == "FAILED"
    log = pods_log(cluster_api)
    assert "No matching distribution found for boto3>=99" in log


def test_a_terminated_run_is_canceled(cluster_api: dict[str, Any], tmp_path: Path) -> None:
    client, run_id = upload_and_run(cluster_api, compiled(tmp_path), out_file=str(tmp_path / "x"))
    client.terminate_run(run_id)
    run, _ = follow(client, run_id)
    assert run.state == "CANCELED"


def test_the_guard_refuses_and_records_a_connection_that_leaves_the_machine(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from tests.rehearsal.account import environment, guarded_processes

    log = tmp_path / "network.log"
    env = environment(os.environ, {}, log)
    probe_code = (
        "import socket\n"
        "for address in [('192.0.2.1', 443), ('sts.amazonaws.com', 443)]:\n"
        "    try:\n"
        "        socket.create_connection(address, timeout=1)\n"
        "    except OSError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe_code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["ConnectionRefusedError", "ConnectionRefusedError"]
    attempts = network_attempts(log)
    assert any("192.0.2.1" in a for a in attempts)
    assert any("sts.amazonaws.com" in a for a in attempts)
    assert len(guarded_processes(log)) == 1


def test_ready_tasks_run_at_once_and_a_failure_starts_nothing_new(
    cluster_api: dict[str, Any], tmp_path: Path
) -> None:
    """As on a cluster (Argo): the running task goes on to its end; no new task starts."""
    import json

    compiler.Compiler().compile(parallel_probe, str(tmp_path / "parallel.yaml"))
    spec = yaml.safe_load((tmp_path / "parallel.yaml").read_text())
    out = tmp_path / "slow.txt"
    client, run_id = upload_and_run(
        cluster_api, spec, out_file=str(out), other_file=str(tmp_path / "other.txt")
    )
    run, _ = follow(client, run_id)
    assert run.state == "FAILED"
    assert out.read_text() == "slow"  # it was running when "quick" failed, and finished
    states = {t.display_name: t.state for t in run.run_details.task_details}
    assert states == {"slow": "SUCCEEDED", "quick": "FAILED"}  # "after" never started
    events = [
        json.loads(line)
        for line in next((tmp_path / "cluster").glob("*/events.jsonl")).read_text().splitlines()
    ]
    at = {(e.get("display_name"), e.get("state")): e["time"] for e in events if "task" in e}
    assert at[("slow", "RUNNING")] < at[("quick", "FAILED")] < at[("slow", "SUCCEEDED")]


def test_an_exit_handler_runs_last_with_the_runs_final_state(
    cluster_api: dict[str, Any], tmp_path: Path
) -> None:
    compiler.Compiler().compile(exit_probe, str(tmp_path / "exit.yaml"))
    spec = yaml.safe_load((tmp_path / "exit.yaml").read_text())
    exit_file = tmp_path / "exit.txt"
    client, run_id = upload_and_run(
        cluster_api,
        spec,
        out_file=str(tmp_path / "slow.txt"),
        other_file=str(tmp_path / "other.txt"),
        exit_file=str(exit_file),
    )
    run, _ = follow(client, run_id)
    assert run.state == "FAILED", pods_log(cluster_api)
    assert exit_file.read_text() == "FAILED"
    states = {t.display_name: t.state for t in run.run_details.task_details}
    assert states["on-exit"] == "SUCCEEDED" and states["quick"] == "FAILED"
    ends = {t.display_name: t.end_time for t in run.run_details.task_details}
    assert ends["on-exit"] >= ends["slow"]
