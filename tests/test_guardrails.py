"""Accounts with enforced encryption and networking, and access to Ground
Truth (closed to new customers): settings, what reaches the jobs in both component sets, the
checks, the policies, and how a refusal for the account is explained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from helpers import (
    components,
    following,
    gt_access,
    local,
    pipeline,
    planning,
    policies,
    provision,
    records,
    submission,
)
from helpers.aws import Aws
from helpers.checks import FAIL, PASS, WARN, run_checks
from helpers.checks import account as account_checks
from helpers.components import python_set
from helpers.errors import InputError, WalkthroughError
from helpers.settings import load
from tests.support import prepare_run_inputs

REGION = "us-west-2"
BUCKET = "gt-guardrails-tests"
PREFIX = "guardrails-tests/demo"
GROUP = "guardrails-test-labelers"
ACCOUNT = "123456789012"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
IMAGE = "433757028032.dkr.ecr.us-west-2.amazonaws.com/image-classification:1"
ENCRYPTION = {
    "labeling_output_kms_key": KEY_ARN,
    "training_volume_kms_key": "alias/training-volume",
    "training_output_kms_key": KEY_ID,
    "training_instance_type": "ml.p3.2xlarge",  # no local NVMe storage: a volume key is allowed
    "vpc_subnets": "subnet-0123456789abcdef0,subnet-11112222",
    "vpc_security_group_ids": ["sg-0123456789abcdef0"],
}


# --- settings -------------------------------------------------------------------------------------


def test_keys_and_vpc_are_read_as_lists_or_comma_separated_strings() -> None:
    settings = load(ENCRYPTION, env={})
    assert settings.vpc_subnets == ("subnet-0123456789abcdef0", "subnet-11112222")
    assert settings.vpc_security_group_ids == ("sg-0123456789abcdef0",)
    from_env = load(
        {},
        env={
            "WALKTHROUGH_VPC_SUBNETS": "subnet-0123456789abcdef0",
            "WALKTHROUGH_VPC_SECURITY_GROUP_IDS": '["sg-0123456789abcdef0"]',
            "WALKTHROUGH_TRAINING_OUTPUT_KMS_KEY": "alias/models",
        },
    )
    assert from_env.vpc_subnets == ("subnet-0123456789abcdef0",)
    assert from_env.training_output_kms_key == "alias/models"
    assert load({}, env={}).to_dict()["vpc_subnets"] == []


@pytest.mark.parametrize(
    ("values", "setting", "rule"),
    [
        ({"labeling_output_kms_key": "my key"}, "labeling_output_kms_key", "must be a KMS key"),
        (
            {"training_output_kms_key": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{KEY_ID}"},
            "training_output_kms_key",
            "KMS keys are regional",
        ),
        (
            {"training_volume_kms_key": KEY_ID, "training_instance_type": "ml.g4dn.xlarge"},
            "training_volume_kms_key",
            "local NVMe storage",
        ),
        (
            {"vpc_subnets": "subnet-xyz", "vpc_security_group_ids": "sg-0123456789abcdef0"},
            "vpc_subnets",
            "must be ids like subnet-",
        ),
        (
            {"vpc_subnets": "subnet-11112222", "vpc_security_group_ids": "sg-1"},
            "vpc_security_group_ids",
            "must be ids like sg-",
        ),
        ({"vpc_subnets": "subnet-11112222"}, "vpc_security_group_ids", "needs both"),
        ({"vpc_security_group_ids": "sg-11112222"}, "vpc_subnets", "needs both"),
    ],
)
def test_bad_keys_and_networks_stop_before_any_aws_call(
    values: dict[str, Any], setting: str, rule: str
) -> None:
    with pytest.raises(InputError) as err:
        load(values, env={})
    assert err.value.setting == setting and rule in err.value.rule


# --- what reaches the pipeline --------------------------------------------------------------------


def test_unset_keys_and_vpc_add_no_pipeline_argument() -> None:
    assert planning.encryption_and_network(load({}, env={})) == {}
    given = planning.encryption_and_network(load(ENCRYPTION, env={}))
    assert given == {
        "ground_truth_output_encryption_key": KEY_ARN,
        "training_resource_encryption_key": "alias/training-volume",
        "training_output_encryption_key": KEY_ID,
        "training_vpc_subnets": "subnet-0123456789abcdef0,subnet-11112222",
        "training_vpc_security_group_ids": "sg-0123456789abcdef0",
    }


def test_the_official_spec_passes_keys_and_vpc_as_flags(tmp_path: Path) -> None:
    package = pipeline.compile_pipeline(components.official(), tmp_path / "p.yaml")
    spec = yaml.safe_load(package.read_text())
    root = spec["root"]["inputDefinitions"]["parameters"]
    wired = {
        "label-train": {"output_encryption_key": "ground_truth_output_encryption_key"},
        "train": {
            "resource_encryption_key": "training_resource_encryption_key",
            "output_encryption_key": "training_output_encryption_key",
            "vpc_subnets": "training_vpc_subnets",
            "vpc_security_group_ids": "training_vpc_security_group_ids",
        },
    }
    # the steps run inside the exit handler's group, which passes the pipeline's parameters on
    group = spec["root"]["dag"]["tasks"]["exit-handler-1"]
    passed = group["inputs"]["parameters"]
    inner = spec["components"][group["componentRef"]["name"]]["dag"]["tasks"]
    tasks = {t["taskInfo"]["name"]: t for t in inner.values()}
    for task_name, inputs in wired.items():
        task = tasks[task_name]
        executor = spec["components"][task["componentRef"]["name"]]["executorLabel"]
        args = spec["deploymentSpec"]["executors"][executor]["container"]["args"]
        for component_input, parameter in inputs.items():
            channel = task["inputs"]["parameters"][component_input]["componentInputParameter"]
            assert passed[channel] == {"componentInputParameter": parameter}
            assert root[parameter]["defaultValue"] == ""  # unset: the components' own default
            flag = args.index(f"--{component_input}")
            assert args[flag + 1] == f"{{{{$.inputs.parameters['{component_input}']}}}}"


# --- the policies ---------------------------------------------------------------------------------


def _actions(policy: dict[str, Any]) -> set[str]:
    found = set()
    for statement in policy["Statement"]:
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def test_policies_name_the_keys_and_vpc_only_when_set() -> None:
    plain = load({}, env={})
    assert not {a for a in _actions(policies.execution_policy(plain, ACCOUNT)) if "kms:" in a}
    assert not {a for a in _actions(policies.walkthrough_policy(plain, ACCOUNT)) if "ec2:" in a}
    settings = load(ENCRYPTION, env={})
    volume_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/feedface-12ab-34cd-56ef-1234567890ab"
    policy = policies.execution_policy(settings, ACCOUNT, {"alias/training-volume": volume_arn})
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["UseTheOutputKeys"]["Resource"] == KEY_ARN  # key id and key ARN: one key
    assert "kms:GenerateDataKey*" in by_sid["UseTheOutputKeys"]["Action"]
    assert by_sid["UseTheVolumeKey"] == {
        "Sid": "UseTheVolumeKey",
        "Effect": "Allow",
        "Action": ["kms:CreateGrant"],
        "Resource": volume_arn,
    }
    assert "ec2:CreateNetworkInterface" in by_sid["TrainInTheVpc"]["Action"]
    unresolved = policies.execution_policy(settings, ACCOUNT)
    by_alias = {s["Sid"]: s for s in unresolved["Statement"]}["UseTheVolumeKeyByAlias"]
    assert by_alias["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/training-volume"]}
    }
    own = _actions(policies.walkthrough_policy(settings, ACCOUNT))
    assert {"ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "kms:DescribeKey"} <= own


# --- Ground Truth access: telling a refusal apart -------------------------------------------------


def _error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_an_account_refusal_is_told_apart_from_a_missing_permission() -> None:
    iam = _error(
        "CreateLabelingJob",
        "AccessDeniedException",
        "User: arn:aws:sts::1:assumed-role/x/y is not authorized to perform: "
        "sagemaker:CreateLabelingJob on resource: arn:aws:sagemaker:...",
    )
    account = _error("CreateLabelingJob", "AccessDeniedException", "Account not allowed")
    assert gt_access.explain(iam) is None
    note = gt_access.explain(account) or ""
    assert "no longer open to new customers" in note and "checked 2026-11-30" in note
    assert "local mode" in note
    assert gt_access.explain(_error("CreateTrainingJob", "AccessDeniedException", "x")) is None
    log = (
        "botocore.exceptions.ClientError: An error occurred (AccessDeniedException) when "
        "calling the CreateLabelingJob operation: Account not allowed\n"
    )
    assert "no longer open to new customers" in (gt_access.refusal_in_log(log) or "")
    assert (
        gt_access.refusal_in_log(log.replace("Account not allowed", "is not authorized to perform"))
        is None
    )


class _Context:
    """Just enough of the checks' Context for the Ground Truth access check."""

    def __init__(self, jobs: Any, workforce: Any) -> None:
        self.settings = load({}, env={})
        self._jobs, self._workforce = jobs, workforce

    def client(self, service: str) -> Any:
        jobs = self._jobs

        class SageMaker:
            def list_labeling_jobs(self, **_: Any) -> dict[str, Any]:
                if isinstance(jobs, Exception):
                    raise jobs
                return {"LabelingJobSummaryList": jobs}

        return SageMaker()

    @property
    def workforce(self) -> Any:
        if isinstance(self._workforce, Exception):
            raise self._workforce
        return self._workforce


