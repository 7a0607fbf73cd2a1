"""The pipeline: both component sets, the compiled DAG, and runs on the local AWS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from helpers import (
    components,
    dataset,
    following,
    local,
    local_runner,
    pipeline,
    planning,
    records,
    submission,
)
from helpers.components import python_set
from helpers.errors import WalkthroughError
from helpers.paths import project_root
from helpers.settings import load
from tests.support import SAGEMAKER_TRUST, prepare_run_inputs

REGION = "us-west-2"
BUCKET = "gt-pipeline-tests"
PREFIX = "pipeline-tests/demo"
GROUP = "pipeline-test-labelers"
#: The pipeline without predictions (`predictions=False`): as it was before them.
DAG_WITHOUT_PREDICTIONS = {
    "create-workteam": [],
    "label-train": ["create-workteam"],
    "label-validation": ["create-workteam"],
    "prepare-training": ["label-train", "label-validation"],
    "train": ["prepare-training"],
    "stop-run-jobs": ["train"],  # the exit handler's step, drawn after the last step
}
EXPECTED_DAG = {
    **DAG_WITHOUT_PREDICTIONS,
    "create-model": ["train"],
    "predict": ["create-model"],
    "evaluate": ["create-model", "predict", "train"],
    "stop-run-jobs": ["evaluate"],
}
#: Every step creates or changes AWS resources (evaluate writes artifacts from the run's
#: results): none may be replayed from KFP's cache.
SIDE_EFFECTING = set(EXPECTED_DAG)
#: The pipeline's parameters before predictions (what the pipeline without them still takes).
#: 40 before predictions, and ground_truth_enable_auto_labeling (automated data labeling)
PARAMETERS_WITHOUT_PREDICTIONS = 41


def compiled_dag(package: Path) -> tuple[dict[str, list[str]], dict[str, Any]]:
    deps, labels = pipeline.graph(package)
    named = {k: v.splitlines()[0] for k, v in labels.items()}
    spec = next(yaml.safe_load_all(package.read_text()))  # the platform spec may follow
    dags = [spec["root"]["dag"]] + [c["dag"] for c in spec["components"].values() if "dag" in c]
    tasks = {name: task for dag in dags for name, task in dag["tasks"].items() if name in named}
    return (
        {named[t]: sorted(named[d] for d in need) for t, need in deps.items()},
        {named[t]: task for t, task in tasks.items()},
    )


# --- compiling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "workteam",
        "ground_truth",
        "train",
        "prepare_training",
        "stop_run_jobs",
        "create_model",
        "batch_transform",
        "evaluate",
    ],
)
def test_the_two_component_sets_have_one_interface(name: str) -> None:
    official = components.interface(getattr(components.official(), name))
    python = components.interface(getattr(components.python(), name))
    assert official == python
    artifacts = {"model": "system.Model@0.0.1", "metrics": "system.Metrics@0.0.1"}
    artifacts["confusion_matrix"] = "system.ClassificationMetrics@0.0.1"
    for output, kind in official["outputs"].items():
        if name == "evaluate" and output in artifacts:  # KFP artifacts, for the KFP UI
            assert kind == artifacts[output]
        else:  # typed, not artifacts
            assert kind in ("String", "Integer", "Float", "Dict", "List"), (output, kind)
    if name == "evaluate":
        assert set(official["outputs"]) == {*artifacts, "test_accuracy", "test_images"}


@pytest.mark.parametrize(
    "parts", [components.official, components.python], ids=["official", "python"]
)
def test_both_sets_compile_to_the_upstream_dag_with_caching_off(parts: Any, tmp_path: Path) -> None:
    package = pipeline.compile_pipeline(parts(), tmp_path / "p.yaml")
    dag, tasks = compiled_dag(package)
    assert dag == EXPECTED_DAG
    assert set(tasks) == SIDE_EFFECTING
    stop = tasks[pipeline.EXIT_TASK]["inputs"]["parameters"]["transform_job_name"]
    assert stop["componentInputParameter"].endswith("transform_job_name")
    for name, task in tasks.items():
        assert not task.get("cachingOptions", {}).get("enableCache"), name
    root = yaml.safe_load(package.read_text())["root"]["dag"]["tasks"]
    (exit_task,) = [t for t in root.values() if t["taskInfo"]["name"] == pipeline.EXIT_TASK]
    assert exit_task["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    for split, other in (("train", "validation"), ("validation", "train")):
        # each labeling task watches the other's job
        watch = tasks[f"label-{split}"]["inputs"]["parameters"]["watch_job_names"]
        assert watch["componentInputParameter"].endswith(f"ground_truth_{other}_job_name")


def test_official_tasks_run_the_official_image(tmp_path: Path) -> None:
    package = pipeline.compile_pipeline(components.official(), tmp_path / "p.yaml")
    executors = yaml.safe_load(package.read_text())["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values()} == {components.OFFICIAL_IMAGE}
    programs = {
        e["container"]["args"][0]
        for e in executors.values()
        if e["container"].get("command") == ["python3"]
    }
    assert programs == {
        "workteam/src/sagemaker_workteam_component.py",
        "train/src/sagemaker_training_component.py",
        "model/src/sagemaker_model_component.py",
        "batch_transform/src/sagemaker_transform_component.py",
    }
    ours = [
        e["container"]
        for e in executors.values()
        if e["container"]["command"][:2] == ["python3", "-c"]
    ]
    assert sorted(c["command"][2] for c in ours) == sorted(
        [components.program_source(f) for f in components.PROGRAMS]
        + [components.watcher_source()] * 2
    )


#: The flags the official Ground Truth program took from our spec before it ran under the watcher.
OFFICIAL_GROUND_TRUTH_INPUTS = [
    "region",
    "endpoint_url",
    "assume_role",
    "tags",
    "role",
    "job_name",
    "label_attribute_name",
    "manifest_location",
    "output_location",
    "output_encryption_key",
    "task_type",
    "worker_type",
    "workteam_arn",
    "no_adult_content",
    "no_ppi",
    "label_category_config",
    "max_human_labeled_objects",
    "max_percent_objects",
    "enable_auto_labeling",
    "initial_model_arn",
    "resource_encryption_key",
    "ui_template",
    "pre_human_task_function",
    "post_human_task_function",
    "task_keywords",
    "title",
    "description",
    "num_workers_per_object",
    "time_limit",
    "task_availibility",
    "max_concurrent_tasks",
    "workforce_task_price",
]


def test_the_official_ground_truth_program_gets_the_same_flags_under_the_watcher(
    tmp_path: Path,
) -> None:
    from helpers.components.ground_truth_watch import split_arguments

    package = pipeline.compile_pipeline(components.official(), tmp_path / "p.yaml")
    executors = yaml.safe_load(package.read_text())["deploymentSpec"]["executors"]
    watched = [
        e["container"]
        for e in executors.values()
        if e["container"]["command"] == ["python3", "-c", components.watcher_source()]
    ]
    assert len(watched) == 2  # label-train and label-validation
    for container in watched:
        options, program, flags = split_arguments(container["args"])
        assert options == {"watch_job_names": "{{$.inputs.parameters['watch_job_names']}}"}
        assert program == "ground_truth/src/sagemaker_ground_truth_component.py"
        expected = [
            part
            for name in OFFICIAL_GROUND_TRUTH_INPUTS
            for part in (f"--{name}", f"{{{{$.inputs.parameters['{name}']}}}}")
        ] + [
            part
            for name in ("output_manifest_location", "active_learning_model_arn")
            for part in (
                f"--{name}_output_path",
                f"{{{{$.outputs.parameters['{name}'].output_file}}}}",
            )
        ]
        assert flags == expected


def test_no_official_step_installs_anything_or_runs_the_kfp_executor(tmp_path: Path) -> None:
    """The official image has Python 3.7: kfp 2.x cannot be installed or run there."""
    package = pipeline.compile_pipeline(components.official(), tmp_path / "p.yaml")
    executors = yaml.safe_load(package.read_text())["deploymentSpec"]["executors"]
    on_official = [
        e["container"]
        for e in executors.values()
        if e["container"]["image"] == components.OFFICIAL_IMAGE
    ]
    assert len(on_official) == len(executors) == 9
    given_executor_input = []
    for container in on_official:
        command = " ".join(str(x) for x in container.get("command", []) + container.get("args", []))
        for forbidden in ("pip install", "executor_main", "kfp=="):
            assert forbidden not in command, (forbidden, command[:300])
        if "--executor_input" in container.get("args", []):
            given_executor_input.append(container["command"][2])
    # only evaluate takes KFP's executor input, read by our program, not by KFP's executor
    assert given_executor_input == [components.program_source(python_set.evaluate)]


def test_without_predictions_the_pipeline_is_as_before(tmp_path: Path) -> None:
    for parts in (components.official(), components.python()):
        package = pipeline.compile_pipeline(parts, tmp_path / "p.yaml", predictions=False)
        dag, tasks = compiled_dag(package)
        assert dag == DAG_WITHOUT_PREDICTIONS
        spec = yaml.safe_load(package.read_text())
        parameters = spec["root"]["inputDefinitions"]["parameters"]
        assert len(parameters) == PARAMETERS_WITHOUT_PREDICTIONS
        assert not set(parameters) & set(pipeline.PREDICTION_PARAMETERS)
        assert "transform_job_name" not in tasks[pipeline.EXIT_TASK]["inputs"]["parameters"]
        assert spec["pipelineInfo"]["description"] == pipeline.DESCRIPTION
        with_them = pipeline.compile_pipeline(parts, tmp_path / "q.yaml")
        added = yaml.safe_load(with_them.read_text())["root"]["inputDefinitions"]["parameters"]
        assert set(added) - set(parameters) == set(pipeline.PREDICTION_PARAMETERS)


def test_the_predict_task_asks_for_one_image_per_request_and_json_answers(
    tmp_path: Path,
) -> None:
    for parts in (components.official(), components.python()):
        package = pipeline.compile_pipeline(parts, tmp_path / "p.yaml")
        given = compiled_dag(package)[1]["predict"]["inputs"]["parameters"]
        constants = {
            k: v["runtimeValue"]["constant"] for k, v in given.items() if "runtimeValue" in v
        }
        assert constants == {
            "content_type": "application/x-image",
            "accept": "application/json",
            "batch_strategy": "SingleRecord",
            "split_type": "None",
            "compression_type": "None",
            "join_source": "None",
            "data_type": "S3Prefix",
            "max_payload": 6,
            "instance_count": 1,
        }
        for name, parameter in (
            ("input_location", "transform_input_location"),
            ("output_location", "transform_output_location"),
            ("instance_type", "transform_instance_type"),
            ("job_name", "transform_job_name"),
        ):
            assert given[name]["componentInputParameter"].endswith(parameter)


def test_dsl_compile_works_as_upstream_documents(tmp_path: Path) -> None:
    out = tmp_path / "mini-image-classification-pipeline.yaml"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dsl-compile"),
            "--py",
            str(project_root() / "helpers" / "pipeline.py"),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert compiled_dag(out)[0] == EXPECTED_DAG


def test_a_kubernetes_secret_can_carry_the_credentials(tmp_path: Path) -> None:
    package = pipeline.compile_pipeline(
        components.official(), tmp_path / "p.yaml", aws_secret="aws-secret"
    )
    documents = list(yaml.safe_load_all(package.read_text()))
    platform = json.dumps(documents[1])
    assert platform.count('"secretName": "aws-secret"') == 9
    assert "AWS_SECRET_ACCESS_KEY" in platform


# --- the Label Studio pipeline --------------------------------------------------------------------


@pytest.mark.parametrize(
    "parts", [components.official, components.python], ids=["official", "python"]
)
def test_with_label_studio_the_labeling_steps_replace_workteam_and_ground_truth(
    parts: Any, tmp_path: Path
) -> None:
    package = pipeline.compile_pipeline(
        parts(), tmp_path / "p.yaml", labeling="label_studio", label_studio_secret="ls/api-token"
    )
    dag, _ = compiled_dag(package)
    expected = {k: [d for d in v if d != "create-workteam"] for k, v in EXPECTED_DAG.items()}
    del expected["create-workteam"]
    assert dag == expected
    documents = list(yaml.safe_load_all(package.read_text()))
    spec = documents[0]
    root = spec["root"]["dag"]["tasks"]
    inner = [c for c in spec["components"].values() if "dag" in c][0]["dag"]["tasks"]
    labeling = [t for t in inner.values() if t["taskInfo"]["name"].startswith("label-")]
    assert len(labeling) == 2
    assert all(t["componentRef"]["name"].startswith("comp-label-studio") for t in labeling)
    assert "label_studio_url" in spec["root"]["inputDefinitions"]["parameters"]
    assert not set(spec["root"]["inputDefinitions"]["parameters"]) & set(
        pipeline.GROUND_TRUTH_PARAMETERS
    )
    # the exit handler stops no labeling job: Label Studio's projects are not SageMaker's
    (stop,) = [t for t in root.values() if t["taskInfo"]["name"] == pipeline.EXIT_TASK]
    for name in ("train_job_name", "validation_job_name"):
        assert stop["inputs"]["parameters"][name]["runtimeValue"]["constant"] == ""
    # the token: from the secret, as LABEL_STUDIO_API_KEY, in the labeling steps only
    executors = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    with_secret = {
        name: spec_["secretAsEnv"] for name, spec_ in executors.items() if "secretAsEnv" in spec_
    }
    labeling_executors = {
        spec["components"][t["componentRef"]["name"]]["executorLabel"] for t in labeling
    }
    assert set(with_secret) == labeling_executors
    for (entry,) in with_secret.values():
        assert entry["keyToEnv"] == [{"envVar": "LABEL_STUDIO_API_KEY", "secretKey": "api-token"}]
        assert "ls" in (entry.get("secretName"), json.dumps(entry.get("secretNameParameter")))


def test_without_a_secret_the_label_studio_pipeline_maps_no_token(tmp_path: Path) -> None:
    package = pipeline.compile_pipeline(
        components.official(), tmp_path / "p.yaml", labeling="label_studio", predictions=False
    )
    documents = list(yaml.safe_load_all(package.read_text()))
    assert "LABEL_STUDIO_API_KEY" not in json.dumps(documents[1:])
    parameters = documents[0]["root"]["inputDefinitions"]["parameters"]
    assert len(parameters) == PARAMETERS_WITHOUT_PREDICTIONS - len(
        pipeline.GROUND_TRUTH_PARAMETERS
    ) + len(pipeline.LABEL_STUDIO_PARAMETERS)


def test_the_ground_truth_pipeline_is_untouched_by_the_label_studio_options(
    tmp_path: Path,
) -> None:
    for parts in (components.official(), components.python()):
        plain = pipeline.compile_pipeline(parts, tmp_path / "plain.yaml")
        chosen = pipeline.compile_pipeline(
            parts, tmp_path / "chosen.yaml", labeling="ground_truth", label_studio_secret="ls"
        )

        def body(path: Path) -> str:  # the header comment lists a dict default in any order
            return "".join(
                line for line in path.read_text().splitlines(True) if not line.startswith("#")
            )

        assert body(plain) == body(chosen)
        text = body(plain).lower()
        assert "label_studio" not in text and "label-studio" not in text
        assert "create-workteam" in text
    with pytest.raises(ValueError, match="labeling must be one of"):
        pipeline.build(components.official(), labeling="labelbox")


def test_the_label_studio_step_ships_only_what_it_imports(tmp_path: Path) -> None:
    """Its embedded package imports with the standard library, boto3 and numpy only."""
    import base64
    import gzip
    import io
    import re
    import tarfile

    package = pipeline.compile_pipeline(
        components.python(), tmp_path / "p.yaml", labeling="label_studio"
    )
    spec = yaml.safe_load(package.read_text())
    executor = spec["deploymentSpec"]["executors"]["exec-label-studio"]["container"]
    source = executor["command"][-1]
    assert "numpy" in " ".join(executor["command"]) and "boto3" in " ".join(executor["command"])
    archive = re.search(r"__KFP_EMBEDDED_ARCHIVE_B64 = '([^']+)'", source).group(1)
    shipped = tmp_path / "shipped"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(base64.b64decode(archive)))) as tar:
        tar.extractall(shipped, filter="data")
    names = sorted(str(p.relative_to(shipped)) for p in shipped.rglob("*.py"))
    assert "helpers/labelstudio/step.py" in names and "helpers/components" not in str(names)
    # numpy and boto3 (with their dependencies) only, beside the standard library
    import boto3 as boto3_module
    import numpy

    site = Path(numpy.__file__).parent.parent
    allowed = tmp_path / "site"
    allowed.mkdir()
    for name in ("numpy", "numpy.libs", "boto3", "botocore", "s3transfer", "jmespath",
                 "dateutil", "urllib3", "six.py"):  # fmt: skip
        if (site / name).exists():
            (allowed / name).symlink_to(site / name)
    assert Path(boto3_module.__file__).parent.parent == site
    check = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "from helpers.labelstudio import step, output, config, api\n"
        "import helpers.local.standins.dawid_skene as ds\n"
        "assert ds.consolidate([(0, 'a', 1)], 2)[0].confidence == 0.0\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('kfp', 'pandas', 'yaml')]\n"
        "assert not bad, bad\n"
        "print(step.Job.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", check, str(shipped), str(allowed)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Job"


# --- on the local AWS -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(local_aws_url: str) -> dict[str, Any]:
    """Inputs staged as notebook 01 does, an execution role, a read-only role, and labelers."""
    found = prepare_run_inputs(
        BUCKET, PREFIX, "pipeline-tests-execution", GROUP, ["pipe-a", "pipe-b", "pipe-c"]
    )
    iam = found["aws"].client("iam")
    iam.create_role(RoleName="pipeline-tests-read-only", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    iam.put_role_policy(
        RoleName="pipeline-tests-read-only",
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    return found


def test_the_pipeline_runs_end_to_end_on_the_local_aws(prepared: dict[str, Any]) -> None:
    settings, aws = prepared["settings"], prepared["aws"]
    submitted = submission.submit_or_resume(settings, aws)
    assert not submitted.resumed
    state = following.follow(aws, submitted.record, submitted.finished, poll_seconds=0.3)
    produced = following.outputs(state)
    assert produced["workteam ARN"].endswith(f"/private-crowd/{submitted.record.names['team']}")
    assert state.training["TrainingJobStatus"] == "Completed"
    bucket, key = produced["model artifact"][5:].split("/", 1)
    assert aws.client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    hyperparameters = state.training["HyperParameters"]
    assert hyperparameters["num_classes"] == "2"
    assert hyperparameters["num_training_samples"] == str(
        (prepared["chosen"]["split"] == "train").sum()
    )
    tags = aws.client("sagemaker").list_tags(ResourceArn=state.training["TrainingJobArn"])["Tags"]
    assert {"Key": "walkthrough-run", "Value": submitted.record.run_id} in tags
    assert records.latest_record(aws.client("s3"), settings).run_id == submitted.record.run_id
    # the exit handler ran, and after a successful run found nothing to stop
    assert (
        "Nothing of this run was still running."
        in local_runner.log_path(submitted.record.run_id).read_text()
    )


def test_running_again_follows_the_recorded_run(
    prepared: dict[str, Any], local_aws_url: str
) -> None:
    settings, aws = prepared["settings"], prepared["aws"]
    local.reset_request_counts(local_aws_url)
    again = submission.submit_or_resume(settings, aws)
    assert again.resumed
    following.follow(aws, again.record, again.finished, poll_seconds=0.1)
    counts = local.request_counts(local_aws_url)
    assert not [k for k in counts if k.startswith("sagemaker.Create")]


def test_a_failed_labeling_job_fails_the_run_with_its_reason(prepared: dict[str, Any]) -> None:
    settings = load(
        {
            **prepared["settings"].to_dict(),
            "new_run": True,
            "role_arn": "arn:aws:iam::123456789012:role/pipeline-tests-read-only",
        },
        env={},
    )
    submitted = submission.submit_or_resume(settings, prepared["aws"])
    with pytest.raises(WalkthroughError) as err:
        following.follow(prepared["aws"], submitted.record, submitted.finished, poll_seconds=0.3)
    assert "failed" in str(err.value) and "s3:PutObject" in str(err.value)


def _task_processes(runner: int, job_name: str) -> list[int]:
    """The processes under the local runner that run the KFP task for `job_name`."""

    def parent(pid: int) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])

    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
            pid = int(entry.name)
            chain, up = [], pid
            while up > 1 and len(chain) < 10:
                up = parent(up)
                chain.append(up)
        except (OSError, ValueError, IndexError):
            continue
        if runner in chain and job_name in command and "executor_main" in command:
            found.append(pid)
    return found


def _wait_until_ended(sagemaker: Any, name: str) -> dict[str, Any]:
    """The labeling job's description once it is no longer Stopping."""
    deadline = time.monotonic() + 60
    while True:
        job = sagemaker.describe_labeling_job(LabelingJobName=name)
        if job["LabelingJobStatus"] != "Stopping":
            return job
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_when_a_labeling_job_fails_the_other_labeling_task_stops_its_job(
    prepared: dict[str, Any], local_aws_url: str
) -> None:
    """Defect 9: one labeling job fails (forced); the run's other labeling job must not go on.

    kfp.local runs the two labeling tasks one after the other, in an order that varies from run to
    run (a cluster runs them at once, and does not stop the sibling task when one fails): the
    first one's job is made to fail; the second task watches it, finds it failed, stops its own
    job and fails naming the first job's failure.
    """
    jobs = {"train": "sibling-tests-train", "validation": "sibling-tests-validation"}
    names = {
        "ground_truth_train_job_name": jobs["train"],
        "ground_truth_validation_job_name": jobs["validation"],
        "team_name": "sibling-tests-team",
    }
    settings = load({**prepared["settings"].to_dict(), "new_run": True, **names}, env={})
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    local.set_faults(local_aws_url, fail_jobs=["sibling-tests-*"])  # the first job created
    local.drive_clock(local_aws_url, speed=10)
    try:
        submitted = submission.submit_or_resume(settings, prepared["aws"])
        deadline = time.monotonic() + 120
        created: list[str] = []
        while not created:
            assert time.monotonic() < deadline and submitted.finished() is None
            found = sagemaker.list_labeling_jobs(NameContains="sibling-tests-")
            created = [j["LabelingJobName"] for j in found["LabelingJobSummaryList"]]
            time.sleep(0.1)
        local.clear_faults(local_aws_url)  # the second is created once the first has failed
        with pytest.raises(WalkthroughError) as err:
            following.follow(
                prepared["aws"], submitted.record, submitted.finished, poll_seconds=0.3
            )
        assert submitted.finished() is False
    finally:
        local.clear_faults(local_aws_url)
        local.drive_clock(local_aws_url, speed=100)
    (first,) = created
    (split,) = [s for s, name in jobs.items() if name == first]
    (second,) = [name for name in jobs.values() if name != first]
    assert f"labeling job {first} ({split}) failed: InternalServerError" in str(err.value)
    assert sagemaker.describe_labeling_job(LabelingJobName=first)["LabelingJobStatus"] == "Failed"
    from helpers import local_runner

    if not local_runner.exit_handler_runs_after_failure():
        # kfp 2.16's kfp.local runs no other task after a failed one: the second job never starts
        assert not sagemaker.list_labeling_jobs(NameContains=second)["LabelingJobSummaryList"]
        return
    assert _wait_until_ended(sagemaker, second)["LabelingJobStatus"] == "Stopped"
    log = local_runner.log_path(submitted.record.run_id).read_text()
    assert (
        f"Labeling job {second} stopped because the run's other labeling job {first} failed: "
        "InternalServerError"
    ) in log
    training = submitted.record.names["training_job"]
    assert not sagemaker.list_training_jobs(NameContains=training)["TrainingJobSummaries"]


