"""A tour of bad inputs: each stops with an error naming what to fix, before anything is written.

Every case runs what a user runs: notebook 01's steps (settings, choose, bucket, stage, write) or
notebook 03's (settings, check the inputs, submit). The error must name the setting or file and
the value, say how to fix it, and come before any AWS write: the local AWS's request counts show
no Create/Put/Copy/Delete/... operation, and nothing appears under the runs folder.

The tour goes on in `tests/test_bad_requests.py`, with what a client sends the local AWS itself
(unknown operations, malformed JSON, forged NextTokens, bodies too large, stalled connections,
admin requests a web page could send).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from helpers import dataset, gt_inputs, local, planning, submission
from helpers.aws import connect
from helpers.errors import InputError, WalkthroughError
from helpers.paths import runs_dir
from helpers.s3 import ensure_bucket
from helpers.settings import load

BUCKET = "gt-bad-inputs-tests"
PREFIX = "bad-inputs"
BASE = f"{PREFIX}/staged"  # the good inputs every notebook-03 case starts from
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/bad-inputs-execution"
WRITE_VERBS = (
    "Create",
    "Put",
    "Copy",
    "Delete",
    "Update",
    "Start",
    "Add",
    "Stop",
    "Attach",
    "Detach",
    "Remove",
    "Tag",
    "Untag",
    "Upload",
    "CompleteMultipart",
)

Files = dict[str, str]


def writes(counts: dict[str, int]) -> dict[str, int]:
    """The requests among `counts` ("service.Operation" -> n) that change something."""
    return {k: v for k, v in counts.items() if v and k.split(".", 1)[1].startswith(WRITE_VERBS)}


def files_under(folder: Path) -> set[Path]:
    """Every path under a folder (none when it does not exist)."""
    return set(folder.rglob("*")) if folder.exists() else set()


@dataclass(frozen=True)
class Bad:
    """One bad input: what the user gives, and what the error must name."""

    notebook: str  # "01" (prepare the dataset) or "03" (run the pipeline)
    given: dict[str, Any]  # notebook parameters
    names: str  # the setting or file the error names
    value: str  # the bad value, as the message shows it
    fix: str  # a keyword of the fix
    env: dict[str, str] = field(default_factory=dict)  # WALKTHROUGH_* variables
    edit: Callable[[Files], None] | None = None  # notebook 03: a change to the staged inputs


def notebook_01(given: dict[str, Any], env: dict[str, str]) -> None:
    """Notebook 01's steps, in its order."""
    settings = load(given, env=env)
    s3 = connect(settings).client("s3")
    open_images = dataset.load_annotations(settings, s3)
    chosen = dataset.choose_images(settings, s3, open_images)
    examples = dataset.choose_examples(settings, open_images, chosen)
    test = dataset.choose_test_images(settings, open_images, chosen, examples)
    ensure_bucket(s3, settings.bucket, settings.region, settings.create_bucket)
    dataset.stage_images(settings, s3, chosen, examples, test)
    dataset.write_inputs(settings, s3, chosen, examples)
    dataset.write_test_labels(settings, s3, test)


def notebook_03(given: dict[str, Any], env: dict[str, str]) -> None:
    """Notebook 03's steps up to the submission (compiling for display writes no AWS resource)."""
    settings = load(given, env=env)
    aws = connect(settings)
    planning.require_inputs(settings, aws.client("s3"))
    submission.submit_or_resume(settings, aws)


# --- edits of the staged inputs -------------------------------------------------------------------


def _set(name: str, text: str) -> Callable[[Files], None]:
    def edit(files: Files) -> None:
        files[name] = text

    return edit


def _labels(*labels: str) -> Callable[[Files], None]:
    return _set("class_labels.json", json.dumps({"labels": [{"label": x} for x in labels]}))


def _first_line(name: str, row: dict[str, Any]) -> Callable[[Files], None]:
    def edit(files: Files) -> None:
        lines = files[name].splitlines()
        files[name] = "\n".join([json.dumps(row), *lines[1:]]) + "\n"

    return edit


def _without_classifier(files: Files) -> None:
    files["instructions.template"] = (
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>\n'
        '<crowd-form><crowd-input name="answer" label="Which class?"></crowd-input></crowd-form>\n'
    )


def _csv_manifest(files: Files) -> None:
    refs = [json.loads(line)["source-ref"] for line in files["train.manifest"].splitlines()]
    files["train.manifest"] = "source-ref\n" + "\n".join(refs) + "\n"


