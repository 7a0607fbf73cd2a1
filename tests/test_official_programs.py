"""Our programs for the official components image run there as they are: Python 3.7, boto3 1.14.

The official image (amazonlinux:2) has python3 3.7 and boto3 1.14 / botocore 1.17 and nothing
else; the official set runs `prepare_training`, `evaluate` and `stop_run_jobs` there as programs
(`python3 -c`), and its labeling step runs the official Ground Truth program under our
`ground_truth_watch`. Our specs for the official model and batch transform programs are held to
those programs' own component.yaml and argument parsers at 1.1.2 (tests/fixtures/official-1.1.2).
Everywhere: their source parses as Python 3.7 and every boto3 call they make exists, with those
parameters, in botocore 1.17's model (a committed extract). Where a Python 3.7 venv with boto3 1.14
exists (`make test` makes `.venv37` when there is a python3.7), they run under it against the
local AWS.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from helpers import components, local, pipeline, regions
from helpers.paths import project_root
from tests.support import SAGEMAKER_TRUST

sys.path.insert(0, str(project_root() / "tests" / "scripts"))
import botocore117_operations  # noqa: E402

FIXTURE = project_root() / "tests" / "fixtures" / "botocore-1.17-operations.json"
PYTHON37 = project_root() / ".venv37" / "bin" / "python"
REGION = "us-west-2"
BUCKET = "official-program-tests"
#: What the programs may import: the standard library of Python 3.7, boto3 and botocore.
IMPORTABLE = {"argparse", "collections", "concurrent", "inspect", "json", "os", "signal"} | {
    "subprocess",
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


def _optional_imports(tree: ast.AST) -> set[int]:
    """The imports inside `try: ... except ImportError:` (kfp, where it exists): not needed."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers
        ):
            found |= {id(n) for part in node.body for n in ast.walk(part)}
    return found


def test_the_python_37_check_catches_newer_syntax() -> None:
    for newer in ("(x := 1)", "def f(a, /): pass", "match x:\n    case 1: pass"):
        with pytest.raises(SyntaxError):
            ast.parse(newer, feature_version=(3, 7))


@pytest.mark.parametrize("name", NAMES)
def test_the_program_is_python_37(name: str) -> None:
    source = _sources()[name]
    tree = ast.parse(source, feature_version=(3, 7))
    optional = _optional_imports(tree)
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
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
        "transform_job_name": "never-created-predictions",
    }
    done = run37("stop_run_jobs", local_aws_url, flags, [], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "labeling job never-created-train: not created" in done.stdout
    assert "training job never-created-training: not created" in done.stdout
    assert "transform job never-created-predictions: not created" in done.stdout
    assert "Nothing of this run was still running." in done.stdout


# --- our specs for the official model and batch transform programs, held to theirs (1.1.2) --------

OFFICIAL = project_root() / "tests" / "fixtures" / "official-1.1.2"
#: our spec -> (the official program's folder, its spec module and class)
SPECS = {
    "model.yaml": ("model", "model.src.sagemaker_model_spec", "SageMakerCreateModelSpec"),
    "batch_transform.yaml": (
        "batch_transform",
        "batch_transform.src.sagemaker_transform_spec",
        "SageMakerTransformSpec",
    ),
}
#: Builds the official program's own argument parser from its 1.1.2 spec class and parses argv.
PARSE_WITH_THEIR_SPEC = """
import json, sys, types
try:
    import distutils.util
except ImportError:  # Python 3.12+: their parsers import strtobool from distutils
    util = types.ModuleType("distutils.util")
    util.strtobool = lambda v: {"true": 1, "1": 1, "yes": 1, "false": 0, "0": 0, "no": 0}[v.lower()]
    sys.modules["distutils"] = types.ModuleType("distutils")
    sys.modules["distutils.util"] = util
import importlib
module, name, argv = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
spec_class = getattr(importlib.import_module(module), name)
spec = spec_class(argv)
parser = spec._parser
print(json.dumps({
    "flags": sorted(o for a in parser._actions for o in a.option_strings if o.startswith("--")),
    "required": sorted(a.dest for a in parser._actions if a.required),
    "inputs": {k: v for k, v in vars(spec.inputs).items()},
}, default=str))
"""


def run_their_parser(tmp_path: Path, spec: str, argv: list[str]) -> Any:
    """Run the official program's own parser (its 1.1.2 spec class) on `argv`; the process."""
    folder = tmp_path / "official"
    if not folder.exists():
        shutil.copytree(OFFICIAL, folder)
        for text in folder.rglob("*.py.txt"):
            text.rename(text.with_suffix(""))
    _, module, name = SPECS[spec]
    return subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            "-c",
            PARSE_WITH_THEIR_SPEC,
            module,
            name,
            json.dumps(argv),
        ],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(folder)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def their_parser(tmp_path: Path, spec: str, argv: list[str]) -> dict[str, Any]:
    """Parse `argv` with the official program's own parser (its 1.1.2 spec class); its answer."""
    done = run_their_parser(tmp_path, spec, argv)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_our_spec_has_the_official_component_yaml_s_inputs_and_arguments(spec: str) -> None:
    ours = yaml.safe_load((components.SPECS / spec).read_text())
    theirs = yaml.safe_load((OFFICIAL / SPECS[spec][0] / "component.yaml").read_text())

    def inputs(found: dict[str, Any]) -> list[tuple[str, str, str | None]]:
        return [(i["name"], i["type"], i.get("default")) for i in found["inputs"]]

    assert inputs(ours) == inputs(theirs)
    assert ours["implementation"] == theirs["implementation"]  # image, program, flags, in order
    # the same outputs, typed (upstream leaves them untyped: KFP v2 would make them artifacts)
    assert [o["name"] for o in ours["outputs"]] == [o["name"] for o in theirs["outputs"]]
    assert all("type" not in o for o in theirs["outputs"])
    assert {o["type"] for o in ours["outputs"]} == {"String"}