def test_a_run_s_failure_names_the_failed_job_before_the_one_stopped_for_it() -> None:
    state = following.RunState(
        labeling={
            "train": {
                "LabelingJobName": "a-train",
                "LabelingJobStatus": "Stopped",
                "FailureReason": "",
            },
            "validation": {
                "LabelingJobName": "a-validation",
                "LabelingJobStatus": "Failed",
                "FailureReason": "ClientError: denied",
            },
        }
    )
    assert state.failure() == "labeling job a-validation (validation) failed: ClientError: denied"


def test_when_a_labeling_task_is_killed_the_exit_handler_stops_its_job(
    prepared: dict[str, Any], local_aws_url: str
) -> None:
    """Defect 9: a terminated run's pods go away while their jobs run; the exit handler stops them.

    kfp.local runs the labeling tasks one after the other, in either order; here the second one
    is killed while its job runs, as a cluster kills a run's pods when it is terminated. The run
    ends failed and its exit handler stops that job.
    """
    jobs = ("exit-tests-train", "exit-tests-validation")
    names = {
        "ground_truth_train_job_name": jobs[0],
        "ground_truth_validation_job_name": jobs[1],
        "team_name": "exit-tests-team",
    }
    settings = load({**prepared["settings"].to_dict(), "new_run": True, **names}, env={})
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    local.drive_clock(local_aws_url, speed=10)  # slow enough to find the second job running
    try:
        submitted = submission.submit_or_resume(settings, prepared["aws"])
        runner = submitted.record.extra["pid"]
        deadline = time.monotonic() + 120
        created: list[str] = []
        while True:
            assert time.monotonic() < deadline and submitted.finished() is None
            found = sagemaker.list_labeling_jobs(NameContains="exit-tests-")
            for job in sorted(found["LabelingJobSummaryList"], key=lambda j: j["CreationTime"]):
                if job["LabelingJobName"] not in created:
                    created.append(job["LabelingJobName"])
            if len(created) == 2:
                second = created[1]
                tasks = _task_processes(runner, second)
                status = sagemaker.describe_labeling_job(LabelingJobName=second)
                if tasks and status["LabelingJobStatus"] == "InProgress":
                    break
            time.sleep(0.2)
        for pid in tasks:  # the task's pod goes away; its job would go on
            os.kill(pid, signal.SIGKILL)
        while submitted.finished() is None:
            assert time.monotonic() < deadline + 120
            time.sleep(0.3)
        assert submitted.finished() is False
    finally:
        local.drive_clock(local_aws_url, speed=100)
    first = created[0]
    assert sagemaker.describe_labeling_job(LabelingJobName=first)["LabelingJobStatus"] == (
        "Completed"
    )
    assert _wait_until_ended(sagemaker, second)["LabelingJobStatus"] == "Stopped"
    log = local_runner.log_path(submitted.record.run_id).read_text()
    assert f"Stopped what was still running: labeling job {second}" in log
    training = submitted.record.names["training_job"]
    assert not sagemaker.list_training_jobs(NameContains=training)["TrainingJobSummaries"]


