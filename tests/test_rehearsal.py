"""The aws-mode rehearsal: notebooks 01 to 05 with mode=aws, as a user with an account runs them.

The "account" is a local AWS of its own, reached only through a standard AWS profile (config
file with `endpoint_url`, credentials file); the "cluster" is the KFP stand-in, which executes
the uploaded pipeline (the Python component set) with the run's parameters. Every kernel, pod and
admin process has the network guard loaded: any attempt to leave the machine fails the module.
The story runs once (module fixture) and the tests assert on what each step showed and did.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from helpers import local
from helpers.local.config import LocalConfig
from helpers.paths import project_root
from tests.kfp_fake import KfpServer
from tests.rehearsal.account import (
    environment,
    guarded_processes,
    network_attempts,
    pod_environment,
    write_profile,
)
from tests.rehearsal.cluster import Cluster
from tests.support import execute_notebook, notebook_outputs

pytestmark = [pytest.mark.rehearsal, pytest.mark.notebook]

REGION = "us-west-2"
ACCOUNT = "123456789012"
BUCKET = "rehearsal-gt-bucket"
PREFIX = "aws-rehearsal"
NAMESPACE = "team-rehearsal"
CHECK_ROW = re.compile(r"^\s*\d+\s+(?P<name>\S+(?: \S+)*)\s{2,}(?P<status>[A-Z]+)\s")


def settings_file(folder: Path, kfp_url: str) -> Path:
    """The settings a user with an account writes (settings.example.json's names)."""
    path = folder / "settings.json"
    path.write_text(
        json.dumps(
            {
                "mode": "aws",
                "region": REGION,
                "bucket": BUCKET,
                "prefix": PREFIX,
                "images_per_class": 8,
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/rehearsal-sagemaker-execution",
                "kfp_pod_role_arn": f"arn:aws:iam::{ACCOUNT}:role/rehearsal-kfp-pod",
                "eks_cluster_name": "rehearsal-cluster",
                "kfp_host": kfp_url,
                "kfp_namespace": NAMESPACE,
                "kfp_service_account": "default-editor",
                "user_groups": "rehearsal-labelers",
                "labelers": "labeler-1,labeler-2,labeler-3",
                "component_set": "python",
                # the Open Images files as the account holds them (a copy in S3)
                "annotations_url": "s3://open-images-dataset/2018_04/test/"
                "test-annotations-human-imagelabels-boxable.csv",
                "class_descriptions_url": "s3://open-images-dataset/2018_04/"
                "class-descriptions-boxable.csv",
            },
            indent=2,
        )
    )
    return path


def text_of(notebook: dict[str, Any]) -> str:
    """Everything a notebook printed or showed as text, and its errors."""
    parts = []
    for output in notebook_outputs(notebook):
        parts.append("".join(output.get("text", "")))
        data = output.get("data", {})
        parts.append("".join(data.get("text/plain", "")) + "".join(data.get("text/html", "")))
        parts.append("".join(data.get("text/markdown", "")))
        if output["output_type"] == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "\n".join(parts)


def errors_of(notebook: dict[str, Any]) -> list[str]:
    return [
        f"{o['ename']}: {o['evalue']}"
        for o in notebook_outputs(notebook)
        if o["output_type"] == "error"
    ]


def sagemaker_creates(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k.startswith("sagemaker.Create") and v}


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Run the whole story once: admin set-up, 01, 02, 03 (refused, made, followed again), 04, a
    failing run, `make aws-smoke` (refused, made, failing), 05 (dry run, then done).

    Returns what each step showed and did, and the KFP stand-in's state."""
    started = time.monotonic()
    folder = tmp_path_factory.mktemp("aws-rehearsal")
    network_log = folder / "network.log"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("WALKTHROUGH_LOCAL_PORT", raising=False)  # a port of its own
        url = local.start(folder / "account")
    story: dict[str, Any] = {
        "folder": folder,
        "network_log": network_log,
        "local_aws_url_for_checks": url,
    }
    aws_vars = write_profile(folder / "aws", url, REGION)
    pods = pod_environment(os.environ, aws_vars, network_log, folder / "pod-home")
    cluster = Cluster(folder / "cluster", pods)
    try:
        with (
            KfpServer(multi_user=True, executor=cluster) as kfp,
            pytest.MonkeyPatch.context() as mp,
        ):
            story["kfp"], story["kfp_url"] = kfp.fake, kfp.url
            mine = {k: v for k, v in os.environ.items() if not k.startswith("WALKTHROUGH_")}
            env = environment(mine, aws_vars, network_log, project_root())
            env.update(
                HOME=str(folder / "home"),
                WALKTHROUGH_SETTINGS_FILE=str(settings_file(folder, kfp.url)),
                WALKTHROUGH_RUNS_DIR=str(folder / "runs"),
                WALKTHROUGH_CACHE_DIR=str(folder / "cache"),
                WALKTHROUGH_STATE_DIR=str(folder / "not-used-in-aws-mode"),
            )
            (folder / "home").mkdir()
            for name in list(os.environ):
                if name not in env:
                    mp.delenv(name)
            for name, value in env.items():
                mp.setenv(name, value)
            _story(story, folder, url, cluster)
    finally:
        cluster.close()
        local.stop(folder / "account")
    story["seconds"] = time.monotonic() - started
    print(f"\naws-mode rehearsal: {story['seconds']:.0f}s")
    yield story


def _admin(folder: Path, url: str) -> subprocess.CompletedProcess[str]:
    """What an administrator has done before: the cluster exists; create-missing made the rest."""
    # a session of its own: boto3's default session may have read another config file already
    boto3.session.Session(region_name=REGION).client(
        "eks",
        endpoint_url=url,
        aws_access_key_id="admin",
        aws_secret_access_key="admin",
    ).create_cluster(
        name="rehearsal-cluster",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/rehearsal-cluster-role",
        resourcesVpcConfig={},
    )
    return subprocess.run(
        [sys.executable, "-m", "helpers.checks", "--create-missing"],
        capture_output=True,
        text=True,
        cwd=folder,
        check=False,
        timeout=300,
    )


def _story(story: dict[str, Any], folder: Path, url: str, cluster: Cluster) -> None:
    out = folder / "notebooks"
    out.mkdir()

    def run(step: str, name: str, expect_error: bool = False, **parameters: Any) -> None:
        local.reset_request_counts(url)
        fake = story["kfp"]
        seen_requests, seen_runs = len(fake.requests), set(fake.runs)
        began = time.monotonic()
        notebook = execute_notebook(
            name, out / step, expect_error=expect_error, mode="aws", **parameters
        )
        story[step] = {
            "notebook": notebook,
            "text": text_of(notebook),
            "errors": errors_of(notebook),
            "counts": local.request_counts(url),
            "seconds": time.monotonic() - began,
            "kfp_requests": fake.requests[seen_requests:],
            "new_runs": {r: cluster.report(r) for r in fake.runs if r not in seen_runs},
        }

    for step in ("01", "02", "03-refused", "03", "03-again", "04", "03-failing", "05-dry", "05"):
        (out / step).mkdir()
    story["admin"] = _admin(folder, url)
    run("01", "01_prepare_dataset.ipynb")
    run("02", "02_check_aws_setup.ipynb")
    run("03-refused", "03_run_pipeline.ipynb", expect_error=True)
    story["runs after refusal"] = len(story["kfp"].runs)
    run("03", "03_run_pipeline.ipynb", confirm_submit=True)
    run("03-again", "03_run_pipeline.ipynb", confirm_submit=True)
    story["runs after re-run"] = len(story["kfp"].runs)
    run("04", "04_review_results.ipynb")
    local.set_faults(
        url,
        fail_jobs=["mini-image-classification-demo-train-*"],
        fail_reason="ClientError: rehearsal: the labeling job's input manifest could not be read",
    )
    # workers as slow as people, for a while: the validation job is still labeling when the train
    # job fails, as it would be on AWS
    local.drive_clock(url, speed=5)
    try:
        run(
            "03-failing",
            "03_run_pipeline.ipynb",
            expect_error=True,
            confirm_submit=True,
            new_run=True,
        )
    finally:
        local.clear_faults(url)
        local.drive_clock(url, speed=LocalConfig.from_environment().speed)
    _smoke_runs(story, folder, url)  # a maintainer's smoke runs, on the same set-up
    run("05-dry", "05_clean_up.ipynb")
    run("05", "05_clean_up.ipynb", confirm_delete=True)


def _smoke_runs(story: dict[str, Any], folder: Path, url: str) -> None:
    """`make aws-smoke` on the same stand-ins: refused without confirmation, made, and failing."""

    def smoke(step: str, *args: str) -> None:
        local.reset_request_counts(url)
        fake = story["kfp"]
        seen_requests = len(fake.requests)
        began = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "helpers.smoke", *args],
            capture_output=True,
            text=True,
            cwd=folder,
            stdin=subprocess.DEVNULL,
            check=False,
            timeout=600,
        )
        prefix = next(
            (
                w
                for line in result.stdout.splitlines()
                if "under prefix" in line
                for w in [line.split("under prefix ")[1].split(",")[0]]
            ),
            None,
        )
        story[step] = {
            "result": result,
            "prefix": prefix,
            "counts": local.request_counts(url),
            "kfp_requests": fake.requests[seen_requests:],
            "seconds": time.monotonic() - began,
        }

    smoke("smoke-refused")
    smoke("smoke", "--yes")
    local.set_faults(url, fail_jobs=["mini-image-classification-demo-validation-*"])
    try:
        smoke("smoke-failing", "--yes")
    finally:
        local.clear_faults(url)
    story["leftovers"] = {
        step: leftover_objects(story, story[step]["prefix"])
        for step in ("smoke", "smoke-failing")
        if story[step]["prefix"]
    }


