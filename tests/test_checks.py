"""Setup checks on the local AWS: all pass on a fresh setup; each broken piece fails, and the
fix the check prints (run through the AWS CLI) repairs it."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers import cognito, components, dataset, local, policies, provision
from helpers.aws import Aws
from helpers.checks import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    Result,
    ready,
    run_checks,
    styled_table,
    summary,
    text_table,
)
from helpers.checks.context import Context
from helpers.checks.model import cli
from helpers.checks.runner import Check, guarded
from helpers.s3 import GROUND_TRUTH_CORS_RULE, ensure_bucket
from helpers.settings import Settings, load
from tests.support import execute_notebook

REGION = "eu-west-1"  # us-west-2 has other tests' private workforce (one per region)
BUCKET = "gt-checks-tests"
PREFIX = "checks-tests/demo"
ACCOUNT = "123456789012"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/checks-test-execution-role"
POD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/checks-test-pod-role"
CLUSTER = "checks-test-cluster"
GROUP = "checks-test-labelers"
PARAMETERS = {
    "region": REGION,
    "bucket": BUCKET,
    "prefix": PREFIX,
    "images_per_class": 10,
    "role_arn": EXECUTION_ROLE,
    "kfp_pod_role_arn": POD_ROLE,
    "eks_cluster_name": CLUSTER,
    "user_groups": GROUP,
}
BIN = Path(sys.executable).parent
#: Checks that cannot pass locally, with why: no Kubernetes, no KFP API, no Service Quotas.
LOCAL_SKIPS = {
    8: "no Kubernetes cluster",
    11: "local runner",
    12: "the local AWS does not emulate Service Quotas",
}


@dataclasses.dataclass
class Setup:
    """A fresh local setup made by create-missing, and its settings (pool and client resolved)."""

    settings: Settings
    aws: Aws
    steps: list[provision.Step]

    def client(self, name: str) -> Any:
        return self.aws.client(name)

    def check(self, number: int, settings: Settings | None = None, **probes: Any) -> Result:
        (result,) = run_checks(settings or self.settings, self.aws, only={number}, **probes)
        return result


@pytest.fixture(scope="module")
def setup(local_aws_url: str) -> Setup:
    """Notebook 01's inputs staged in eu-west-1, then `create_missing` for everything else."""
    settings = load(PARAMETERS, env={})
    aws = Aws(settings, boto3.session.Session(region_name=REGION))
    s3 = aws.client("s3")
    ensure_bucket(s3, BUCKET, REGION, create=True)
    chosen = dataset.choose_images(settings, s3, dataset.load_annotations(settings, s3))
    dataset.stage_images(settings, s3, chosen)
    dataset.write_inputs(settings, s3, chosen)
    steps = provision.create_missing(settings, aws)
    return Setup(cognito.with_workforce_pool(settings, aws), aws, steps)


