"""Our programs for the official components image run there as they are: Python 3.7, boto3 1.14.

The official image (amazonlinux:2) has python3 3.7 and boto3 1.14 / botocore 1.17 and nothing
else; the official set runs `prepare_training` and `stop_run_jobs` there as programs (`python3 -c`),
and its labeling step runs the official Ground Truth program under our `ground_truth_watch`.
Everywhere: their source parses as Python 3.7 and every boto3 call they make exists, with those
parameters, in botocore 1.17's model (a committed extract). Where a Python 3.7 venv with boto3 1.14
exists (`make test` makes `.venv37` when there is a python3.7), they run under it against the
local AWS.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from helpers import components
from helpers.paths import project_root

sys.path.insert(0, str(project_root() / "tests" / "scripts"))
import botocore117_operations  # noqa: E402

FIXTURE = project_root() / "tests" / "fixtures" / "botocore-1.17-operations.json"
PYTHON37 = project_root() / ".venv37" / "bin" / "python"
REGION = "us-west-2"
BUCKET = "official-program-tests"
#: What the programs may import: the standard library of Python 3.7, boto3 and botocore.
IMPORTABLE = {"argparse", "collections", "inspect", "json", "os", "signal", "subprocess"} | {
    "sys",
    "time",
    "typing",
    "boto3",
    "botocore",
}
#: The official set's labeling step: the official program run under our watcher.
WATCHER = "ground_truth_watch"
NAMES = [f.__name__ for f in components.PROGRAMS] + [WATCHER]


def _sources() -> dict[str, str]:
    found = {f.__name__: components.program_source(f) for f in components.PROGRAMS}
    return {**found, WATCHER: components.watcher_source()}


def needs_python37() -> None:
    """Skip, with the reason, where there is no .venv37."""
    if not PYTHON37.exists():
        pytest.skip(
            "no .venv37 (Python 3.7 with boto3 1.14): `make test` makes it where a python3.7 "
            "exists (pyenv's ~/.pyenv/versions/3.7.*, or python3.7 on PATH)"
        )


# --- everywhere -----------------------------------------------------------------------------------


def test_the_python_37_check_catches_newer_syntax() -> None:
    for newer in ("(x := 1)", "def f(a, /): pass", "match x:\n    case 1: pass"):
        with pytest.raises(SyntaxError):
            ast.parse(newer, feature_version=(3, 7))


@pytest.mark.parametrize("name", NAMES)
def test_the_program_is_python_37(name: str) -> None:
    source = _sources()[name]
    tree = ast.parse(source, feature_version=(3, 7))
    for node in ast.walk(tree):
        # evaluated at definition time in 3.7: `list[str]` or `str | None` would raise there
        annotations = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations = [a.annotation for a in node.args.args + node.args.kwonlyargs]
            annotations.append(node.returns)
        for annotation in filter(None, annotations):
            for part in ast.walk(annotation):
                assert not isinstance(part, ast.BinOp), ast.unparse(annotation)
                if isinstance(part, ast.Subscript) and isinstance(part.value, ast.Name):
                    assert part.value.id not in {"list", "dict", "tuple", "set", "type"}, (
                        ast.unparse(annotation)
                    )
        if isinstance(node, ast.Import):
            assert {a.name.split(".")[0] for a in node.names} <= IMPORTABLE
        if isinstance(node, ast.ImportFrom):
            assert node.module and node.module.split(".")[0] in IMPORTABLE, node.module
            assert node.module != "__future__" or {a.name for a in node.names} <= {"annotations"}
        if isinstance(node, ast.JoinedStr):  # no f"{x=}" (3.8)
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    assert not isinstance(value.value, ast.NamedExpr)


@pytest.mark.parametrize("name", NAMES)
def test_every_boto3_call_exists_in_botocore_117(name: str) -> None:
    model = json.loads(FIXTURE.read_text())["services"]
    calls = botocore117_operations.client_calls(_sources()[name])
    assert calls, "the program's client calls were not found"
    for service, method, keywords, spread in calls:
        known = model.get(service, {})
        if method in ("exceptions", "meta"):
            continue
        assert method in known, f"{service}.{method} is not in botocore 1.17"
        assert not spread, f"{service}.{method}(**...) cannot be checked: name the parameters"
        assert set(keywords) <= set(known[method]["members"]), (service, method, keywords)
        assert set(known[method]["required"]) <= set(keywords), (service, method, keywords)


def test_the_model_extract_matches_botocore_117() -> None:
    needs_python37()
    fresh = subprocess.run(
        [str(PYTHON37), str(project_root() / "tests/scripts/botocore117_operations.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(fresh.stdout)
    assert found["botocore"].startswith("1.17.")
    assert found["services"] == json.loads(FIXTURE.read_text())["services"], (
        "regenerate tests/fixtures/botocore-1.17-operations.json (see its script)"
    )


# --- under Python 3.7 with boto3 1.14, against the local AWS --------------------------------------


def run37(name: str, url: str, flags: dict[str, Any], outputs: list[str], folder: Path) -> Any:
    """Run a program as the official image would: python3 -c SOURCE --flag value ... ."""
    args = [str(PYTHON37), "-c", _sources()[name]]
    for key, value in {**flags, "endpoint_url": url}.items():
        args += [f"--{key}", value if isinstance(value, str) else json.dumps(value)]
    for output in outputs:
        args += [f"--{output}_output_path", str(folder / "outputs" / output)]
    return subprocess.run(
        args, env=env37(), capture_output=True, text=True, timeout=120, check=False
    )


def env37() -> dict[str, str]:
    """The environment the programs run in: test credentials, nothing that can reach AWS."""
    return {
        "PATH": os.environ["PATH"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # anything not sent to --endpoint_url goes to a closed loopback port, never to AWS
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def test_prepare_training_runs_under_python_37_with_boto3_114(
    local_aws_url: str, tmp_path: Path
) -> None:
    needs_python37()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    good = {"source-ref": "s3://b/x.jpg", "category": 1, "category-metadata": {}}
    failed = {"source-ref": "s3://b/y.jpg", "category-metadata": {"failure-reason": "expired"}}
    base = f"s3://{BUCKET}/run"
    for name, lines in (("train", [good, failed, good]), ("validation", [good, failed])):
        body = "".join(json.dumps(x) + "\n" for x in lines)
        s3.put_object(Bucket=BUCKET, Key=f"run/{name}.manifest", Body=body.encode())
    labels = {"document-version": "2018-11-28", "labels": [{"label": "A"}, {"label": "B"}]}
    s3.put_object(Bucket=BUCKET, Key="run/class_labels.json", Body=json.dumps(labels).encode())
    flags = {
        "region": REGION,
        "train_manifest": f"{base}/train.manifest",
        "validation_manifest": f"{base}/validation.manifest",
        "label_category_config": f"{base}/class_labels.json",
        "label_attribute_name": "category",
        "training_input_location": f"{base}/channels",
        "hyperparameters": {"epochs": "2"},
    }
    outputs = ["channels", "hyperparameters", "num_training_samples", "num_classes"]
    done = run37("prepare_training", local_aws_url, flags, outputs, tmp_path)
    assert done.returncode == 0, done.stderr
    written = {o: (tmp_path / "outputs" / o).read_text() for o in outputs}
    assert (written["num_training_samples"], written["num_classes"]) == ("2", "2")
    assert json.loads(written["hyperparameters"]) == {
        "epochs": "2",
        "num_classes": "2",
        "num_training_samples": "2",
    }
    channels = json.loads(written["channels"])
    assert [c["ChannelName"] for c in channels] == ["train", "validation"]
    assert channels[0]["DataSource"]["S3DataSource"]["AttributeNames"] == ["source-ref", "category"]
    kept = s3.get_object(Bucket=BUCKET, Key="run/channels/train.manifest")["Body"].read()
    assert len(kept.decode().splitlines()) == 2
    refused = run37(
        "prepare_training",
        local_aws_url,
        {**flags, "hyperparameters": {"num_classes": "5"}},
        outputs,
        tmp_path / "again",
    )
    assert refused.returncode != 0
    assert "num_classes=5 does not match the data (2)" in refused.stderr


def test_stop_run_jobs_runs_under_python_37_and_finds_nothing_to_stop(
    local_aws_url: str, tmp_path: Path
) -> None:
    needs_python37()
    flags = {
        "region": REGION,
        "train_job_name": "never-created-train",
        "validation_job_name": "never-created-validation",
        "training_job_name": "never-created-training",
    }
    done = run37("stop_run_jobs", local_aws_url, flags, [], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "labeling job never-created-train: not created" in done.stdout
    assert "training job never-created-training: not created" in done.stdout
    assert "Nothing of this run was still running." in done.stdout
