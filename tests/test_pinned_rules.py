"""Fast unit tests pinning what only slow end-to-end tests caught (issue 11, section 6)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from helpers import dataset, policies
from helpers.checks.storage import cors_allows_ground_truth
from helpers.s3 import GROUND_TRUTH_CORS_RULE
from helpers.settings import load

ACCOUNT = "111122223333"
BUCKET = "my-team-gt-bucket"
PREFIX = "team/gt-demo"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution"


# --- CORS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "allows"),
    [
        (GROUND_TRUTH_CORS_RULE, True),
        ({"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": ["*"]}, True),
        ({"AllowedMethods": ["PUT", "HEAD"], "AllowedOrigins": ["*"]}, False),  # every origin
        ({"AllowedMethods": [], "AllowedOrigins": ["*"]}, False),
        ({"AllowedMethods": ["GET"], "AllowedOrigins": ["https://example.com"]}, False),
        ({"AllowedOrigins": ["*"]}, False),
    ],
    ids=["ground-truth", "get-head", "every-origin-no-get", "no-methods", "one-origin", "none"],
)
def test_cors_rule_must_allow_get_from_every_origin(rule: dict[str, Any], allows: bool) -> None:
    assert cors_allows_ground_truth(rule) is allows


# --- what notebook 01 writes --------------------------------------------------------------------


def test_class_labels_json_is_in_settings_order_not_sorted() -> None:
    """The label list's order is the class index the training job learns: the settings' order."""
    classes = ["Tiger", "Cheetah", "Fruit"]  # not sorted, on purpose
    settings = load({"classes": classes}, env={})
    chosen = pd.DataFrame(
        {
            "class_name": [c for c in classes for _ in range(2)],
            "split": ["train", "validation"] * 3,
            "uri": [f"s3://b/p/images/{i}.jpg" for i in range(6)],
        }
    )
    files = dataset.input_files(settings, chosen)
    labels = [entry["label"] for entry in json.loads(files["class_labels.json"])["labels"]]
    assert labels == classes
    assert [line for line in files["train.manifest"].splitlines()] == [
        json.dumps({"source-ref": f"s3://b/p/images/{i}.jpg"}) for i in (0, 2, 4)
    ]


# --- the policies' resources --------------------------------------------------------------------


def _settings() -> Any:
    return load({"mode": "aws", "bucket": BUCKET, "prefix": PREFIX, "role_arn": ROLE}, env={})


def _by_sid(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def _object_resources(policy: dict[str, Any]) -> set[str]:
    """Every resource of a statement that acts on objects (s3:GetObject, PutObject, Delete...)."""
    found = set()
    for statement in policy["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if any(a.startswith("s3:") and "Object" in a for a in actions):
            resources = statement["Resource"]
            found |= set(resources if isinstance(resources, list) else [resources])
    return found


def test_execution_policy_reaches_objects_under_the_prefix_only() -> None:
    policy = policies.execution_policy(_settings(), ACCOUNT)
    assert _object_resources(policy) == {f"arn:aws:s3:::{BUCKET}/{PREFIX}/*"}
    statements = _by_sid(policy)
    assert statements["FindTheBucket"]["Resource"] == f"arn:aws:s3:::{BUCKET}"
    assert set(statements["FindTheBucket"]["Action"]) == {"s3:ListBucket", "s3:GetBucketLocation"}
    assert statements["JobLogs"]["Resource"] == (
        f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:/aws/sagemaker/*"
    )


def test_pod_policy_is_scoped_to_the_prefix_the_role_and_the_account() -> None:
    settings = _settings()
    policy = policies.pod_policy(settings, ACCOUNT, ROLE)
    assert _object_resources(policy) == {f"arn:aws:s3:::{BUCKET}/{PREFIX}/*"}
    statements = _by_sid(policy)
    pass_role = statements["PassTheExecutionRoleToSageMaker"]
    assert pass_role["Resource"] == ROLE
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    for sid, kind in (
        ("LabelingJobs", "labeling-job"),
        ("TrainingJobs", "training-job"),
        ("Workteams", "workteam/private-crowd"),
    ):
        assert statements[sid]["Resource"] == f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:{kind}/*"


def test_walkthrough_policy_writes_and_deletes_under_the_prefix_only() -> None:
    policy = policies.walkthrough_policy(_settings(), ACCOUNT)
    assert _object_resources(policy) == {
        f"arn:aws:s3:::{BUCKET}/{PREFIX}/*",
        "arn:aws:s3:::open-images-dataset",  # read only: the public image set
        "arn:aws:s3:::open-images-dataset/*",
    }
    statements = _by_sid(policy)
    assert statements["CleanUpThePrefix"]["Resource"] == f"arn:aws:s3:::{BUCKET}/{PREFIX}/*"
    assert statements["OpenImages"]["Action"] == ["s3:GetObject", "s3:ListBucket"]
    assert statements["PreviewTheWorkerTask"]["Resource"] == ROLE


def test_the_layout_s_object_arn_is_the_prefix_not_the_bucket() -> None:
    assert _settings().layout.object_arn == f"arn:aws:s3:::{BUCKET}/{PREFIX}/*"


@pytest.mark.parametrize("make", ["execution", "pod", "walkthrough"])
def test_no_policy_names_every_object_of_the_bucket(make: str) -> None:
    settings = _settings()
    policy = {
        "execution": lambda: policies.execution_policy(settings, ACCOUNT),
        "pod": lambda: policies.pod_policy(settings, ACCOUNT, ROLE),
        "walkthrough": lambda: policies.walkthrough_policy(settings, ACCOUNT),
    }[make]()
    assert f"arn:aws:s3:::{BUCKET}/*" not in json.dumps(policy)


# --- predictions: the model and the batch transform (issue 13) ----------------------------------


def _allows(policy: dict[str, Any], action: str, resource: str, **context: str) -> bool:
    from helpers.local.iam.policy import NamedPolicy, evaluate

    return evaluate([NamedPolicy("p", policy)], action, resource, context).allowed


def test_pod_policy_lets_the_pods_make_the_model_and_the_transform_job_and_no_more() -> None:
    settings = _settings()
    policy = policies.pod_policy(settings, ACCOUNT, ROLE)
    sm = f"arn:aws:sagemaker:us-west-2:{ACCOUNT}"
    model = f"{sm}:model/mini-image-classification-model-0a1b2c3d"
    job = f"{sm}:transform-job/mini-image-classification-predictions-0a1b2c3d"
    for action in ("CreateModel", "DescribeModel", "AddTags"):
        assert _allows(policy, f"sagemaker:{action}", model), action
    for action in ("CreateTransformJob", "DescribeTransformJob", "StopTransformJob", "AddTags"):
        assert _allows(policy, f"sagemaker:{action}", job), action
    statements = _by_sid(policy)
    assert statements["Models"]["Resource"] == f"{sm}:model/*"
    assert statements["TransformJobs"]["Resource"] == f"{sm}:transform-job/*"
    # the pods create and stop, the notebooks clean up: no deleting from a pipeline pod
    assert not _allows(policy, "sagemaker:DeleteModel", model)
    assert not _allows(policy, "sagemaker:CreateEndpoint", f"{sm}:endpoint/x")
    assert not _allows(policy, "sagemaker:CreateModel", f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:m")
    # the official batch transform program prints the job's CloudWatch logs
    logs = f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:/aws/sagemaker/TransformJobs:log-stream:x"
    assert _allows(policy, "logs:GetLogEvents", logs)
    # CreateModel passes the execution role (ExecutionRoleArn) to SageMaker, as training does
    to_sagemaker = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert _allows(policy, "iam:PassRole", ROLE, **to_sagemaker)
    assert not _allows(policy, "iam:PassRole", ROLE, **{"iam:PassedToService": "ec2.amazonaws.com"})
    # evaluate reads the test labels and the predictions under the prefix
    layout = settings.layout
    for uri in (layout.test_labels, layout.predictions("0a1b2c3d") + "x.jpg.out"):
        assert _allows(policy, "s3:GetObject", "arn:aws:s3:::" + uri.removeprefix("s3://"))


def test_with_predictions_off_the_pod_policy_is_as_before() -> None:
    values = {"mode": "aws", "bucket": BUCKET, "prefix": PREFIX, "role_arn": ROLE}
    off = load({**values, "test_images_per_class": 0}, env={})
    assert not off.predictions
    sids = set(_by_sid(policies.pod_policy(off, ACCOUNT, ROLE)))
    assert not sids & {"Models", "TransformJobs", "TransformLogs"}


def test_execution_policy_lets_the_transform_job_read_test_images_and_write_predictions() -> None:
    settings = _settings()
    policy = policies.execution_policy(settings, ACCOUNT)
    layout = settings.layout
    image = "arn:aws:s3:::" + layout.test_image_uri("x.jpg").removeprefix("s3://")
    out = "arn:aws:s3:::" + (layout.predictions("0a1b2c3d") + "x.jpg.out").removeprefix("s3://")
    assert _allows(policy, "s3:GetObject", image)
    assert _allows(policy, "s3:PutObject", out)
    listing = {"s3:prefix": layout.test_image_keys}
    assert _allows(policy, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", **listing)
    logs = f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:/aws/sagemaker/TransformJobs"
    assert _allows(policy, "logs:CreateLogStream", logs)


def test_walkthrough_policy_can_clean_up_models_and_transform_jobs() -> None:
    policy = policies.walkthrough_policy(_settings(), ACCOUNT)
    sm = f"arn:aws:sagemaker:us-west-2:{ACCOUNT}"
    for action, resource in (
        ("ListModels", "*"),
        ("ListTransformJobs", "*"),
        ("ListTags", f"{sm}:model/m"),
        ("DescribeModel", f"{sm}:model/m"),
        ("DeleteModel", f"{sm}:model/m"),
        ("DescribeTransformJob", f"{sm}:transform-job/j"),
        ("StopTransformJob", f"{sm}:transform-job/j"),
    ):
        assert _allows(policy, f"sagemaker:{action}", resource), action