def run_fixes(result: Result) -> list[str]:
    """Run the `aws` commands a check printed, as a user would paste them into bash."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    ran = []
    for command in result.commands:
        if not command.startswith("aws "):
            continue  # eksctl / kubectl alternatives need a real cluster
        done = subprocess.run(
            ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        ran.append(command)
    assert ran, f"no aws command to run in {result.commands}"
    return ran


def test_create_missing_builds_every_piece_tagged(setup: Setup) -> None:
    outcomes = {step.piece: step.outcome for step in setup.steps}
    assert outcomes["S3 bucket"] == "exists"  # staged first, as notebook 01 does
    for piece in (
        "SageMaker execution role",
        "Cognito domain",
        "Cognito app client",
        "Cognito group",
        "Cognito users",
        "private workforce",
        "EKS cluster",
        "IAM OIDC provider",
        "KFP pod role",
    ):
        assert outcomes[piece] == "created", (piece, setup.steps)
    iam = setup.client("iam")
    for arn in (EXECUTION_ROLE, POD_ROLE):
        tags = iam.list_role_tags(RoleName=policies.role_name(arn))["Tags"]
        assert {"Key": "walkthrough-setup", "Value": "true"} in tags
        attached = iam.list_attached_role_policies(RoleName=policies.role_name(arn))
        assert attached["AttachedPolicies"] == []  # least privilege inline, no FullAccess
    workforce = cognito.private_workforce(setup.client("sagemaker"))
    assert workforce["CognitoConfig"]["UserPool"] == setup.settings.user_pool
    tags = setup.client("sagemaker").list_tags(ResourceArn=workforce["WorkforceArn"])["Tags"]
    assert {"Key": "walkthrough-shared", "Value": "true"} in tags
    members = cognito.group_members(setup.client("cognito-idp"), setup.settings.user_pool, GROUP)
    assert sorted(members) == ["labeler-1", "labeler-2", "labeler-3"]


def test_every_check_passes_on_a_fresh_local_setup(setup: Setup) -> None:
    results = run_checks(setup.settings, setup.aws)
    assert [r.number for r in results] == list(range(1, 15))
    for r in results:
        if r.number in LOCAL_SKIPS:
            assert r.status == SKIP and LOCAL_SKIPS[r.number] in r.found, r
            assert "not available in the current Region" not in r.found, r  # say why, plainly
        else:
            assert r.status == PASS, r
    assert ready(results)
    assert "ready to run" in summary(results) and "NOT" not in summary(results)
    workforce = next(r for r in results if r.name == "workforce")
    # in local mode the link is the local AWS's own portal (http, as its endpoint), and opens it
    link = workforce.found.split("labeling portal: ", 1)[1].split()[0]
    assert link.startswith("http://localhost:")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(link, timeout=30) as page:
        assert "<h1>Sign in</h1>" in page.read().decode()


def test_create_missing_twice_creates_nothing(setup: Setup, local_aws_url: str) -> None:
    local.reset_request_counts(local_aws_url)
    steps = provision.create_missing(setup.settings, setup.aws)
    assert {step.outcome for step in steps} == {"exists"}, steps
    writes = {
        k: v
        for k, v in local.request_counts(local_aws_url).items()
        if k.split(".")[1].startswith(("Create", "Put", "Update", "Admin"))
    }
    assert writes == {}


def test_a_new_prefix_widens_our_roles_and_keeps_the_old_one(setup: Setup) -> None:
    second = dataclasses.replace(setup.settings, prefix="checks-tests/second-run")
    result = setup.check(5, second)
    assert result.status == FAIL and "checks-tests/second-run/train.manifest" in result.found
    run_fixes(result)  # the printed put-role-policy widens the policy...
    for settings in (setup.settings, second):  # ...without taking the first prefix away
        assert setup.check(5, settings).status == PASS
    steps = {s.piece: s for s in provision.create_missing(second, setup.aws)}
    assert steps["SageMaker execution role"].outcome == "exists"  # the fix already did it
    assert steps["KFP pod role"].outcome == "widened", steps["KFP pod role"]
    for settings in (setup.settings, second):
        assert setup.check(7, settings).status == PASS
    again = provision.create_missing(second, setup.aws)
    assert {step.outcome for step in again} == {"exists"}, again


def test_create_missing_leaves_a_role_it_did_not_make(setup: Setup) -> None:
    iam = setup.client("iam")
    iam.create_role(
        RoleName="checks-test-theirs",
        AssumeRolePolicyDocument=json.dumps(policies.sagemaker_trust()),
    )
    theirs = dataclasses.replace(
        setup.settings, role_arn=f"arn:aws:iam::{ACCOUNT}:role/checks-test-theirs"
    )
    steps = {s.piece: s for s in provision.create_missing(theirs, setup.aws)}
    step = steps["SageMaker execution role"]
    assert step.outcome == "exists" and "not made by the walkthrough" in step.detail
    assert iam.list_role_policies(RoleName="checks-test-theirs")["PolicyNames"] == []
    assert setup.check(5, theirs).status == FAIL  # the check says what it lacks instead


# --- each piece broken, then repaired by the printed fix ------------------------------------------


def _trust(setup: Setup, **changes: str) -> dict[str, Any]:
    cluster = setup.client("eks").describe_cluster(name=CLUSTER)["cluster"]
    issuer = changes.get("issuer", cluster["identity"]["oidc"]["issuer"])
    doc = policies.irsa_trust(
        ACCOUNT, issuer, "kubeflow", changes.get("service_account", "pipeline-runner")
    )
    if changes.get("https"):
        host = policies.issuer_host(issuer)
        statement = doc["Statement"][0]
        statement["Principal"]["Federated"] = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"
        statement["Condition"]["StringEquals"] = {
            f"https://{host}:aud": "sts.amazonaws.com",
            f"https://{host}:sub": "system:serviceaccount:kubeflow:pipeline-runner",
        }
    return doc


def _set_trust(setup: Setup, **changes: str) -> None:
    setup.client("iam").update_assume_role_policy(
        RoleName="checks-test-pod-role", PolicyDocument=json.dumps(_trust(setup, **changes))
    )


def _remove_cors(setup: Setup) -> None:
    setup.client("s3").delete_bucket_cors(Bucket=BUCKET)


def _cors_without_get(setup: Setup) -> None:
    """A rule for every origin that does not allow GET: workers could not load the images."""
    rule = {"AllowedMethods": ["PUT", "HEAD"], "AllowedOrigins": ["*"]}
    setup.client("s3").put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": [rule]})


def _delete_an_image(setup: Setup) -> None:
    s3 = setup.client("s3")
    manifest = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/train.manifest")["Body"].read()
    first = json.loads(manifest.decode().splitlines()[0])["source-ref"]
    s3.delete_object(Bucket=BUCKET, Key=first.split("/", 3)[3])


def _remove_execution_policy(setup: Setup) -> None:
    setup.client("iam").delete_role_policy(
        RoleName="checks-test-execution-role", PolicyName=policies.EXECUTION_POLICY_NAME
    )


def _execution_trusts_ec2(setup: Setup) -> None:
    doc = policies.sagemaker_trust()
    doc["Statement"][0]["Principal"]["Service"] = "ec2.amazonaws.com"
    setup.client("iam").update_assume_role_policy(
        RoleName="checks-test-execution-role", PolicyDocument=json.dumps(doc)
    )


def _delete_oidc_provider(setup: Setup) -> None:
    issuer = setup.client("eks").describe_cluster(name=CLUSTER)["cluster"]["identity"]["oidc"]
    arn = policies.oidc_provider_arn(ACCOUNT, issuer["issuer"])
    setup.client("iam").delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


def _drop_pass_role(setup: Setup) -> None:
    doc = policies.pod_policy(setup.settings, ACCOUNT, EXECUTION_ROLE)
    doc["Statement"] = [st for st in doc["Statement"] if st["Action"] != "iam:PassRole"]
    setup.client("iam").put_role_policy(
        RoleName="checks-test-pod-role",
        PolicyName=policies.POD_POLICY_NAME,
        PolicyDocument=json.dumps(doc),
    )


def _drop_create_transform_job(setup: Setup) -> None:
    """The pod role as an administrator wrote it before predictions: no CreateTransformJob."""
    doc = policies.pod_policy(setup.settings, ACCOUNT, EXECUTION_ROLE)
    for statement in doc["Statement"]:
        actions = statement["Action"]
        if isinstance(actions, list):
            statement["Action"] = [a for a in actions if a != "sagemaker:CreateTransformJob"]
    setup.client("iam").put_role_policy(
        RoleName="checks-test-pod-role",
        PolicyName=policies.POD_POLICY_NAME,
        PolicyDocument=json.dumps(doc),
    )


def _execution_role_per_folder(setup: Setup) -> None:
    """An execution role granted folder by folder, as before predictions: no test/, predictions/."""
    doc = policies.execution_policy(setup.settings, ACCOUNT)
    layout = setup.settings.layout
    folders = ("images", "output", "training-input", "training-output")
    files = ("train.manifest", "validation.manifest", "class_labels.json", "instructions.template")
    doc["Statement"][0]["Resource"] = [
        *(f"arn:aws:s3:::{BUCKET}/{layout.key(f)}" for f in files),
        *(f"arn:aws:s3:::{BUCKET}/{layout.key(f)}/*" for f in folders),
    ]
    setup.client("iam").put_role_policy(
        RoleName="checks-test-execution-role",
        PolicyName=policies.EXECUTION_POLICY_NAME,
        PolicyDocument=json.dumps(doc),
    )


def _empty_group(setup: Setup) -> None:
    idp = setup.client("cognito-idp")
    pool = setup.settings.user_pool
    for user in cognito.group_members(idp, pool, GROUP):
        idp.admin_remove_user_from_group(UserPoolId=pool, Username=user, GroupName=GROUP)


def _delete_group(setup: Setup) -> None:
    idp = setup.client("cognito-idp")
    idp.delete_group(UserPoolId=setup.settings.user_pool, GroupName=GROUP)


def _workforce_with_another_pool(setup: Setup) -> None:
    idp = setup.client("cognito-idp")
    sm = setup.client("sagemaker")
    pool = idp.create_user_pool(PoolName="someone-elses-pool")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="theirs")
    name = cognito.private_workforce(sm)["WorkforceName"]
    sm.delete_workforce(WorkforceName=name)
    sm.create_workforce(
        WorkforceName=name,
        CognitoConfig={"UserPool": pool, "ClientId": client["UserPoolClient"]["ClientId"]},
    )


BREAKS: list[tuple[str, int, str, Callable[[Setup], None]]] = [
    ("cors-removed", 3, "no CORS rule", _remove_cors),
    ("cors-every-origin-without-get", 3, "allows GET from any origin", _cors_without_get),
    ("missing-image", 4, "objects named in the manifests are missing", _delete_an_image),
    ("execution-policy-removed", 5, "may not s3:GetObject", _remove_execution_policy),
    ("execution-trust-not-sagemaker", 5, "does not trust sagemaker", _execution_trusts_ec2),
    (
        "trust-other-service-account",
        6,
        "system:serviceaccount:kubeflow:someone-else",
        lambda s: _set_trust(s, service_account="someone-else"),
    ),
    (
        "trust-other-issuer",
        6,
        "not this cluster's provider",
        lambda s: _set_trust(s, issuer="https://oidc.eks.eu-west-1.amazonaws.com/id/0THER0"),
    ),
    ("trust-with-https", 6, "without https://", lambda s: _set_trust(s, https="yes")),
    ("oidc-provider-missing", 6, "no IAM OIDC provider", _delete_oidc_provider),
    ("pass-role-missing", 7, "iam:PassRole", _drop_pass_role),
    (
        "pod-role-lacks-create-transform-job",
        7,
        "may not sagemaker:CreateTransformJob on arn:aws:sagemaker:eu-west-1:123456789012:"
        "transform-job/mini-image-classification-predictions-00000000",
        _drop_create_transform_job,
    ),
    (
        "execution-role-without-test-images-and-predictions",
        5,
        f"s3:PutObject on s3://{BUCKET}/{PREFIX}/predictions/00000000/x.jpg.out",
        _execution_role_per_folder,
    ),
    ("empty-group", 9, "has 0 user(s), fewer than the 3 workers", _empty_group),
    ("group-missing", 9, f"group {GROUP} does not exist", _delete_group),
    ("workforce-with-another-pool", 9, "uses pool", _workforce_with_another_pool),
]


@pytest.mark.parametrize(
    ("number", "expected", "breaks"), [b[1:] for b in BREAKS], ids=[b[0] for b in BREAKS]
)
def test_a_broken_piece_fails_and_the_printed_fix_repairs_it(
    setup: Setup, number: int, expected: str, breaks: Callable[[Setup], None]
) -> None:
    assert setup.check(number).status == PASS
    breaks(setup)
    broken = setup.check(number)
    assert broken.status == FAIL, broken
    assert expected in broken.found, broken.found
    run_fixes(broken)
    repaired = setup.check(number)
    assert repaired.status == PASS, repaired


def test_bucket_in_another_region_names_the_setting_to_change(setup: Setup) -> None:
    boto3.client("s3", region_name="us-west-2").create_bucket(
        Bucket="gt-checks-elsewhere",
        CreateBucketConfiguration={"LocationConstraint": "us-west-2"},
    )
    result = setup.check(3, dataclasses.replace(setup.settings, bucket="gt-checks-elsewhere"))
    assert result.status == FAIL
    assert "is in us-west-2, but the session region is eu-west-1" in result.found
    assert "region='us-west-2'" in result.fix and result.commands == ()


def test_a_team_name_taken_by_someone_else_fails_until_tagged_ours(setup: Setup) -> None:
    sm = setup.client("sagemaker")
    member = {"UserPool": setup.settings.user_pool, "UserGroup": GROUP}
    member["ClientId"] = setup.settings.client_id
    sm.create_workteam(
        WorkteamName="checks-taken-team",
        Description="not ours",
        MemberDefinitions=[{"CognitoMemberDefinition": member}],
    )
    try:
        settings = dataclasses.replace(setup.settings, team_name="checks-taken-team")
        taken = setup.check(10, settings)
        assert taken.status == FAIL and "already exists" in taken.found
        run_fixes(taken)  # the fix tags it as the walkthrough's, to reuse it
        assert setup.check(10, settings).status == PASS
        free = dataclasses.replace(setup.settings, team_name="checks-free-team")
        assert setup.check(10, free).status == PASS
    finally:
        sm.delete_workteam(WorkteamName="checks-taken-team")


def test_names_are_generated_per_run_when_unset(setup: Setup) -> None:
    result = setup.check(10)
    assert result.status == PASS and "generated per run" in result.found


def test_fewer_users_than_workers_fails_and_the_fix_adds_them(setup: Setup) -> None:
    settings = dataclasses.replace(setup.settings, ground_truth_num_workers_per_object=5)
    result = setup.check(9, settings)
    assert result.status == FAIL and "3 user(s), fewer than the 5 workers" in result.found
    assert len(result.commands) == 2 and "labeler-4" in result.commands[0]
    run_fixes(result)
    assert setup.check(9, settings).status == PASS


def test_an_empty_group_with_one_worker_per_object_warns(setup: Setup) -> None:
    idp = setup.client("cognito-idp")
    idp.create_group(UserPoolId=setup.settings.user_pool, GroupName="checks-empty-group")
    settings = dataclasses.replace(
        setup.settings, user_groups="checks-empty-group", ground_truth_num_workers_per_object=1
    )
    result = setup.check(9, settings)
    assert result.status == WARN and "no users" in result.found
    idp.delete_group(UserPoolId=setup.settings.user_pool, GroupName="checks-empty-group")


def test_full_access_policies_warn_and_the_fix_replaces_them(setup: Setup) -> None:
    iam = setup.client("iam")
    arn = iam.create_role(
        RoleName="checks-test-broad-role",
        AssumeRolePolicyDocument=json.dumps(policies.sagemaker_trust()),
    )["Role"]["Arn"]
    for name in ("AmazonSageMakerFullAccess", "AmazonS3FullAccess"):
        iam.attach_role_policy(
            RoleName="checks-test-broad-role", PolicyArn=f"arn:aws:iam::aws:policy/{name}"
        )
    settings = dataclasses.replace(setup.settings, role_arn=arn)
    result = setup.check(5, settings)
    assert result.status == WARN, result
    assert "AmazonS3FullAccess" in result.found and "AmazonSageMakerFullAccess" in result.found
    run_fixes(result)  # put the least-privilege policy, detach the FullAccess ones
    assert setup.check(5, settings).status == PASS
    assert (
        iam.list_attached_role_policies(RoleName="checks-test-broad-role")["AttachedPolicies"] == []
    )


def test_a_pod_identity_role_is_recognised_and_skipped_with_the_reason(setup: Setup) -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    arn = setup.client("iam").create_role(
        RoleName="checks-test-pod-identity-role", AssumeRolePolicyDocument=json.dumps(doc)
    )["Role"]["Arn"]
    result = setup.check(6, dataclasses.replace(setup.settings, kfp_pod_role_arn=arn))
    assert result.status == SKIP
    assert "EKS Pod Identity" in result.found and "ListPodIdentityAssociations" in result.found


def test_the_official_set_needs_irsa_not_pod_identity(setup: Setup) -> None:
    """Defect 10: the official image's boto3 1.14 cannot use EKS Pod Identity (>= 1.34.41)."""
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    arn = setup.client("iam").create_role(
        RoleName="checks-test-pod-identity-official", AssumeRolePolicyDocument=json.dumps(doc)
    )["Role"]["Arn"]
    official = dataclasses.replace(setup.settings, kfp_pod_role_arn=arn, component_set="official")
    result = setup.check(6, official)
    assert result.status == FAIL, result
    assert "EKS Pod Identity" in result.found and "1.34.41" in result.found
    assert "component_set=python" in result.fix
    run_fixes(result)  # IRSA added next to the Pod Identity trust
    assert setup.check(6, official).status == PASS
    # the Python set's boto3 takes Pod Identity credentials: its floor says so
    assert components.PYTHON_PACKAGES == ["boto3>=1.34.41,<2"]