def test_the_access_check_says_what_it_could_and_could_not_verify() -> None:
    check = account_checks.ground_truth_access
    existing = check(_Context([{"LabelingJobName": "old-job"}], None))  # type: ignore[arg-type]
    assert existing.status == PASS and "existing Ground Truth customer" in existing.found
    team = check(_Context([], {"WorkforceName": "ours"}))  # type: ignore[arg-type]
    assert team.status == PASS
    new = check(_Context([], None))  # type: ignore[arg-type]
    assert new.status == WARN
    assert "Not verified" in new.found and "no longer open to new customers" in new.found
    assert "local mode" in new.fix
    refused = _error("ListLabelingJobs", "AccessDeniedException", "Account not allowed")
    closed = check(_Context(refused, None))  # type: ignore[arg-type]
    assert closed.status == FAIL and "may not use Ground Truth" in closed.found
    iam = _error(
        "ListLabelingJobs", "AccessDeniedException", "User: x is not authorized to perform: y"
    )
    unknown = check(_Context(iam, None))  # type: ignore[arg-type]
    assert unknown.status == WARN and "denied by IAM" in unknown.found


def test_a_failed_run_without_labeling_jobs_points_to_the_closure() -> None:
    record = records.RunRecord("r1", "aws", "official", {}, {}, "now")
    state = following.RunState(
        workteam_arn="arn:aws:sagemaker:us-west-2:1:workteam/private-crowd/t"
    )
    note = following.labeling_refusal(record, state) or ""
    assert "no longer open to new customers" in note and "local mode" in note
    assert following.labeling_refusal(record, following.RunState()) is None