def step(rehearsal: dict[str, Any], name: str) -> dict[str, Any]:
    return rehearsal[name]


def fake_url(rehearsal: dict[str, Any]) -> str:
    return rehearsal["kfp_url"]


def latest(done: dict[str, Any]) -> str:
    """The walkthrough run id notebook 03 printed."""
    for line in done["text"].splitlines():
        if line.startswith(("Submitted run ", "Following the run submitted at ")) and "(" in line:
            return line.split("(")[0].split()[-1]
    raise AssertionError("notebook 03 named no run")


def test_the_administrator_made_the_setup_in_aws_mode(rehearsal: dict[str, Any]) -> None:
    admin = rehearsal["admin"]
    assert "mode=aws" in admin.stdout, admin.stderr[-2000:]
    for piece in ("SageMaker execution role", "private workforce", "KFP pod role"):
        assert any(piece in line and " created " in line for line in admin.stdout.splitlines()), (
            admin.stdout
        )
    # the inputs are notebook 01's to write: the only FAIL before it ran
    rows = [CHECK_ROW.match(line) for line in admin.stdout.splitlines()]
    failing = [row["name"] for row in rows if row and row["status"] == "FAIL"]
    assert failing == ["inputs"], admin.stdout


def test_notebook_01_stages_the_subset_in_the_account(rehearsal: dict[str, Any]) -> None:
    done = step(rehearsal, "01")
    assert done["errors"] == []
    assert "mode=aws" in done["text"]
    assert "Done:** staged 16 images" in done["text"]
    # and one instructions example a class, and 10 held-out test images a class
    assert done["counts"].get("s3.CopyObject") == 16 + 2 + 20
    assert done["counts"].get("sagemaker.RenderUiTemplate") == 1