def test_region_without_ground_truth_fails(setup: Setup) -> None:
    result = setup.check(2, dataclasses.replace(setup.settings, region="us-west-1"))
    assert result.status == FAIL and "eu-west-1" in result.fix


def test_roles_of_another_account_fail_the_credentials_check(setup: Setup) -> None:
    other = "arn:aws:iam::999999999999:role/theirs"
    result = setup.check(1, dataclasses.replace(setup.settings, role_arn=other))
    assert result.status == FAIL and "account 999999999999" in result.found


def test_a_labeling_job_name_is_taken_ignoring_case(setup: Setup) -> None:
    sm = setup.client("sagemaker")
    member = {
        "UserPool": setup.settings.user_pool,
        "UserGroup": GROUP,
        "ClientId": setup.settings.client_id,
    }
    team = sm.create_workteam(
        WorkteamName="checks-job-team",
        Description="for a job",
        MemberDefinitions=[{"CognitoMemberDefinition": member}],
    )["WorkteamArn"]
    base = f"s3://{BUCKET}/{PREFIX}"
    sm.create_labeling_job(
        LabelingJobName="Checks-Taken-Job",
        LabelAttributeName="category",
        InputConfig={"DataSource": {"S3DataSource": {"ManifestS3Uri": f"{base}/train.manifest"}}},
        OutputConfig={"S3OutputPath": f"{base}/output"},
        RoleArn=EXECUTION_ROLE,
        LabelCategoryConfigS3Uri=f"{base}/class_labels.json",
        HumanTaskConfig={
            "WorkteamArn": team,
            "UiConfig": {"UiTemplateS3Uri": f"{base}/instructions.template"},
            "PreHumanTaskLambdaArn": "arn:aws:lambda:eu-west-1:568282634449:function:"
            "PRE-ImageMultiClass",
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": "arn:aws:lambda:eu-west-1:568282634449:"
                "function:ACS-ImageMultiClass"
            },
        },
    )
    sm.stop_labeling_job(LabelingJobName="Checks-Taken-Job")
    settings = dataclasses.replace(setup.settings, ground_truth_train_job_name="checks-taken-job")
    result = setup.check(10, settings)
    assert result.status == FAIL
    assert "Checks-Taken-Job already exists" in result.found and "ignoring case" in result.found
    assert "ground_truth_train_job_name" in result.fix