# --- on the local AWS -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(local_aws_url: str) -> dict[str, Any]:
    """Staged inputs, an execution role, labelers, a KMS key and a VPC in the local AWS."""
    found = prepare_run_inputs(
        BUCKET, PREFIX, "guardrails-tests-execution", GROUP, ["guard-a", "guard-b", "guard-c"]
    )
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key(Description="guardrails tests")["KeyMetadata"]
    kms.create_alias(AliasName="alias/guardrails-volume", TargetKeyId=key["KeyId"])
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="guardrails", Description="d", VpcId=vpc)
    return {**found, "key": key, "subnet": subnet, "group": group["GroupId"]}


def _team(prepared: dict[str, Any]) -> str:
    pool, client_id = planning.workforce_cognito(prepared["aws"], prepared["settings"])
    return python_set.create_workteam(
        region=REGION,
        team_name="guardrails-tests-team",
        description="d",
        user_pool=pool,
        user_groups=GROUP,
        client_id=client_id,
        tags={"walkthrough-run": "guardrails-tests"},
    ).workteam_arn


def _label(prepared: dict[str, Any], job: str, **extra: Any) -> dict[str, Any]:
    from helpers import dataset

    staged = dataset.input_uris(prepared["settings"])
    output = python_set.ground_truth(
        region=REGION,
        role=prepared["settings"].role_arn,
        manifest_location=staged.train_manifest,
        output_location=f"s3://{BUCKET}/{PREFIX}/output",
        task_type="image classification",
        worker_type="private",
        ui_template=staged.ui_template,
        title="t",
        description="d",
        num_workers_per_object=3,
        time_limit=300,
        job_name=job,
        label_attribute_name="category",
        workteam_arn=_team(prepared),
        label_category_config=staged.label_config,
        task_availibility=86400,
        **extra,
    )
    return {"manifest": output.output_manifest_location, "job": job}