def test_prepare_training_leaves_out_objects_that_failed_labeling(prepared: dict[str, Any]) -> None:
    s3 = prepared["aws"].client("s3")
    base = f"s3://{BUCKET}/{PREFIX}/prepare-test"
    good = {
        "source-ref": "s3://b/x.jpg",
        "category": 1,
        "category-metadata": {"class-name": "Fruit"},
    }
    failed = {
        "source-ref": "s3://b/y.jpg",
        "category-metadata": {"failure-reason": "ClientError: expired"},
    }
    for name, lines in (("train", [good, failed, good]), ("validation", [good, failed])):
        s3.put_object(
            Bucket=BUCKET,
            Key=f"{PREFIX}/prepare-test/{name}.manifest",
            Body="".join(json.dumps(x) + "\n" for x in lines).encode(),
        )
    result = python_set.prepare_training(
        region=REGION,
        train_manifest=f"{base}/train.manifest",
        validation_manifest=f"{base}/validation.manifest",
        label_category_config=f"s3://{BUCKET}/{PREFIX}/class_labels.json",
        label_attribute_name="category",
        training_input_location=f"{base}/channels",
        hyperparameters={"epochs": "2"},
    )
    assert (result.num_training_samples, result.num_classes) == (2, 2)
    assert result.hyperparameters == {
        "epochs": "2",
        "num_classes": "2",
        "num_training_samples": "2",
    }
    train = [c for c in result.channels if c["ChannelName"] == "train"][0]
    body = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/prepare-test/channels/train.manifest")
    assert train["DataSource"]["S3DataSource"]["S3Uri"] == f"{base}/channels/train.manifest"
    assert len(body["Body"].read().decode().splitlines()) == 2
    with pytest.raises(ValueError, match="num_classes=5 does not match"):
        python_set.prepare_training(
            region=REGION,
            train_manifest=f"{base}/train.manifest",
            validation_manifest=f"{base}/validation.manifest",
            label_category_config=f"s3://{BUCKET}/{PREFIX}/class_labels.json",
            label_attribute_name="category",
            training_input_location=f"{base}/channels",
            hyperparameters={"num_classes": "5"},
        )