MISSING_IMAGE = f"s3://{BUCKET}/{BASE}/images/0000000000000000.jpg"
CLASSES_FIX = "classes=['Musical Instrument', 'Fruit']"
AWS_MODE = {"mode": "aws", "bucket": BUCKET}
AWS_READY = {
    **AWS_MODE,
    "role_arn": ROLE,
    "user_groups": "bad-inputs-labelers",
    "user_pool": "us-west-2_BadInputs1",
    "client_id": "badinputsclient",
}

CASES = [
    # settings, given to notebook 01 ---------------------------------------------------------------
    pytest.param(Bad("01", {"bucket": "GT-Bad-Inputs"}, "bucket", "GT-Bad-Inputs", "lower-case"),
                 id="bucket-uppercase"),
    pytest.param(Bad("01", {"bucket": "gt"}, "bucket", "'gt'", "3-63"), id="bucket-too-short"),
    pytest.param(Bad("01", {"bucket": "gt_bad_inputs"}, "bucket", "gt_bad_inputs", "lower-case"),
                 id="bucket-underscore"),
    pytest.param(Bad("01", {"bucket": "192.168.10.20"}, "bucket", "192.168.10.20", "e.g. my-gt"),
                 id="bucket-ip-address"),
    pytest.param(Bad("01", {"region": "us-west-9"}, "region", "us-west-9", "us-west-2"),
                 id="region-unknown"),
    pytest.param(Bad("01", {"mode": "cloud"}, "mode", "cloud", "mode='local'"),
                 id="mode-unknown"),
    pytest.param(Bad("01", {"prefix": "/bad-inputs/x"}, "prefix", "/bad-inputs/x",
                     "mini-image-classification"),
                 id="prefix-leading-slash"),
    pytest.param(Bad("01", {"classes": ["Fruit"]}, "classes", "['Fruit']", "two or more"),
                 id="classes-only-one"),
    pytest.param(Bad("01", {"classes": ["Fruit", "Tiger", "Fruit"]}, "classes",
                     "['Fruit', 'Tiger', 'Fruit']",
                     "remove the duplicate"),
                 id="classes-duplicate"),
    pytest.param(Bad("01", {"classes": ["Fruit", "fruit "]}, "classes",
                     "['Fruit', 'fruit ']",
                     "remove the duplicate"),
                 id="classes-duplicate-ignoring-case"),
    pytest.param(Bad("01", {}, "WALKTHROUGH_CLASSES", "[Fruit, Tiger", '["Fruit", "Tiger"]',
                     env={"WALKTHROUGH_CLASSES": "[Fruit, Tiger"}),
                 id="classes-env-not-json"),
    pytest.param(Bad("01", {"images_per_class": 1}, "images_per_class", "1", "at least 2"),
                 id="images-per-class-one"),
    pytest.param(Bad("01", {"validation_fraction": 0}, "validation_fraction", "0", "0.2"),
                 id="validation-fraction-zero"),
    pytest.param(Bad("01", {"validation_fraction": 1.5}, "validation_fraction", "1.5", "0.2"),
                 id="validation-fraction-above-one"),
    pytest.param(Bad("01", {"source": "gs://my-bucket/images/"}, "source",
                     "gs://my-bucket/images/", "source='openimages'"),
                 id="source-not-openimages-nor-s3"),
    # the dataset: found while choosing images, before the bucket is made or written ------------
    pytest.param(Bad("01", {"classes": ["Fruit", "Unicorn"]}, "classes", "Unicorn",
                     "class-descriptions-boxable.csv"),
                 id="class-not-in-open-images"),
    pytest.param(Bad("01", {"classes": ["Cheeta", "Fruit"]}, "classes", "Cheeta",
                     "did you mean 'Cheetah'"),
                 id="class-misspelled"),
    pytest.param(Bad("01", {"classes": ["Snowman", "Fruit"], "images_per_class": 1000},
                     "images_per_class", "1000", "lower images_per_class"),
                 id="class-with-too-few-images"),
    pytest.param(Bad("01", {"source": f"s3://{BUCKET}/no-images-here/"}, "source",
                     "no-images-here", "upload your images"),
                 id="source-prefix-without-images"),
    pytest.param(Bad("01", {"annotations_url": "s3://open-images-dataset/2018_04/missing.csv"},
                     "annotations_url", "missing.csv", "annotations_url"),
                 id="annotations-url-missing"),
    pytest.param(Bad("01", {"bucket": "gt-bad-inputs-not-made", "create_bucket": False},
                     "bucket", "gt-bad-inputs-not-made", "create_bucket=True"),
                 id="bucket-missing-and-not-to-be-created"),
    # pipeline settings, given to notebook 03 ------------------------------------------------------
    pytest.param(Bad("03", {"training_instance_type": "ml.m5.xlarge"}, "training_instance_type",
                     "ml.m5.xlarge", "GPU type"),
                 id="training-instance-cpu"),
    pytest.param(Bad("03", {"training_instance_type": "g4dn.xlarge"}, "training_instance_type",
                     "g4dn.xlarge", "ml.p3.2xlarge"),
                 id="training-instance-without-ml-prefix"),
    pytest.param(Bad("03", {"team_name": "t" * 64}, "team_name", "t" * 64, "at most 63"),
                 id="team-name-too-long"),
    pytest.param(Bad("03", {"team_name": "my_team"}, "team_name", "my_team", "hyphens"),
                 id="team-name-underscore"),
    pytest.param(Bad("03", {"ground_truth_train_job_name": "train_job"},
                     "ground_truth_train_job_name", "train_job", "hyphens"),
                 id="job-name-underscore"),
    pytest.param(Bad("03", {"ground_truth_train_job_name": "Demo-Job",
                            "ground_truth_validation_job_name": "demo-job"},
                     "ground_truth_validation_job_name", "demo-job", "two different names"),
                 id="job-names-equal-ignoring-case"),
    pytest.param(Bad("03", {"role_arn": f"arn:aws:iam::{ACCOUNT}:user/bob"}, "role_arn",
                     ":user/bob", "get-role"),
                 id="role-arn-of-a-user"),
    pytest.param(Bad("03", {"role_arn": "arn:aws:iam::1234:role/x"}, "role_arn", "::1234:",
                     "get-role"),
                 id="role-arn-short-account"),
    pytest.param(Bad("03", {"kfp_pod_role_arn": "kfp-pod-role"}, "kfp_pod_role_arn",
                     "kfp-pod-role", "get-role"),
                 id="pod-role-arn-not-an-arn"),
    pytest.param(Bad("03", {"ground_truth_num_workers_per_object": 0},
                     "ground_truth_num_workers_per_object", "0", "use 3"),
                 id="workers-per-object-zero"),
    pytest.param(Bad("03", {"ground_truth_num_workers_per_object": 10},
                     "ground_truth_num_workers_per_object", "10", "use 3"),
                 id="workers-per-object-ten"),
    pytest.param(Bad("03", {"ground_truth_task_availability": 30},
                     "ground_truth_task_availability", "30", "86400"),
                 id="task-availability-too-short"),
    pytest.param(Bad("03", {"user_pool": "my-pool"}, "user_pool", "my-pool",
                     "list-user-pools"),
                 id="user-pool-not-a-pool-id"),
    pytest.param(Bad("03", {"component_set": "official"}, "component_set", "official",
                     "leave component_set unset"),
                 id="official-components-in-local-mode"),
    # the submission: the region, the staged inputs (read, never written), and aws mode --------
    pytest.param(Bad("03", {"region": "us-west-1"}, "region", "us-west-1", "us-west-2"),
                 id="region-without-ground-truth"),
    pytest.param(Bad("03", {}, "train.manifest", "source-ref", "fix or remove line 1",
                     edit=_csv_manifest),
                 id="train-manifest-not-json-lines"),
    pytest.param(Bad("03", {}, "validation.manifest", "my-image.jpg", "fix or remove line 1",
                     edit=_first_line("validation.manifest", {"source": "s3://b/my-image.jpg"})),
                 id="validation-manifest-without-source-ref"),
    pytest.param(Bad("03", {}, "train.manifest", "images/a.jpg", "fix or remove line 1",
                     edit=_first_line("train.manifest", {"source-ref": "images/a.jpg"})),
                 id="manifest-source-ref-not-s3"),
    pytest.param(Bad("03", {}, "validation.manifest", "no objects", "notebook 01",
                     edit=_set("validation.manifest", "")),
                 id="manifest-empty"),
    pytest.param(Bad("03", {}, "train.manifest", MISSING_IMAGE, "copies what is missing",
                     edit=_first_line("train.manifest", {"source-ref": MISSING_IMAGE})),
                 id="manifest-object-missing"),
    pytest.param(Bad("03", {}, "class_labels.json", "['Fruit']", "two or more distinct",
                     edit=_labels("Fruit")),
                 id="label-config-one-label"),
    pytest.param(Bad("03", {}, "class_labels.json", "Fruit, Musical", "notebook 01",
                     edit=_set("class_labels.json", "Fruit, Musical Instrument")),
                 id="label-config-not-json"),
    pytest.param(Bad("03", {}, "class_labels.json", "['Cheetah', 'Tiger']", CLASSES_FIX,
                     edit=_labels("Cheetah", "Tiger")),
                 id="label-config-other-classes"),
    pytest.param(Bad("03", {}, "class_labels.json", "['Fruit', 'Musical Instrument']",
                     CLASSES_FIX, edit=_labels("Fruit", "Musical Instrument")),
                 id="label-config-in-another-order"),
    pytest.param(Bad("03", {}, "instructions.template", "without <crowd-image-classifier>",
                     "rewrite it", edit=_without_classifier),
                 id="template-without-crowd-image-classifier"),
    pytest.param(Bad("03", {"test_images_per_class": 10}, "test/labels.jsonl", "missing",
                     "run notebook 01_prepare_dataset again"),
                 id="predictions-without-a-test-set"),
    pytest.param(Bad("03", AWS_MODE, "role_arn", "None", "set it in settings.json"),
                 id="aws-mode-without-role-arn"),
    pytest.param(Bad("03", AWS_READY, "confirm_submit", "False", "confirm_submit=True"),
                 id="aws-mode-submit-not-confirmed"),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _keep_environment() -> Iterator[None]:
    """`connect` points this process at the local AWS in the settings' region: undo that."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def staged(local_aws_url: str) -> Files:
    """Notebook 01's inputs, staged under BASE as notebook 01 does; returns the four files."""
    saved = dict(os.environ)
    try:
        local.reset_request_counts(local_aws_url)
        notebook_01({"bucket": BUCKET, "prefix": BASE, "images_per_class": 3}, env={})
        made = writes(local.request_counts(local_aws_url))
        s3 = connect(load({"bucket": BUCKET, "prefix": BASE}, env={})).client("s3")
        files = {
            name: s3.get_object(Bucket=BUCKET, Key=f"{BASE}/{name}")["Body"].read().decode()
            for name in dataset.INPUT_FILES
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)
    # the counter sees this module's writes, so "no writes" below is a real observation
    assert made.get("s3.CreateBucket") == 1, made
    assert made.get("s3.PutObject", 0) >= 4 and made.get("s3.CopyObject", 0) >= 6, made
    return files


def test_the_staged_inputs_pass_so_each_case_fails_for_its_own_reason(staged: Files) -> None:
    settings = load({"bucket": BUCKET, "prefix": BASE}, env={})
    found = planning.require_inputs(settings, connect(settings).client("s3"))
    assert found["objects"] == {"train": 4, "validation": 2}
    assert found["labels"] == ["Musical Instrument", "Fruit"]
    assert gt_inputs.parse_label_config(staged["class_labels.json"]) == found["labels"]


@pytest.mark.parametrize("bad", CASES)
def test_a_bad_input_stops_with_a_fix_before_anything_is_written(
    bad: Bad, staged: Files, local_aws_url: str, request: pytest.FixtureRequest
) -> None:
    prefix = f"{PREFIX}/{request.node.callspec.id}"
    if bad.notebook == "03":  # the inputs notebook 01 staged, changed where the case says
        files = dict(staged)
        if bad.edit is not None:
            bad.edit(files)
        s3 = connect(load({"bucket": BUCKET, "prefix": prefix}, env={})).client("s3")
        gt_inputs.upload_inputs(s3, BUCKET, prefix, files)
    # the cases copy the four labeling inputs only: without a test set, predictions are off
    # (unless the case is about the test set)
    off = {"test_images_per_class": 0} if bad.notebook == "03" else {}
    given = {"bucket": BUCKET, "prefix": prefix, **off, **bad.given}
    before = files_under(runs_dir())
    local.reset_request_counts(local_aws_url)

    run = notebook_01 if bad.notebook == "01" else notebook_03
    with pytest.raises(InputError) as caught:
        run(given, bad.env)

    error, message = caught.value, str(caught.value)
    assert bad.names in error.setting, message
    assert bad.value in message, message
    assert "Fix: " in message and bad.fix in error.fix, message
    assert writes(local.request_counts(local_aws_url)) == {}
    assert files_under(runs_dir()) == before


def test_inputs_never_staged_say_to_run_notebook_01_first(
    staged: Files, local_aws_url: str
) -> None:
    given = {"bucket": BUCKET, "prefix": f"{PREFIX}/never-staged"}
    before = files_under(runs_dir())
    local.reset_request_counts(local_aws_url)
    with pytest.raises(WalkthroughError) as caught:
        notebook_03(given, {})
    message = str(caught.value)
    assert f"s3://{BUCKET}/{PREFIX}/never-staged" in message, message
    assert "run notebook 01_prepare_dataset first" in message, message
    assert writes(local.request_counts(local_aws_url)) == {}
    assert files_under(runs_dir()) == before