def test_keys_and_vpc_reach_the_jobs_and_unset_they_do_not(prepared: dict[str, Any]) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    key = prepared["key"]["Arn"]
    plain = _label(prepared, "guardrails-plain")
    # as on AWS, a role that may not use the key cannot write the encrypted output
    with pytest.raises(RuntimeError, match="kms:GenerateDataKey"):
        _label(prepared, "guardrails-key-denied", output_encryption_key=key)
    iam = boto3.client("iam")
    role = "guardrails-tests-execution"
    use_key = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:CreateGrant"],
                "Resource": key,
            }
        ],
    }
    iam.put_role_policy(RoleName=role, PolicyName="use-key", PolicyDocument=json.dumps(use_key))
    keyed = _label(prepared, "guardrails-keyed", output_encryption_key=key)
    described = sagemaker.describe_labeling_job(LabelingJobName="guardrails-plain")
    assert described["OutputConfig"] == {"S3OutputPath": f"s3://{BUCKET}/{PREFIX}/output"}
    described = sagemaker.describe_labeling_job(LabelingJobName="guardrails-keyed")
    assert described["OutputConfig"]["KmsKeyId"] == key
    s3 = boto3.client("s3", region_name=REGION)
    for found, kms in ((plain, None), (keyed, key)):
        head = s3.head_object(Bucket=BUCKET, Key=found["manifest"].split("/", 3)[3])
        assert head.get("SSEKMSKeyId") == kms  # the labeled output, encrypted with the key
    channels = python_set.prepare_training(
        region=REGION,
        train_manifest=plain["manifest"],
        validation_manifest=keyed["manifest"],
        label_category_config=f"s3://{BUCKET}/{PREFIX}/class_labels.json",
        label_attribute_name="category",
        training_input_location=f"s3://{BUCKET}/{PREFIX}/training-input",
        hyperparameters={"epochs": "1", "num_layers": "18", "mini_batch_size": "4"},
    )
    common = {
        "region": REGION,
        "role": prepared["settings"].role_arn,
        "channels": channels.channels,
        "model_artifact_path": f"s3://{BUCKET}/{PREFIX}/training-output",
        "image": IMAGE,
        "training_input_mode": "Pipe",
        "hyperparameters": channels.hyperparameters,
        "instance_type": "ml.p3.2xlarge",
        "max_run_time": 3600,
    }
    python_set.train(job_name="guardrails-plain", **common)
    python_set.train(
        job_name="guardrails-protected",
        resource_encryption_key="alias/guardrails-volume",
        output_encryption_key=key,
        vpc_subnets=prepared["subnet"],
        vpc_security_group_ids=prepared["group"],
        **common,
    )
    iam.delete_role_policy(RoleName=role, PolicyName="use-key")
    plain_job = sagemaker.describe_training_job(TrainingJobName="guardrails-plain")
    assert plain_job["OutputDataConfig"] == {"S3OutputPath": common["model_artifact_path"]}
    assert "VolumeKmsKeyId" not in plain_job["ResourceConfig"]
    assert "VpcConfig" not in plain_job
    job = sagemaker.describe_training_job(TrainingJobName="guardrails-protected")
    assert job["TrainingJobStatus"] == "Completed"
    assert job["OutputDataConfig"]["KmsKeyId"] == key
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == "alias/guardrails-volume"
    model = job["ModelArtifacts"]["S3ModelArtifacts"].split("/", 3)[3]
    assert s3.head_object(Bucket=BUCKET, Key=model)["SSEKMSKeyId"] == key
    assert job["VpcConfig"] == {
        "SecurityGroupIds": [prepared["group"]],
        "Subnets": [prepared["subnet"]],
    }