def test_notebook_02_checks_the_setup_and_finds_it_ready(rehearsal: dict[str, Any]) -> None:
    done = step(rehearsal, "02")
    assert done["errors"] == []
    assert "account=123456789012" in done["text"]
    assert "create_missing is off: nothing was created" in done["text"]
    assert "the pipeline is ready to run" in done["text"]
    assert "NOT ready" not in done["text"]
    assert "multi-user: True" in done["text"]  # check 11 asked the KFP API
    assert not [k for k in done["counts"] if k.split(".")[1].startswith(("Create", "Put"))]


def test_a_submission_is_refused_without_confirm_submit(rehearsal: dict[str, Any]) -> None:
    refused = step(rehearsal, "03-refused")
    (error,) = refused["errors"]
    assert error.startswith("InputError: confirm_submit") and "cost money" in error
    assert rehearsal["runs after refusal"] == 0
    assert not [r for r in refused["kfp_requests"] if r[0] == "POST"]
    assert sagemaker_creates(refused["counts"]) == {}


def test_notebook_03_submits_through_the_kfp_api_and_follows_the_run(
    rehearsal: dict[str, Any],
) -> None:
    done = step(rehearsal, "03")
    assert done["errors"] == []
    (run_id,) = done["new_runs"]
    fake = rehearsal["kfp"]
    link = f"Kubeflow Pipelines UI: {fake_url(rehearsal)}/#/runs/details/{run_id}"
    assert link in done["text"]
    # one run id for the user: the walkthrough's (the KFP run id is in the link)
    submitted = [line for line in done["text"].splitlines() if line.startswith("Submitted run")]
    assert len(submitted) == 1 and run_id not in submitted[0]
    posts = [path for method, path in done["kfp_requests"] if method == "POST"]
    assert posts == [
        "/apis/v2beta1/pipelines/upload",
        "/apis/v2beta1/pipelines/upload_version",
        "/apis/v2beta1/experiments",
        "/apis/v2beta1/runs",
    ]
    (pipeline_entry,) = fake.pipelines.values()
    assert pipeline_entry["namespace"] == NAMESPACE
    # followed through GetRun until it ended, and through SageMaker's Describe calls
    polls = [p for m, p in done["kfp_requests"] if m == "GET" and p.endswith(f"/runs/{run_id}")]
    assert len(polls) >= 3
    assert done["counts"]["sagemaker.DescribeLabelingJob"] >= 2
    assert done["counts"]["sagemaker.DescribeTrainingJob"] >= 1
    # the pods predicted the held-out images: one model, one batch transform job
    assert done["counts"]["sagemaker.CreateModel"] == 1
    assert done["counts"]["sagemaker.CreateTransformJob"] == 1
    report = done["new_runs"][run_id]
    assert report["state"] == "SUCCEEDED"
    assert {t["display_name"]: t["state"] for t in report["tasks"]} == dict.fromkeys(
        (
            "create-workteam",
            "label-train",
            "label-validation",
            "prepare-training",
            "train",
            "create-model",
            "predict",
            "evaluate",
            "stop-run-jobs",
        ),
        "SUCCEEDED",
    )
    # the pods did the work, in the account: what notebook 03 followed was created by them
    assert done["counts"]["sagemaker.CreateLabelingJob"] == 2
    assert done["counts"]["sagemaker.CreateTrainingJob"] == 1
    record = json.loads(
        (rehearsal["folder"] / "runs" / "records" / f"{latest(done)}.json").read_text()
    )
    sent = fake.runs[run_id]["run"].runtime_config.parameters
    assert sent == record["arguments"] and "endpoint_url" not in sent
    assert "trained mini-image-classification-training-" in done["text"]


