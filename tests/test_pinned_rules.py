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