def test_a_local_pipeline_run_carries_the_keys_and_the_vpc_to_every_job(
    prepared: dict[str, Any],
) -> None:
    key = prepared["key"]["Arn"]
    settings = load(
        {
            **prepared["settings"].to_dict(),
            "new_run": True,
            "labeling_output_kms_key": key,
            "training_output_kms_key": prepared["key"]["KeyId"],
            "training_volume_kms_key": "alias/guardrails-volume",
            "training_instance_type": "ml.p3.2xlarge",
            "vpc_subnets": [prepared["subnet"]],
            "vpc_security_group_ids": prepared["group"],
        },
        env={},
    )
    iam = boto3.client("iam")
    role = "guardrails-tests-execution"
    use_key = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:CreateGrant"],
                "Resource": key,
            }
        ],
    }
    iam.put_role_policy(RoleName=role, PolicyName="use-key", PolicyDocument=json.dumps(use_key))
    try:
        submitted = submission.submit_or_resume(settings, prepared["aws"])
        state = following.follow(
            prepared["aws"], submitted.record, submitted.finished, poll_seconds=0.3
        )
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="use-key")
    for job in state.labeling.values():
        assert job["OutputConfig"]["KmsKeyId"] == key
    training = state.training or {}
    assert training["OutputDataConfig"]["KmsKeyId"] == prepared["key"]["KeyId"]
    assert training["ResourceConfig"]["VolumeKmsKeyId"] == "alias/guardrails-volume"
    assert training["VpcConfig"] == {
        "SecurityGroupIds": [prepared["group"]],
        "Subnets": [prepared["subnet"]],
    }