def ground_truth_arguments(prepared: dict[str, Any], job: str, team_arn: str) -> dict[str, Any]:
    staged = dataset.input_uris(prepared["settings"])
    return {
        "region": REGION,
        "role": prepared["settings"].role_arn,
        "manifest_location": staged.validation_manifest,
        "output_location": f"s3://{BUCKET}/{PREFIX}/component-tests",
        "task_type": "image classification",
        "worker_type": "private",
        "ui_template": staged.ui_template,
        "title": "t",
        "description": "d",
        "num_workers_per_object": 3,
        "time_limit": 300,
        "job_name": job,
        "label_attribute_name": "category",
        "workteam_arn": team_arn,
        "label_category_config": staged.label_config,
        "task_availibility": 86400,
        "tags": {"walkthrough-run": "component-tests"},
    }


@pytest.fixture(scope="module")
def team_arn(prepared: dict[str, Any]) -> str:
    pool, client_id = planning.workforce_cognito(prepared["aws"], prepared["settings"])
    return python_set.create_workteam(
        region=REGION,
        team_name="component-tests-team",
        description="d",
        user_pool=pool,
        user_groups=GROUP,
        client_id=client_id,
        tags={"walkthrough-run": "component-tests"},
    ).workteam_arn


def test_a_retried_create_attaches_to_the_same_job(prepared: dict[str, Any], team_arn: str) -> None:
    pool, client_id = planning.workforce_cognito(prepared["aws"], prepared["settings"])
    again = python_set.create_workteam(
        region=REGION,
        team_name="component-tests-team",
        description="d",
        user_pool=pool,
        user_groups=GROUP,
        client_id=client_id,
        tags={"walkthrough-run": "component-tests"},
    )
    assert again.workteam_arn == team_arn
    with pytest.raises(RuntimeError, match="not created by this run"):
        python_set.create_workteam(
            region=REGION,
            team_name="component-tests-team",
            description="d",
            user_pool=pool,
            user_groups=GROUP,
            client_id=client_id,
            tags={"walkthrough-run": "another-run"},
        )
    arguments = ground_truth_arguments(prepared, "component-tests-retry", team_arn)
    first = python_set.ground_truth(**arguments)
    second = python_set.ground_truth(**arguments)
    assert first.output_manifest_location == second.output_manifest_location
    with pytest.raises(RuntimeError, match="already exists with another request"):
        python_set.ground_truth(**{**arguments, "output_location": f"s3://{BUCKET}/elsewhere"})