# --- checks that need Kubernetes or the KFP API (aws mode), with stand-ins ------------------------


class FakeServiceAccounts:
    """A stand-in for the Kubernetes CoreV1Api: one service account with some annotations."""

    def __init__(self, annotations: dict[str, str] | None, status: int | None = None) -> None:
        self.annotations = annotations
        self.status = status

    def read_namespaced_service_account(self, name: str, namespace: str, **_: Any) -> Any:
        if self.status:
            error = RuntimeError("denied")
            error.status = self.status  # type: ignore[attr-defined]
            raise error
        metadata = type("Meta", (), {"annotations": self.annotations})
        return type("SA", (), {"metadata": metadata})


def test_service_account_annotation_is_checked_where_a_cluster_is_reachable(setup: Setup) -> None:
    def cluster(api: Any) -> Callable[[Settings], tuple[Any, str]]:
        return lambda settings: (api, "kubeconfig")

    assert setup.check(8).status == SKIP  # local mode: no cluster
    right = FakeServiceAccounts({"eks.amazonaws.com/role-arn": POD_ROLE})
    assert setup.check(8, kubernetes=cluster(right)).status == PASS
    missing = setup.check(8, kubernetes=cluster(FakeServiceAccounts({})))
    assert missing.status == FAIL
    assert missing.commands == (
        "kubectl annotate serviceaccount -n kubeflow pipeline-runner "
        f"eks.amazonaws.com/role-arn={POD_ROLE} --overwrite",
    )
    denied = setup.check(8, kubernetes=cluster(FakeServiceAccounts({}, status=403)))
    assert denied.status == SKIP and "not allowed" in denied.found