def test_a_training_job_in_a_missing_subnet_is_refused(prepared: dict[str, Any]) -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    with pytest.raises(ClientError) as err:
        sagemaker.create_training_job(
            TrainingJobName="guardrails-no-subnet",
            AlgorithmSpecification={
                "TrainingImage": IMAGE,
                "TrainingInputMode": "Pipe",
            },
            RoleArn=prepared["settings"].role_arn,
            OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/{PREFIX}/x"},
            ResourceConfig={
                "InstanceType": "ml.p3.2xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            },
            StoppingCondition={"MaxRuntimeInSeconds": 60},
            VpcConfig={"SecurityGroupIds": [prepared["group"]], "Subnets": ["subnet-0abc0abc"]},
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "subnet-0abc0abc" in err.value.response["Error"]["Message"]


def _checked(prepared: dict[str, Any], **values: Any) -> Any:
    settings = load({**prepared["settings"].to_dict(), **values}, env={})
    (result,) = run_checks(settings, prepared["aws"], only={13})
    return result


def test_the_checks_verify_the_keys_and_the_vpc(prepared: dict[str, Any]) -> None:
    assert _checked(prepared).status == PASS  # nothing set: nothing to check
    network = {
        "vpc_subnets": prepared["subnet"],
        "vpc_security_group_ids": prepared["group"],
        "training_instance_type": "ml.p3.2xlarge",
    }
    keyed = {
        **network,
        "training_output_kms_key": prepared["key"]["KeyId"],
        "training_volume_kms_key": "alias/guardrails-volume",
    }
    # the execution role has S3 access only: it may not use the key nor make interfaces
    result = _checked(prepared, **keyed)
    assert result.status == FAIL, result
    assert "may not use KMS key" in result.found and "network interfaces" in result.found
    (put,) = result.commands
    assert prepared["key"]["Arn"] in put and "kms:CreateGrant" in put
    doc = json.loads(put.split("--policy-document ")[1].split(" --region")[0].strip("'"))
    boto3.client("iam").put_role_policy(
        RoleName="guardrails-tests-execution",
        PolicyName=policies.EXECUTION_POLICY_NAME,
        PolicyDocument=json.dumps(doc),
    )
    fixed = _checked(prepared, **keyed)
    assert fixed.status == PASS, fixed
    assert "not simulated" in fixed.found  # says what it could not verify: the key policy
    missing = _checked(
        prepared,
        **{**keyed, "vpc_subnets": "subnet-0abc0abc", "training_output_kms_key": "alias/gone"},
    )
    assert missing.status == FAIL
    assert "alias/gone does not exist" in missing.found
    assert "subnet-0abc0abc do(es) not exist" in missing.found


def test_create_missing_gives_a_new_role_the_keys_and_the_vpc(prepared: dict[str, Any]) -> None:
    settings = load(
        {
            **prepared["settings"].to_dict(),
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/guardrails-created-role",
            "training_output_kms_key": "alias/guardrails-volume",
            "vpc_subnets": prepared["subnet"],
            "vpc_security_group_ids": prepared["group"],
            "training_instance_type": "ml.p3.2xlarge",
        },
        env={},
    )
    steps = provision.create_missing(settings, prepared["aws"])
    assert {s.piece: s.outcome for s in steps}["SageMaker execution role"] == "created"
    doc = boto3.client("iam").get_role_policy(
        RoleName="guardrails-created-role", PolicyName=policies.EXECUTION_POLICY_NAME
    )["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["UseTheOutputKeys"]["Resource"] == prepared["key"]["Arn"]  # alias resolved
    (result,) = run_checks(settings, prepared["aws"], only={13})
    assert result.status == PASS, result


# --- Ground Truth refused for the account (local AWS fault) ---------------------------------------


def test_a_closed_account_is_explained_where_ground_truth_refuses_it(
    prepared: dict[str, Any], local_aws_url: str
) -> None:
    region = "ap-south-1"  # no workforce and no job here yet
    settings = load(
        {
            "region": region,
            "bucket": "gt-guardrails-closed",
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/guardrails-closed-role",
            "kfp_pod_role_arn": f"arn:aws:iam::{ACCOUNT}:role/guardrails-closed-pod",
        },
        env={},
    )
    aws = Aws(settings, boto3.session.Session(region_name=region))
    (access,) = run_checks(settings, aws, only={14})
    assert access.status == WARN and "could not verify" in access.found
    local.set_faults(local_aws_url, ground_truth_closed=True)
    try:
        steps = {s.piece: s for s in provision.create_missing(settings, aws)}
        workforce = steps["private workforce"]
        assert workforce.outcome == "failed"
        assert "no longer open to new customers" in workforce.detail
        assert "local mode" in workforce.detail
        with pytest.raises(RuntimeError, match="no longer open to new customers"):
            _label(prepared, "guardrails-refused")
    finally:
        local.clear_faults(local_aws_url)
    stats = local.fault_stats(local_aws_url)
    assert stats["config"]["ground_truth_closed"] is False


def test_a_local_run_refused_by_ground_truth_fails_with_the_closure(
    prepared: dict[str, Any], local_aws_url: str
) -> None:
    settings = load({**prepared["settings"].to_dict(), "new_run": True}, env={})
    local.set_faults(local_aws_url, ground_truth_closed=True)
    try:
        submitted = submission.submit_or_resume(settings, prepared["aws"])
        with pytest.raises(WalkthroughError) as err:
            following.follow(
                prepared["aws"], submitted.record, submitted.finished, poll_seconds=0.3
            )
    finally:
        local.clear_faults(local_aws_url)
    assert "no longer open to new customers" in str(err.value)
    assert "local mode" in str(err.value)