def test_a_cancelled_component_stops_its_job(
    prepared: dict[str, Any], team_arn: str, local_aws_url: str
) -> None:
    arguments = ground_truth_arguments(prepared, "component-tests-cancelled", team_arn)
    local.drive_clock(local_aws_url, speed=1)  # slow enough to cancel mid-way
    try:
        code = (
            "import json, sys; from helpers.components import python_set; "
            "python_set.ground_truth(**json.loads(sys.argv[1]))"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(arguments)],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            text=True,
        )
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        waiting = threading.Event()

        def read() -> None:
            for line in child.stdout or ():
                if " labeled, " in line:  # its first progress line: the SIGTERM handler is set
                    waiting.set()

        threading.Thread(target=read, daemon=True).start()
        assert waiting.wait(60), "the component never reached its wait loop"
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
    finally:
        local.drive_clock(local_aws_url, speed=100)
    status = sagemaker.describe_labeling_job(LabelingJobName="component-tests-cancelled")
    assert status["LabelingJobStatus"] in ("Stopping", "Stopped")
    assert child.returncode != 0


def test_the_exit_program_stops_a_running_job_under_python_37(
    prepared: dict[str, Any], team_arn: str, local_aws_url: str, tmp_path: Path
) -> None:
    """The official set's stop-run-jobs, run as on the official image (Python 3.7, boto3 1.14),
    stops a running labeling job; the task waiting on that job then fails with the reason."""
    from tests.test_official_programs import needs_python37, run37

    needs_python37()
    arguments = ground_truth_arguments(prepared, "component-tests-exit", team_arn)
    local.drive_clock(local_aws_url, speed=5)  # slow enough to find it running
    try:
        code = (
            "import json, sys; from helpers.components import python_set; "
            "python_set.ground_truth(**json.loads(sys.argv[1]))"
        )
        task = subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(arguments)],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        deadline = time.monotonic() + 60
        while True:
            try:
                job = sagemaker.describe_labeling_job(LabelingJobName="component-tests-exit")
                if job["LabelingJobStatus"] == "InProgress":
                    break
            except sagemaker.exceptions.ResourceNotFound:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
        flags = {
            "region": REGION,
            "train_job_name": "component-tests-exit",
            "validation_job_name": "component-tests-never-created",
            "training_job_name": "component-tests-no-training",
        }
        done = run37("stop_run_jobs", local_aws_url, flags, [], tmp_path)
        assert done.returncode == 0, done.stderr
        assert "Stopped what was still running: labeling job component-tests-exit" in done.stdout
        output, _ = task.communicate(timeout=60)
    finally:
        local.drive_clock(local_aws_url, speed=100)
    assert task.returncode != 0 and "component-tests-exit stopped" in output
    job = sagemaker.describe_labeling_job(LabelingJobName="component-tests-exit")
    assert job["LabelingJobStatus"] == "Stopped"