def _sample(kind: str) -> str:
    return {"Integer": "1", "Bool": "True", "JsonObject": "{}", "JsonArray": "[]"}.get(kind, "x")


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_the_official_program_s_parser_takes_every_flag_the_pipeline_passes(
    spec: str, tmp_path: Path
) -> None:
    """The flags of the compiled task, with the values the pipeline gives, parse with the
    program's own 1.1.2 parser: no flag it does not know, none it requires left out, and every
    constant we set is one of its choices."""
    package = pipeline.compile_pipeline(components.official(), tmp_path / "p.yaml")
    compiled = yaml.safe_load(package.read_text())
    program = {"model.yaml": "model/src/", "batch_transform.yaml": "batch_transform/src/"}[spec]
    (executor_name, executor) = [
        (n, e)
        for n, e in compiled["deploymentSpec"]["executors"].items()
        if e["container"]["args"][0].startswith(program)
    ][0]
    tasks = {
        name: task
        for component in [compiled["root"], *compiled["components"].values()]
        for name, task in component.get("dag", {}).get("tasks", {}).items()
    }
    (task,) = [
        t
        for t in tasks.values()
        if compiled["components"][t["componentRef"]["name"]].get("executorLabel") == executor_name
    ]
    declared = yaml.safe_load((components.SPECS / spec).read_text())["inputs"]
    kinds = {i["name"]: i["type"] for i in declared}
    defaults = {i["name"]: i["default"] for i in declared if "default" in i}
    given = task["inputs"]["parameters"]
    argv = []
    for arg in executor["container"]["args"][1:]:
        placeholder = re.fullmatch(r"\{\{\$\.inputs\.parameters\['(\w+)'\]\}\}", arg)
        if placeholder:
            name = placeholder.group(1)
            constant = given.get(name, {}).get("runtimeValue", {}).get("constant")
            if name not in given:  # not set by the pipeline: the spec's default
                arg = defaults[name]
            elif constant is None:  # from a pipeline parameter or another task
                arg = _sample(kinds[name])
            elif kinds[name] == "Integer":  # a number in the compiled YAML; the launcher writes "6"
                arg = str(int(constant))
            else:
                arg = constant if isinstance(constant, str) else json.dumps(constant)
        elif arg.startswith("{{$.outputs"):
            arg = str(tmp_path / "output")
        argv.append(arg)
    parsed = their_parser(tmp_path, spec, argv)
    ours = {a for a in argv if a.startswith("--")}
    assert ours == set(parsed["flags"]) - {"--help"}
    assert {f"--{name}" for name in parsed["required"]} <= ours
    if spec == "batch_transform.yaml":
        # what the transform job is asked to do (their parser checks the choices)
        inputs = parsed["inputs"]
        assert inputs["content_type"] == pipeline.TRANSFORM_CONTENT_TYPE == "application/x-image"
        assert inputs["accept"] == pipeline.TRANSFORM_ACCEPT
        assert (inputs["batch_strategy"], inputs["split_type"]) == ("SingleRecord", "None")
        assert (inputs["data_type"], inputs["max_payload"], inputs["instance_count"]) == (
            "S3Prefix",
            6,
            1,
        )


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_a_flag_the_official_program_does_not_know_is_refused(spec: str, tmp_path: Path) -> None:
    """The check above would catch a misspelt flag: their parser refuses it."""
    done = run_their_parser(tmp_path, spec, ["--regoin", "x"])
    assert done.returncode == 2 and "the following arguments are required" in done.stderr


# --- evaluate under Python 3.7, writing the executor output KFP's launcher reads ---------------

EVALUATE_BUCKET = "evaluate-program-tests"
CLASSES = ["Cat", "Dog", "Bird"]
#: (test image, its class, the model's probabilities in class order)
SCORED = [
    ("a.jpg", "Cat", [0.8, 0.1, 0.1]),
    ("b.jpg", "Cat", [0.2, 0.7, 0.1]),
    ("c.jpg", "Dog", [0.1, 0.8, 0.1]),
    ("sub/d.jpg", "Bird", [0.1, 0.2, 0.7]),
]