def test_rerunning_notebook_03_follows_the_run_it_submitted(rehearsal: dict[str, Any]) -> None:
    again = step(rehearsal, "03-again")
    assert again["errors"] == []
    assert "Following the run submitted at" in again["text"]
    assert rehearsal["runs after re-run"] == 1 and again["new_runs"] == {}
    assert not [r for r in again["kfp_requests"] if r[0] == "POST"]
    assert [r for r in again["kfp_requests"] if r[0] == "GET" and "/runs/" in r[1]]
    assert sagemaker_creates(again["counts"]) == {}


def test_notebook_04_reviews_the_run(rehearsal: dict[str, Any]) -> None:
    review = step(rehearsal, "04")
    assert review["errors"] == []
    assert "reviewed 16 objects of run" in review["text"]
    assert "training job completed" in review["text"]


def test_a_forced_labeling_failure_is_reported_by_getrun_and_explained(
    rehearsal: dict[str, Any],
) -> None:
    failing = step(rehearsal, "03-failing")
    (run_id,) = failing["new_runs"]
    report = failing["new_runs"][run_id]
    assert report["state"] == "FAILED"
    tasks = {t["display_name"]: t["state"] for t in report["tasks"]}
    assert tasks["label-train"] == "FAILED" and "train" not in tasks
    # as on a cluster, the validation job was labeling at the same time: its task saw the train
    # job fail, stopped its own job (no more billing) and failed too; the exit handler ran last
    assert tasks["label-validation"] == "FAILED"
    assert tasks["stop-run-jobs"] == "SUCCEEDED"
    assert failing["counts"]["sagemaker.CreateLabelingJob"] == 2
    assert failing["counts"]["sagemaker.StopLabelingJob"] >= 1
    (error,) = failing["errors"]
    assert error.startswith("WalkthroughError: the pipeline run ")
    assert "labeling job mini-image-classification-demo-train-" in error
    assert "the labeling job's input manifest could not be read" in error