def create_labeling_job(prepared: dict[str, Any], name: str, team_arn: str) -> None:
    """Create a labeling job as the components do (for a watched sibling, or a job to watch)."""
    arguments = ground_truth_arguments(prepared, name, team_arn)
    lambdas = f"arn:aws:lambda:{REGION}:081040173940:function:"
    boto3.client("sagemaker", region_name=REGION).create_labeling_job(
        LabelingJobName=name,
        LabelAttributeName="category",
        InputConfig={
            "DataSource": {"S3DataSource": {"ManifestS3Uri": arguments["manifest_location"]}}
        },
        OutputConfig={"S3OutputPath": arguments["output_location"]},
        RoleArn=arguments["role"],
        LabelCategoryConfigS3Uri=arguments["label_category_config"],
        HumanTaskConfig={
            "WorkteamArn": team_arn,
            "UiConfig": {"UiTemplateS3Uri": arguments["ui_template"]},
            "PreHumanTaskLambdaArn": f"{lambdas}PRE-ImageMultiClass",
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": f"{lambdas}ACS-ImageMultiClass"
            },
        },
        Tags=[{"Key": "walkthrough-run", "Value": "component-tests"}],
    )


def test_the_python_component_stops_its_job_when_the_watched_job_failed(
    prepared: dict[str, Any], team_arn: str, local_aws_url: str
) -> None:
    """Defect 9, Python set: the other labeling job of the run fails while this one runs."""
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    local.set_faults(local_aws_url, fail_jobs=["watch-tests-python-sibling"])
    local.drive_clock(local_aws_url, speed=5)  # this job is still running when the other fails
    try:
        create_labeling_job(prepared, "watch-tests-python-sibling", team_arn)
        arguments = ground_truth_arguments(prepared, "watch-tests-python", team_arn)
        with pytest.raises(RuntimeError) as err:
            python_set.ground_truth(
                **arguments, watch_job_names="watch-tests-python-sibling, watch-tests-python"
            )
    finally:
        local.clear_faults(local_aws_url)
        local.drive_clock(local_aws_url, speed=100)
    assert str(err.value).startswith(
        "Labeling job watch-tests-python stopped because the run's other labeling job "
        "watch-tests-python-sibling failed: InternalServerError"
    )
    assert _wait_until_ended(sagemaker, "watch-tests-python")["LabelingJobStatus"] == "Stopped"


#: A stand-in for the official Ground Truth program (not here): it prints the flags it got and
#: waits for its job as the 1.1.2 program does (Completed: exit 0; Failed or Stopped: exit 1).
FAKE_OFFICIAL_PROGRAM = """
import json, signal, sys, time
import boto3
print("official program flags: " + json.dumps(sys.argv[1:]), flush=True)
given = dict(zip(sys.argv[1::2], sys.argv[2::2]))
sagemaker = boto3.session.Session(region_name=given["--region"]).client(
    "sagemaker", endpoint_url=given["--endpoint_url"]
)
def stop(signum, frame):  # as the official program does on SIGTERM: stop the job, keep waiting
    print("official program: SIGTERM, stopping the job", flush=True)
    sagemaker.stop_labeling_job(LabelingJobName=given["--job_name"])
signal.signal(signal.SIGTERM, stop)
while True:
    status = sagemaker.describe_labeling_job(LabelingJobName=given["--job_name"])[
        "LabelingJobStatus"
    ]
    if status == "Completed":
        sys.exit(0)
    if status in ("Failed", "Stopped") and given.get("--before_1_1_2") != "true":
        print("official program: the job is " + status, flush=True)
        sys.exit(1)
    time.sleep(0.3)  # before 1.1.2 the official program waited on a Stopped job for ever
"""


def watcher37(
    folder: Path, url: str, job: str, watch: str, grace: float = 30, before_1_1_2: bool = False
) -> tuple[list[str], list[str]]:
    """The official set's labeling step as the image runs it, with the stand-in program; and the
    flags the program must get."""
    from tests.test_official_programs import PYTHON37

    fake = folder / "sagemaker_ground_truth_component.py"
    fake.write_text(FAKE_OFFICIAL_PROGRAM)
    flags = ["--region", REGION, "--endpoint_url", url, "--job_name", job, "--title", "a b"]
    if before_1_1_2:
        flags += ["--before_1_1_2", "true"]
    command = [str(PYTHON37), "-c", components.watcher_source(), "--watch_job_names", watch]
    command += ["--poll_seconds", "0.3", "--grace_seconds", str(grace), str(fake), *flags]
    return command, flags


def run_watcher37(folder: Path, url: str, job: str, watch: str, **options: Any) -> Any:
    """Run the official set's labeling step to its end; check the program got its flags."""
    from tests.test_official_programs import env37

    command, flags = watcher37(folder, url, job, watch, **options)
    done = subprocess.run(
        command, env=env37(), capture_output=True, text=True, timeout=120, check=False
    )
    assert f"official program flags: {json.dumps(flags)}" in done.stdout, done.stdout
    return done


def test_the_official_labeling_step_stops_its_job_when_the_watched_job_failed(
    prepared: dict[str, Any], team_arn: str, local_aws_url: str, tmp_path: Path
) -> None:
    """Defect 9, official set: our watcher (Python 3.7, boto3 1.14) runs the official program
    with its flags untouched, stops the job when the other labeling job failed, exits non-zero."""
    from tests.test_official_programs import needs_python37

    needs_python37()
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    local.set_faults(local_aws_url, fail_jobs=["watch-tests-official-sibling"])
    local.drive_clock(local_aws_url, speed=5)  # this job is still running when the other fails
    try:
        create_labeling_job(prepared, "watch-tests-official-sibling", team_arn)
        create_labeling_job(prepared, "watch-tests-official", team_arn)
        done = run_watcher37(
            tmp_path, local_aws_url, "watch-tests-official", "watch-tests-official-sibling"
        )
    finally:
        local.clear_faults(local_aws_url)
        local.drive_clock(local_aws_url, speed=100)
    assert done.returncode == 1, done.stderr
    assert (
        "Labeling job watch-tests-official stopped because the run's other labeling job "
        "watch-tests-official-sibling failed: InternalServerError"
    ) in done.stderr
    # the program saw its job stopped and exited by itself (the grace was not needed)
    assert "official program: the job is Stopped" in done.stdout
    assert "did not exit" not in done.stdout
    assert (
        sagemaker.describe_labeling_job(LabelingJobName="watch-tests-official")["LabelingJobStatus"]
        == "Stopped"
    )


def test_the_official_labeling_step_ends_a_program_that_waits_on_its_stopped_job(
    prepared: dict[str, Any], team_arn: str, local_aws_url: str, tmp_path: Path
) -> None:
    """A program that does not exit once its job is Stopped gets SIGTERM after the grace."""
    from tests.test_official_programs import needs_python37

    needs_python37()
    local.set_faults(local_aws_url, fail_jobs=["watch-tests-waiting-sibling"])
    local.drive_clock(local_aws_url, speed=5)  # this job is still running when the other fails
    try:
        create_labeling_job(prepared, "watch-tests-waiting-sibling", team_arn)
        create_labeling_job(prepared, "watch-tests-waiting", team_arn)
        done = run_watcher37(
            tmp_path,
            local_aws_url,
            "watch-tests-waiting",
            "watch-tests-waiting-sibling",
            grace=1,
            before_1_1_2=True,
        )
    finally:
        local.clear_faults(local_aws_url)
        local.drive_clock(local_aws_url, speed=100)
    assert done.returncode == 1, done.stderr
    assert "The program did not exit after its job ended: terminating it" in done.stdout
    assert "stopped because the run's other labeling job watch-tests-waiting-sibling" in done.stderr