def test_kfp_api_check_in_aws_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers.checks import cluster

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KF_PIPELINES_ENDPOINT", raising=False)
    settings = load({"mode": "aws", "bucket": "my-bucket"}, env={})
    ctx = Context(settings, aws=None)
    nowhere = cluster.kfp_api(ctx)
    assert nowhere.status == FAIL and "port-forward" in nowhere.commands[0]
    with_host = dataclasses.replace(settings, kfp_host="http://localhost:8080")

    def broken(_: Settings) -> str:
        raise ConnectionError("connection refused")

    assert cluster.kfp_api(Context(with_host, None, kfp_health=broken)).status == FAIL
    answering = cluster.kfp_api(Context(with_host, None, kfp_health=lambda _: "multi-user: False"))
    assert answering.status == PASS and "localhost:8080" in answering.found


class FakeQuotas:
    """A stand-in for Service Quotas: SageMaker's training and transform quotas, AWS's shapes."""

    def __init__(self, value: float, transform: float = 4) -> None:
        self.values = {"L-123": value, "L-456": transform}

    def client(self, service: str) -> FakeQuotas:
        assert service == "service-quotas"
        return self

    def get_paginator(self, name: str) -> FakeQuotas:
        assert name == "list_aws_default_service_quotas"
        return self

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        training = {"QuotaName": "ml.p3.2xlarge for training job usage", "QuotaCode": "L-123"}
        transform = {"QuotaName": "ml.c5.xlarge for transform job usage", "QuotaCode": "L-456"}
        other = {"QuotaName": "ml.c5.xlarge for training job usage", "QuotaCode": "L-789"}
        return [
            {"Quotas": [{**training, "Value": 0.0}, {**other, "Value": 0.0}]},
            {"Quotas": [{**transform, "Value": 2.0}]},
        ]

    def get_service_quota(self, QuotaCode: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        return {"Quota": {"Value": self.values[QuotaCode]}}


def test_a_gpu_quota_below_the_instance_count_fails_with_the_request_command() -> None:
    from helpers.checks import account

    settings = load({"region": REGION}, env={})
    low = account.training_instance(Context(settings, FakeQuotas(0)))
    assert low.status == FAIL and "is 0, below training_instance_count=1" in low.found
    assert low.commands == (
        "aws service-quotas request-service-quota-increase --service-code sagemaker "
        "--quota-code L-123 --desired-value 1 --region eu-west-1",
    )
    assert account.training_instance(Context(settings, FakeQuotas(2))).status == PASS


def test_a_transform_quota_below_one_instance_fails_with_the_request_command() -> None:
    from helpers.checks import account

    settings = load({"region": REGION}, env={})
    assert settings.predictions and settings.transform_instance_type == "ml.c5.xlarge"
    fine = account.training_instance(Context(settings, FakeQuotas(1, transform=4)))
    assert fine.status == PASS
    assert "quota 'ml.c5.xlarge for transform job usage' is 4 (need 1)" in fine.found
    low = account.training_instance(Context(settings, FakeQuotas(1, transform=0)))
    assert low.status == FAIL, low
    assert "quota 'ml.c5.xlarge for transform job usage' is 0, below 1" in low.found
    assert "training job usage" not in low.found  # the training quota is fine
    assert "transform_instance_type" in low.fix and "GPU" not in low.fix  # CPU types do
    assert low.commands == (
        "aws service-quotas request-service-quota-increase --service-code sagemaker "
        "--quota-code L-456 --desired-value 1 --region eu-west-1",
    )
    off = dataclasses.replace(settings, test_images_per_class=0)
    unchecked = account.training_instance(Context(off, FakeQuotas(1, transform=0)))
    assert unchecked.status == PASS
    assert "transform quota is not checked: predictions are off" in unchecked.found


def test_with_predictions_off_the_pod_role_needs_no_model_or_transform_job(setup: Setup) -> None:
    off = dataclasses.replace(setup.settings, test_images_per_class=0)
    doc = policies.pod_policy(off, ACCOUNT, EXECUTION_ROLE)
    assert "Transform" not in json.dumps(doc) and "sagemaker:CreateModel" not in json.dumps(doc)
    setup.client("iam").put_role_policy(
        RoleName="checks-test-pod-role",
        PolicyName=policies.POD_POLICY_NAME,
        PolicyDocument=json.dumps(doc),
    )
    try:
        result = setup.check(7, off)
        assert result.status == PASS and "predictions are off" in result.found
        assert setup.check(7).status == FAIL  # with predictions on, the same role falls short
    finally:
        put = policies.pod_policy(setup.settings, ACCOUNT, EXECUTION_ROLE)
        setup.client("iam").put_role_policy(
            RoleName="checks-test-pod-role",
            PolicyName=policies.POD_POLICY_NAME,
            PolicyDocument=json.dumps(put),
        )


def test_a_denied_call_is_a_skip_with_the_reason(setup: Setup) -> None:
    def denied(_: Context) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "no iam:GetRole for you"}}, "GetRole"
        )

    outcome = guarded(Check(99, "x", "x", denied), Context(setup.settings, setup.aws))
    assert outcome.status == SKIP
    assert "not allowed to call GetRole" in outcome.found and "no iam:GetRole" in outcome.found