def stage_predictions(bucket: str, base: str) -> dict[str, str]:
    """Class labels, test labels and made-up transform output; the evaluate flags for them."""
    s3 = boto3.client("s3", region_name=REGION)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    labels = {"document-version": "2018-11-28", "labels": [{"label": c} for c in CLASSES]}
    s3.put_object(Bucket=bucket, Key=f"{base}/class_labels.json", Body=json.dumps(labels).encode())
    lines = [
        {"source-ref": f"s3://{bucket}/{base}/test/images/{f}", "class-name": c}
        for f, c, _ in SCORED
    ] + [{"source-ref": f"s3://{bucket}/{base}/test/images/lost.jpg", "class-name": "Dog"}]
    body = "".join(json.dumps(x) + "\n" for x in lines)
    s3.put_object(Bucket=bucket, Key=f"{base}/test/labels.jsonl", Body=body.encode())
    for f, _, p in SCORED:
        out = json.dumps({"prediction": p}).encode()
        s3.put_object(Bucket=bucket, Key=f"{base}/predictions/run-1/{f}.out", Body=out)
    return {
        "region": REGION,
        "model_name": "eval-tests-model",
        "model_artifact_url": f"s3://{bucket}/{base}/training-output/model.tar.gz",
        "test_labels_location": f"s3://{bucket}/{base}/test/labels.jsonl",
        "transform_input_location": f"s3://{bucket}/{base}/test/images/",
        "predictions_location": f"s3://{bucket}/{base}/predictions/run-1/",
        "label_category_config": f"s3://{bucket}/{base}/class_labels.json",
    }


def failed_training_job(url: str, name: str) -> str:
    """A training job that ended at once (forced to fail): DescribeTrainingJob answers for it."""
    iam = boto3.client("iam", region_name=REGION)
    try:
        role = iam.create_role(RoleName="eval-tests", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="eval-tests")
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    channel = {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "AugmentedManifestFile",
                "S3Uri": f"s3://{BUCKET}/none.manifest",
                "AttributeNames": ["source-ref", "category"],
            }
        },
        "ContentType": "application/x-recordio",
        "RecordWrapperType": "RecordIO",
    }
    local.set_faults(url, fail_jobs=[name], fail_reason="forced for this test")
    try:
        sagemaker.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={
                "TrainingImage": regions.image_classification_image(REGION),
                "TrainingInputMode": "Pipe",
            },
            RoleArn=role["Role"]["Arn"],
            InputDataConfig=[
                {"ChannelName": "train", **channel},
                {"ChannelName": "validation", **channel},
            ],
            HyperParameters={"num_classes": "3", "num_training_samples": "16"},
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/out"},
            ResourceConfig={
                "InstanceType": "ml.g4dn.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 5,
            },
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
    finally:
        local.clear_faults(url)
    return name


EXPECTED_MATRIX = [[1, 1, 0], [0, 1, 0], [0, 0, 1]]  # rows: truth, columns: predicted


def test_evaluate_runs_under_python_37_and_writes_kfp_s_executor_output(
    local_aws_url: str, tmp_path: Path
) -> None:
    needs_python37()
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    flags = stage_predictions(EVALUATE_BUCKET, "eval37")
    flags["training_job_name"] = failed_training_job(local_aws_url, "eval-tests-training-37")
    # what KFP's launcher hands the program for {executorInput} (the parts it reads)
    artifacts = {
        name: {
            "artifacts": [
                {
                    "name": name,
                    "type": {"schemaTitle": f"system.{kind}"},
                    "uri": str(tmp_path / "root" / name),
                }
            ]
        }
        for name, kind in (
            ("model", "Model"),
            ("metrics", "Metrics"),
            ("confusion_matrix", "ClassificationMetrics"),
        )
    }
    output_file = tmp_path / "kfp_outputs" / "output_metadata.json"
    executor_input = {
        "inputs": {"parameterValues": flags},
        "outputs": {"artifacts": artifacts, "outputFile": str(output_file)},
    }
    done = run37(
        "evaluate",
        local_aws_url,
        {**flags, "executor_input": executor_input},
        ["test_accuracy", "test_images"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "1 test images have no prediction" in done.stdout
    assert "test accuracy: 3/4 = 0.750" in done.stdout
    written = json.loads(output_file.read_text())
    # the format KFP's launcher reads (protojson of ExecutorOutput)
    json_format.ParseDict(written, pipeline_spec_pb2.ExecutorOutput())
    found = {n: a["artifacts"][0] for n, a in written["artifacts"].items()}
    assert found["metrics"]["metadata"] == {"test_accuracy": 0.75, "test_images": 4}
    assert found["confusion_matrix"]["metadata"]["confusionMatrix"] == {
        "annotationSpecs": [{"displayName": c} for c in CLASSES],
        "rows": [{"row": r} for r in EXPECTED_MATRIX],
    }
    model = found["model"]
    assert model["uri"] == str(tmp_path / "root" / "model")  # KFP's URI, kept
    assert model["metadata"]["model_data_url"] == flags["model_artifact_url"]
    assert model["metadata"]["sagemaker_model_name"] == "eval-tests-model"
    assert json.loads((tmp_path / "root" / "model").read_text())["classes"] == CLASSES
    assert (tmp_path / "outputs" / "test_accuracy").read_text() == "0.75"
    assert (tmp_path / "outputs" / "test_images").read_text() == "4"