def test_the_official_labeling_step_takes_a_missing_watched_job_for_not_failed(
    prepared: dict[str, Any], team_arn: str, local_aws_url: str, tmp_path: Path
) -> None:
    """kfp.local runs the labeling tasks one by one: the other job does not exist yet."""
    from tests.test_official_programs import needs_python37

    needs_python37()
    create_labeling_job(prepared, "watch-tests-alone", team_arn)
    done = run_watcher37(tmp_path, local_aws_url, "watch-tests-alone", "watch-tests-never-created")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Watching the run's other labeling jobs: watch-tests-never-created" in done.stdout
    assert "Cannot watch" not in done.stdout


def test_the_official_labeling_step_passes_sigterm_to_the_program(
    prepared: dict[str, Any], team_arn: str, local_aws_url: str, tmp_path: Path
) -> None:
    """A terminated run: the step's SIGTERM reaches the official program, which stops its job."""
    from tests.test_official_programs import env37, needs_python37

    needs_python37()
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    local.drive_clock(local_aws_url, speed=5)  # slow enough to find it running
    try:
        create_labeling_job(prepared, "watch-tests-terminated", team_arn)
        command, _ = watcher37(tmp_path, local_aws_url, "watch-tests-terminated", "watch-tests-x")
        step = subprocess.Popen(
            command, env=env37(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 60
        while (
            sagemaker.describe_labeling_job(LabelingJobName="watch-tests-terminated")[
                "LabelingJobStatus"
            ]
            != "InProgress"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        step.send_signal(signal.SIGTERM)
        output, _ = step.communicate(timeout=60)
    finally:
        local.drive_clock(local_aws_url, speed=100)
    assert step.returncode == 1, output
    assert "official program: SIGTERM, stopping the job" in output
    assert "official program: the job is Stopped" in output
    assert _wait_until_ended(sagemaker, "watch-tests-terminated")["LabelingJobStatus"] == "Stopped"


def test_with_kfp_216_the_local_runner_runs_the_exit_step_after_a_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """kfp 2.16's kfp.local skips exit handlers after a failed task; the local runner does not."""
    from helpers import local_runner

    stopped: list[dict[str, Any]] = []

    def failing(_: Any, **__: Any) -> Any:
        def run(**_: Any) -> None:
            raise RuntimeError("Pipeline finished with status FAILURE")

        return run

    monkeypatch.setattr(pipeline, "build", failing)
    monkeypatch.setattr(local_runner, "exit_handler_runs_after_failure", lambda: False)
    monkeypatch.setattr(python_set, "stop_run_jobs", lambda **kw: stopped.append(kw))
    names = {
        "region": REGION,
        "ground_truth_train_job_name": "a-train",
        "ground_truth_validation_job_name": "a-validation",
        "training_job_name": "a-training",
    }
    with pytest.raises(RuntimeError, match="FAILURE"):
        local_runner.run(names, tmp_path / "root")
    assert stopped == [
        {
            "region": REGION,
            "endpoint_url": "",
            "train_job_name": "a-train",
            "validation_job_name": "a-validation",
            "training_job_name": "a-training",
            "transform_job_name": "",
        }
    ]


def test_the_self_contained_component_knows_the_same_ground_truth_regions() -> None:
    """python_set.ground_truth carries its own copy of the Lambda table (KFP ships only the
    function's source); it must not drift from helpers.regions."""
    import inspect
    import re

    from helpers import regions

    source = inspect.getsource(python_set.ground_truth)
    embedded = dict(re.findall(r'"([a-z]{2}-[a-z]+-\d)": "(\d{12})"', source))
    assert embedded == dict(regions.GROUND_TRUTH_LAMBDA_ACCOUNTS)


# --- the prediction steps -------------------------------------------------------------------------


class FakeSageMaker:
    """A SageMaker client whose answers a test gives; records the calls made to it."""

    def __init__(self, real: Any, answers: dict[str, Any]) -> None:
        self.exceptions = real.exceptions
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Any:
        def call(**request: Any) -> Any:
            self.calls.append((operation, request))
            answer = self.answers[operation]
            if callable(answer):
                answer = answer(**request)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


@pytest.fixture
def fake_sagemaker(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Give the components a FakeSageMaker (and the real clients of other services)."""
    real_session = boto3.session.Session
    made: list[FakeSageMaker] = []

    def install(answers: dict[str, Any]) -> list[FakeSageMaker]:
        class Session(real_session):  # type: ignore[misc, valid-type]
            def client(self, service: str, *args: Any, **kwargs: Any) -> Any:
                real = super().client(service, *args, **kwargs)
                if service != "sagemaker":
                    return real
                made.append(FakeSageMaker(real, answers))
                return made[-1]

        monkeypatch.setattr(boto3.session, "Session", Session)
        return made

    return install


def client_error(code: str, message: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


def test_stop_run_jobs_stops_the_run_s_transform_job(fake_sagemaker: Any) -> None:
    made = fake_sagemaker(
        {
            "describe_labeling_job": {"LabelingJobStatus": "Completed"},
            "describe_training_job": {"TrainingJobStatus": "Completed"},
            "describe_transform_job": {"TransformJobStatus": "InProgress"},
            "stop_transform_job": {},
        }
    )
    python_set.stop_run_jobs(
        region=REGION,
        train_job_name="t",
        validation_job_name="v",
        training_job_name="tr",
        transform_job_name="run-predictions",
    )
    assert ("stop_transform_job", {"TransformJobName": "run-predictions"}) in made[0].calls
    # not created yet (the run ended before predict): nothing to stop, no error
    made = fake_sagemaker(
        {
            "describe_transform_job": client_error(
                "ValidationException", "Could not find transform job 'arn:...:transform-job/x'."
            ),
        }
    )
    python_set.stop_run_jobs(
        region=REGION,
        train_job_name="",
        validation_job_name="",
        training_job_name="",
        transform_job_name="x",
    )
    assert [c[0] for c in made[-1].calls] == ["describe_transform_job"]


TRANSFORM_ARGUMENTS = {
    "region": REGION,
    "model_name": "m",
    "input_location": "s3://b/p/test/images/",
    "output_location": "s3://b/p/predictions/run-1/",
    "job_name": "run-1-predictions",
    "tags": {"walkthrough-run": "run-1"},
    "max_payload": 6,
    "batch_strategy": "SingleRecord",
    "content_type": "application/x-image",
    "accept": "application/json",
    "instance_type": "ml.c5.xlarge",
}


def test_the_python_transform_sends_the_official_program_s_request_and_fails_with_the_reason(
    fake_sagemaker: Any,
) -> None:
    made = fake_sagemaker(
        {
            "create_transform_job": {"TransformJobArn": "arn"},
            "describe_transform_job": {
                "TransformJobStatus": "Failed",
                "FailureReason": "ClientError: See job logs for more information",
            },
        }
    )
    with pytest.raises(RuntimeError) as err:
        python_set.batch_transform(**TRANSFORM_ARGUMENTS)
    assert "run-1-predictions failed: ClientError: See job logs for more information" in str(
        err.value
    )
    assert "/aws/sagemaker/TransformJobs" in str(err.value)
    (operation, request), *_ = made[0].calls
    assert operation == "create_transform_job"
    # what the official 1.1.2 program sends for the same inputs (from its transform template)
    assert request == {
        "TransformJobName": "run-1-predictions",
        "ModelName": "m",
        "MaxConcurrentTransforms": 0,
        "MaxPayloadInMB": 6,
        "BatchStrategy": "SingleRecord",
        "Environment": {},
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/p/test/images/"}
            },
            "ContentType": "application/x-image",
            "CompressionType": "None",
            "SplitType": "None",
        },
        "TransformOutput": {
            "S3OutputPath": "s3://b/p/predictions/run-1/",
            "Accept": "application/json",
        },
        "TransformResources": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
        "DataProcessing": {"JoinSource": "None"},
        "Tags": [{"Key": "walkthrough-run", "Value": "run-1"}],
    }


def test_a_retried_python_transform_attaches_to_its_job_and_refuses_another(
    fake_sagemaker: Any,
) -> None:
    ours = {
        "TransformJobStatus": "Completed",
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/p/test/images/"}
            }
        },
        "TransformOutput": {"S3OutputPath": "s3://b/p/predictions/run-1/"},
    }
    taken = client_error("ValidationException", "Job name must be unique; it already exists.")
    fake_sagemaker({"create_transform_job": taken, "describe_transform_job": ours})
    done = python_set.batch_transform(**TRANSFORM_ARGUMENTS)
    assert done.output_location == "s3://b/p/predictions/run-1/"
    fake_sagemaker(
        {"create_transform_job": taken, "describe_transform_job": {**ours, "ModelName": "other"}}
    )
    with pytest.raises(RuntimeError, match="already exists with another model"):
        python_set.batch_transform(**TRANSFORM_ARGUMENTS)


def test_a_retried_python_create_model_attaches_to_its_model_and_refuses_another(
    fake_sagemaker: Any,
) -> None:
    arguments = {
        "region": REGION,
        "model_name": "run-1-model",
        "role": "arn:aws:iam::123456789012:role/exec",
        "image": "433757028032.dkr.ecr.us-west-2.amazonaws.com/image-classification:1",
        "model_artifact_url": "s3://b/p/training-output/job/output/model.tar.gz",
        "tags": {"walkthrough-run": "run-1"},
    }
    made = fake_sagemaker({"create_model": {"ModelArn": "arn:model"}})
    assert python_set.create_model(**arguments).model_name == "run-1-model"
    assert made[0].calls[0][1] == {
        "ModelName": "run-1-model",
        "ExecutionRoleArn": arguments["role"],
        "EnableNetworkIsolation": True,
        "Tags": [{"Key": "walkthrough-run", "Value": "run-1"}],
        "PrimaryContainer": {
            "Environment": {},
            "Image": arguments["image"],
            "ModelDataUrl": arguments["model_artifact_url"],
        },
    }
    existing = {
        "ExecutionRoleArn": arguments["role"],
        "PrimaryContainer": {
            "Image": arguments["image"],
            "ModelDataUrl": arguments["model_artifact_url"],
        },
    }
    taken = client_error("ValidationException", 'Cannot create already existing model "arn".')
    fake_sagemaker({"create_model": taken, "describe_model": existing})
    assert python_set.create_model(**arguments).model_name == "run-1-model"
    other = {**existing, "PrimaryContainer": {"Image": "another", "ModelDataUrl": "s3://x"}}
    fake_sagemaker({"create_model": taken, "describe_model": other})
    with pytest.raises(RuntimeError, match="already exists with another image"):
        python_set.create_model(**arguments)


def test_the_python_evaluate_logs_kfp_artifacts_through_kfp_local(
    local_aws_url: str, tmp_path: Path
) -> None:
    """The Python set's evaluate, run by KFP's own executor (kfp.local): its artifacts."""
    from kfp import local as kfp_local

    from tests.test_official_programs import (
        CLASSES,
        EVALUATE_BUCKET,
        EXPECTED_MATRIX,
        failed_training_job,
        stage_predictions,
    )

    flags = stage_predictions(EVALUATE_BUCKET, "eval-local")
    flags["training_job_name"] = failed_training_job(local_aws_url, "eval-tests-training-local")
    kfp_local.init(
        runner=kfp_local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root")
    )
    task = components.python(install=False).evaluate(**flags)
    assert task.outputs["test_accuracy"] == 0.75
    assert task.outputs["test_images"] == 4
    assert task.outputs["metrics"].metadata == {"test_accuracy": 0.75, "test_images": 4}
    matrix = task.outputs["confusion_matrix"].metadata["confusionMatrix"]
    assert [s["displayName"] for s in matrix["annotationSpecs"]] == CLASSES
    assert [r["row"] for r in matrix["rows"]] == EXPECTED_MATRIX
    model = task.outputs["model"]
    assert model.metadata["model_data_url"] == flags["model_artifact_url"]
    assert model.uri.startswith(str(tmp_path / "root"))  # KFP's URI, under the pipeline root


def test_evaluate_logs_the_training_job_s_validation_accuracy(
    local_aws_url: str, fake_sagemaker: Any, tmp_path: Path
) -> None:
    from kfp import dsl

    from tests.test_official_programs import EVALUATE_BUCKET, stage_predictions

    flags = stage_predictions(EVALUATE_BUCKET, "eval-validation")
    fake_sagemaker(
        {
            "describe_training_job": {
                "FinalMetricDataList": [
                    {"MetricName": "train:accuracy", "Value": 0.97},
                    {"MetricName": "validation:accuracy", "Value": 0.8125},
                ],
                "AlgorithmSpecification": {"TrainingImage": "image"},
            }
        }
    )
    metrics = dsl.Metrics(uri=str(tmp_path / "metrics"))
    model = dsl.Model(uri=str(tmp_path / "model"))
    matrix = dsl.ClassificationMetrics(uri=str(tmp_path / "matrix"))
    python_set.evaluate(
        **flags, training_job_name="job", model=model, metrics=metrics, confusion_matrix=matrix
    )
    assert metrics.metadata == {
        "test_accuracy": 0.75,
        "test_images": 4,
        "validation_accuracy": 0.8125,
    }
    assert model.metadata["training_image"] == "image"