def test_clean_up_is_a_dry_run_until_confirmed_then_removes_the_runs(
    rehearsal: dict[str, Any],
) -> None:
    dry, done = step(rehearsal, "05-dry"), step(rehearsal, "05")
    assert dry["errors"] == [] and done["errors"] == []
    assert "Dry run: nothing will be stopped or deleted" in dry["text"]
    deletes = ("Delete", "Stop")
    assert not [k for k in dry["counts"] if k.split(".")[1].startswith(deletes)]
    assert done["counts"].get("sagemaker.DeleteWorkteam") == 2  # both runs' teams
    assert "cleaned up s3://rehearsal-gt-bucket/aws-rehearsal/" in done["text"]


def test_no_process_of_the_rehearsal_left_the_machine(rehearsal: dict[str, Any]) -> None:
    assert network_attempts(rehearsal["network_log"]) == []
    # and the guard was there: in the admin's checks, the kernels and the pods' executors
    loaded = guarded_processes(rehearsal["network_log"])
    assert any("helpers.checks" in p for p in loaded)
    assert sum("ipykernel_launcher" in p for p in loaded) >= 9  # one kernel per notebook run
    assert any("kfp.dsl.executor_main" in p for p in loaded)  # the components


def leftover_objects(rehearsal: dict[str, Any], prefix: str) -> list[str]:
    s3 = boto3.session.Session(region_name=REGION).client(
        "s3",
        endpoint_url=rehearsal["local_aws_url_for_checks"],
        aws_access_key_id="admin",
        aws_secret_access_key="admin",
    )
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/")
    return [o["Key"] for o in found.get("Contents", [])]


def test_the_smoke_run_asks_before_it_creates_anything(rehearsal: dict[str, Any]) -> None:
    refused = rehearsal["smoke-refused"]
    result = refused["result"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Ground Truth: 0.80 USD (10 objects x 0.08 USD" in result.stdout
    assert "pass --yes to confirm" in result.stderr and "Nothing was created." in result.stdout
    writes = [k for k in refused["counts"] if k.split(".")[1].startswith(("Create", "Put", "Copy"))]
    assert writes == [] and refused["kfp_requests"] == []


def test_the_smoke_run_runs_the_smallest_pipeline_and_removes_what_it_made(
    rehearsal: dict[str, Any],
) -> None:
    made = rehearsal["smoke"]
    result = made["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # 2 classes x 5 images, 2 examples, 2 x 2 held-out test images
    assert made["counts"].get("s3.CopyObject") == 10 + 2 + 4
    assert made["counts"].get("sagemaker.CreateLabelingJob") == 2
    assert made["counts"].get("sagemaker.CreateTrainingJob") == 1
    assert made["counts"].get("sagemaker.DeleteWorkteam") == 1
    assert rehearsal["leftovers"]["smoke"] == []
    deleted = [p for m, p in made["kfp_requests"] if m == "DELETE"]
    assert len(deleted) == 2 and "Deleted KFP run" in result.stdout


def test_a_failing_smoke_run_still_removes_what_it_made(rehearsal: dict[str, Any]) -> None:
    failed = rehearsal["smoke-failing"]
    result = failed["result"]
    assert result.returncode == 1
    assert "03_run_pipeline" in result.stdout and "FAILED" in result.stdout
    assert "labeling job mini-image-classification-demo-validation-" in result.stdout
    assert failed["counts"].get("sagemaker.DeleteWorkteam") == 1
    assert rehearsal["leftovers"]["smoke-failing"] == []
    assert "- 05_clean_up (" in result.stdout and "05_clean_up (" in result.stdout