def test_broken_credentials_fail_check_1_and_skip_the_rest(setup: Setup) -> None:
    session = boto3.session.Session(
        region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y"
    )

    class NoCredentials(Aws):
        def client(self, service: str) -> Any:
            from botocore import UNSIGNED
            from botocore.config import Config

            return session.client(
                service,
                endpoint_url="http://127.0.0.1:9",
                config=Config(
                    signature_version=UNSIGNED, retries={"max_attempts": 0}, connect_timeout=1
                ),
            )

    results = run_checks(setup.settings, NoCredentials(setup.settings, session))
    assert results[0].status == FAIL and "credentials do not work" in results[0].found
    needing = [r for r in results[1:] if r.number not in (2, 11)]  # 2 and 11 need no AWS call
    assert {r.status for r in needing} == {SKIP}
    assert results[1].status == PASS


def test_local_mode_fixes_target_the_local_aws_only(setup: Setup, local_aws_url: str) -> None:
    local_aws = Aws(setup.settings, setup.aws.session, local_aws_url)  # as connect() makes it
    _remove_cors(setup)
    (broken,) = run_checks(setup.settings, local_aws, only={3})
    assert broken.status == FAIL and broken.commands
    for command in broken.commands:
        assert command.startswith("aws s3api ")
        assert command.endswith(f"--endpoint-url {local_aws_url}"), command
    run_fixes(broken)
    assert setup.check(3).status == PASS
    (text,) = run_checks(setup.settings, local_aws, only={3})
    assert "--endpoint-url" not in text_table([text])  # nothing to fix, nothing printed


