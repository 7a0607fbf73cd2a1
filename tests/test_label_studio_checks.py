"""Setup checks of the Label Studio backend, against a real Label Studio server and the local AWS:
all pass on a ready setup; each broken piece fails, and the fix it prints repairs it."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from helpers import policies, provision
from helpers.aws import Aws
from helpers.checks import FAIL, PASS, SKIP, Result, run_checks
from helpers.labelstudio import token
from helpers.labelstudio.annotators import annotator_emails
from helpers.local.labelstudio import server as local_server
from helpers.settings import Settings, load
from tests import label_studio_support

label_studio = label_studio_support.label_studio  # the session's real Label Studio (a fixture)

REGION = "eu-central-1"
BUCKET = "ls-checks-tests"
PREFIX = "ls-checks/demo"
#: roles and cluster of these tests' own: create-missing in this region must not re-point the
#: default roles' trust (other tests of the session's local AWS use them in us-west-2)
OWN_SETUP = {
    "role_arn": "arn:aws:iam::123456789012:role/ls-checks-execution-role",
    "kfp_pod_role_arn": "arn:aws:iam::123456789012:role/ls-checks-pod-role",
    "eks_cluster_name": "ls-checks-cluster",
}
PARAMETERS = {
    "region": REGION,
    "bucket": BUCKET,
    "prefix": PREFIX,
    "labeling_backend": "label_studio",
    "labelers": "ana,bo@example.com,cy",
    **OWN_SETUP,
}
BIN = Path(sys.executable).parent
LABEL_STUDIO_CHECKS = (15, 16, 17, 18)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class Setup:
    """The settings, the local AWS and the server of these tests."""

    settings: Settings
    aws: Aws
    server: label_studio_support.LabelStudio

    def check(self, number: int, settings: Settings | None = None, **probes: Any) -> Result:
        (result,) = run_checks(settings or self.settings, self.aws, only={number}, **probes)
        return result


@pytest.fixture(scope="module")
def setup(label_studio: label_studio_support.LabelStudio, local_aws_url: str) -> Setup:
    """A bucket with one staged image, and the local Label Studio (labeler-1..3 only)."""
    settings = load(PARAMETERS, env={})
    aws = Aws(settings, boto3.session.Session(region_name=REGION), local_url=local_aws_url)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/images/a.jpg", Body=b"\xff\xd8\xff")
    return Setup(settings, aws, label_studio)


def account_file(setup: Setup) -> Path:
    return setup.server.folder / local_server.ACCOUNT_FILE


@pytest.fixture(autouse=True)
def _no_token_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(token.TOKEN_ENV, raising=False)


def test_missing_annotators_fail_and_create_missing_makes_them(setup: Setup) -> None:
    result = setup.check(18)
    assert result.status == FAIL
    for email in ("ana@walkthrough.local", "bo@example.com", "cy@walkthrough.local"):
        assert email in result.found
    assert "create_missing" in result.fix
    steps = provision.create_missing(setup.settings, setup.aws)
    made = {s.piece: s for s in steps}["Label Studio annotators"]
    assert made.outcome == "created", made
    assert "Cognito user pool" not in {s.piece for s in steps}  # no Ground Truth workforce
    assert setup.check(18).status == PASS
    account = json.loads(account_file(setup).read_text())
    assert set(annotator_emails(setup.settings)) <= set(account["annotators"])


def test_too_few_labelers_for_the_annotations_per_task(setup: Setup) -> None:
    fewer = dataclasses.replace(
        setup.settings, labelers="ana", ground_truth_num_workers_per_object=3
    )
    result = setup.check(18, fewer)
    assert result.status == FAIL
    assert "1 labeler(s), but each task asks for 3 annotations" in result.found


def test_a_ready_setup_passes_and_ground_truth_checks_skip(setup: Setup) -> None:
    local_server.add_annotators(annotator_emails(setup.settings), setup.server.folder)
    results = {r.number: r for r in run_checks(setup.settings, setup.aws)}
    for number in LABEL_STUDIO_CHECKS:
        assert results[number].status == PASS, results[number]
    assert "Label Studio 1." in results[15].found
    assert "may create projects" in results[16].found
    # the pod role create-missing made (first test) reads the manifests and writes the output
    assert results[7].status == PASS, results[7]
    assert "Label Studio's step" in results[7].found
    for number in (2, 9, 10, 14):  # region Lambdas, workforce, names, Ground Truth access
        assert results[number].status == SKIP
        assert results[number].found == "labeling backend is label_studio"


def test_ground_truth_backend_shows_no_label_studio_rows(setup: Setup) -> None:
    ground_truth = dataclasses.replace(setup.settings, labeling_backend="ground_truth")
    numbers = {r.number for r in run_checks(ground_truth, setup.aws, only={1, 2, 15, 16, 17, 18})}
    assert numbers == {1, 2}


def test_bad_url_fails_and_the_right_one_passes(setup: Setup) -> None:
    closed = f"http://127.0.0.1:{closed_port()}"
    wrong = dataclasses.replace(setup.settings, label_studio_url=closed)
    result = setup.check(15, wrong, label_studio=lambda s: token.client(s, {token.TOKEN_ENV: "x"}))
    assert result.status == FAIL
    assert closed in result.found and "does not answer" in result.found
    right = dataclasses.replace(setup.settings, label_studio_url=setup.server.url)
    assert setup.check(15, right).status == PASS


def test_bad_token_fails_and_a_good_one_passes(setup: Setup, tmp_path: Path) -> None:
    result = setup.check(16, label_studio=lambda s: token.client(s, {token.TOKEN_ENV: "wrong"}))
    assert result.status == FAIL
    assert "refuses the API token" in result.found
    assert "wrong" not in result.found + result.fix
    file = tmp_path / "token"
    file.write_text(setup.server.admin_token)
    with_file = dataclasses.replace(setup.settings, label_studio_token_file=str(file))
    passed = setup.check(16, with_file, label_studio=lambda s: token.client(s, {}))
    assert passed.status == PASS
    assert setup.server.admin_token not in passed.found


def test_storage_on_a_missing_bucket_fails_and_its_fix_repairs_it(setup: Setup) -> None:
    other = dataclasses.replace(setup.settings, bucket="ls-checks-missing")
    result = setup.check(17, other)
    assert result.status == FAIL
    assert "does not exist" in result.found
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    for command in result.commands:
        done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
    empty = setup.check(17, other)
    assert empty.status == FAIL
    assert "no images are staged" in empty.found and "notebook 01" in empty.fix
    s3 = setup.aws.client("s3")
    s3.put_object(Bucket=other.bucket, Key=f"{PREFIX}/images/b.jpg", Body=b"\xff\xd8\xff")
    assert setup.check(17, other).status == PASS


def test_label_studio_role_policy_reads_images_and_lists_the_prefix() -> None:
    layout = load(PARAMETERS, env={}).layout
    document = policies.label_studio_policy(layout)
    actions = {st["Sid"]: st["Action"] for st in document["Statement"]}
    assert actions == {"ReadTheImages": "s3:GetObject", "ListThePrefix": "s3:ListBucket"}
    assert document["Statement"][0]["Resource"] == f"arn:aws:s3:::{BUCKET}/{PREFIX}/images/*"


def test_pod_policy_with_label_studio_has_no_ground_truth_statements() -> None:
    settings = load(PARAMETERS, env={})
    document = policies.pod_policy(settings, "123456789012", "arn:aws:iam::123456789012:role/x")
    sids = {st["Sid"] for st in document["Statement"]}
    assert not sids & set(policies.GROUND_TRUTH_POD_SIDS)
    assert {"LabeledDataAndTrainingInputs", "LabelStudioStepListsThePrefix"} <= sids
    ground_truth = dataclasses.replace(settings, labeling_backend="ground_truth")
    gt_sids = {st["Sid"] for st in policies.pod_policy(ground_truth, "1", "r")["Statement"]}
    assert set(policies.GROUND_TRUTH_POD_SIDS) <= gt_sids