# --- how results are shown ------------------------------------------------------------------------


def test_tables_show_status_found_fix_and_commands(setup: Setup) -> None:
    _remove_cors(setup)
    try:
        results = run_checks(setup.settings, setup.aws)
    finally:
        setup.client("s3").put_bucket_cors(
            Bucket=BUCKET, CORSConfiguration={"CORSRules": [GROUND_TRUTH_CORS_RULE]}
        )
    text = text_table(results)
    assert " 3  bucket" in text and "FAIL" in text and "$ aws s3api put-bucket-cors" in text
    assert "NOT ready to run (fix: 3 bucket)" in text
    html = styled_table(results).to_html()
    assert "#f8d7da" in html and "#d4edda" in html  # FAIL red, PASS green
    assert "aws s3api put-bucket-cors" in html and "<pre" in html


def test_commands_are_copy_pasteable_bash() -> None:
    command = cli(
        "iam", "put-role-policy", "eu-west-1", role_name="r", policy_document={"a": "it's"}
    )
    assert command == (
        "aws iam put-role-policy --role-name r --policy-document "
        '\'{"a": "it\'"\'"\'s"}\' --region eu-west-1'
    )


def test_the_documented_walkthrough_policy_allows_what_the_notebooks_call(setup: Setup) -> None:
    from helpers.local.iam.policy import NamedPolicy, evaluate

    s = setup.settings
    policy = [NamedPolicy("walkthrough", policies.walkthrough_policy(s, ACCOUNT))]
    bucket, objects = f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/{PREFIX}/train.manifest"
    pool = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{s.user_pool}"
    calls = [
        *[(a, bucket) for a in ("s3:ListBucket", "s3:GetBucketCORS", "s3:PutBucketCORS")],
        ("s3:CreateBucket", bucket),
        *[(a, objects) for a in ("s3:GetObject", "s3:PutObject")],
        ("s3:GetObject", "arn:aws:s3:::open-images-dataset/test/x.jpg"),
        *[
            (a, role)
            for role in (EXECUTION_ROLE, POD_ROLE)
            for a in ("iam:GetRole", "iam:ListAttachedRolePolicies", "iam:SimulatePrincipalPolicy")
        ],
        ("iam:GetOpenIDConnectProvider", f"arn:aws:iam::{ACCOUNT}:oidc-provider/x"),
        ("eks:DescribeCluster", f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"),
        *[
            (f"cognito-idp:{a}", pool)
            for a in ("DescribeUserPool", "DescribeUserPoolClient", "GetGroup", "ListUsersInGroup")
        ],
        *[
            (f"sagemaker:{a}", "*")
            for a in ("ListWorkforces", "ListWorkteams", "ListLabelingJobs", "RenderUiTemplate")
        ],
        ("servicequotas:GetServiceQuota", "*"),
    ]
    for action, resource in calls:
        assert evaluate(policy, action, resource).allowed, (action, resource)
    context = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert evaluate(policy, "iam:PassRole", EXECUTION_ROLE, context).allowed
    assert not evaluate(policy, "iam:PassRole", POD_ROLE, context).allowed


# --- the command line -----------------------------------------------------------------------------


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps(PARAMETERS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["WALKTHROUGH_SETTINGS_FILE"] = str(settings_file)
    return subprocess.run(
        [sys.executable, "-m", "helpers.checks", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_command_line_exits_0_when_ready_and_1_naming_the_broken_piece(
    setup: Setup, tmp_path: Path, local_aws_url: str
) -> None:
    ok = _cli(tmp_path, "--create-missing")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Create missing setup pieces" in ok.stdout and "ready to run" in ok.stdout
    _set_trust(setup, service_account="default-editor")
    broken = _cli(tmp_path)
    assert broken.returncode == 1
    assert "cluster trust" in broken.stdout and "FAIL" in broken.stdout
    assert "system:serviceaccount:kubeflow:default-editor" in broken.stdout
    printed = [line.strip()[2:] for line in broken.stdout.splitlines() if "$ aws iam" in line]
    assert printed and "update-assume-role-policy" in printed[0]
    assert all(line.endswith(f"--endpoint-url {local_aws_url}") for line in printed), printed
    run_fixes(Result(6, "cluster trust", "", FAIL, "", "", tuple(printed)))
    assert _cli(tmp_path).returncode == 0


def test_notebook_02_shows_the_table_and_says_done(setup: Setup, tmp_path: Path) -> None:
    cells = execute_notebook("02_check_aws_setup.ipynb", tmp_path, **PARAMETERS)["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert html.count("PASS") >= 9 and "#d4edda" in html and "labeling portal" in html
    assert any("image/png" in o.get("data", {}) for o in outputs)
    last = next(c for c in reversed(cells) if c["cell_type"] == "code")
    done = "".join(last["outputs"][-1]["data"]["text/markdown"])
    assert done.startswith("**Done:**") and "ready to run" in done


def test_automated_labeling_needs_the_execution_role_to_run_its_jobs(setup: Setup) -> None:
    """With enable_auto_labeling, Ground Truth trains, transforms and makes models as the
    execution role: check 5 fails on a role made for the walkthrough without it, and its fix
    (the policy with the auto-labeling statements, keeping the rest) repairs it."""
    auto = dataclasses.replace(setup.settings, enable_auto_labeling=True)
    assert setup.check(5).status == PASS
    missing = setup.check(5, auto)
    assert missing.status == FAIL, missing
    assert "may not sagemaker:CreateTrainingJob" in missing.found
    assert "iam:PassRole" in " ".join(missing.commands)  # the fix lets it pass itself on
    run_fixes(missing)
    repaired = setup.check(5, auto)
    assert repaired.status == PASS, repaired
    assert "automated data labeling may run its training, transform and model jobs" in (
        repaired.found
    )
    assert setup.check(5).status == PASS
