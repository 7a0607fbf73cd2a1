"""What several test modules share: a run's inputs, role and labelers; running a notebook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import papermill
from botocore.config import Config

from helpers import dataset, regions
from helpers.aws import connect
from helpers.local.sagemaker.shapes import check_response
from helpers.paths import project_root
from helpers.settings import load

REGION = "us-west-2"
SAGEMAKER_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def workforce_pool(region: str = "us-west-2") -> tuple[str, str]:
    """The Cognito pool and client of the region's private workforce (made when there is none).

    One private workforce exists per account and region, so test modules share it.
    """
    import boto3

    sagemaker = boto3.client("sagemaker", region_name=region)
    idp = boto3.client("cognito-idp", region_name=region)
    workforces = sagemaker.list_workforces()["Workforces"]
    if workforces:
        cognito = workforces[0]["CognitoConfig"]
        return cognito["UserPool"], cognito["ClientId"]
    pool = idp.create_user_pool(PoolName="test-workforce-pool")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool, ClientName="labeling-portal")[
        "UserPoolClient"
    ]["ClientId"]
    sagemaker.create_workforce(
        WorkforceName="default", CognitoConfig={"UserPool": pool, "ClientId": client_id}
    )
    return pool, client_id


def prepare_run_inputs(
    bucket: str, prefix: str, role: str, group: str, users: list[str], images_per_class: int = 6
) -> dict[str, Any]:
    """Stage notebook 01's inputs, make an execution role with S3 access and a labelers group.

    Returns the settings (local mode, these names), the AWS access and the chosen images.
    """
    settings = load(
        {
            "bucket": bucket,
            "prefix": prefix,
            "images_per_class": images_per_class,
            "user_groups": group,
            "role_arn": f"arn:aws:iam::123456789012:role/{role}",
        },
        env={},
    )
    aws = connect(settings)
    s3 = aws.client("s3")
    open_images = dataset.load_annotations(settings, s3)
    chosen = dataset.choose_images(settings, s3, open_images)
    examples = dataset.choose_examples(settings, open_images, chosen)
    test = dataset.choose_test_images(settings, open_images, chosen, examples)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    dataset.stage_images(settings, s3, chosen, examples, test)
    dataset.write_inputs(settings, s3, chosen, examples)
    dataset.write_test_labels(settings, s3, test)  # the held-out test set, as notebook 01 writes it
    iam = aws.client("iam")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    idp = aws.client("cognito-idp")
    pool, _ = workforce_pool(REGION)
    idp.create_group(UserPoolId=pool, GroupName=group)
    for user in users:
        idp.admin_create_user(UserPoolId=pool, Username=user)
        idp.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName=group)
    return {"settings": settings, "aws": aws, "chosen": chosen}


def labeling_job_request(
    name: str, base: str, role_arn: str, team_arn: str, split: str = "train", **human: Any
) -> dict[str, Any]:
    """A CreateLabelingJob request like the pipeline's, on the inputs notebook 01 writes under
    `base` (`split`.manifest, class_labels.json, instructions.template); `human` overrides
    HumanTaskConfig's fields."""
    config = {
        "WorkteamArn": team_arn,
        "UiConfig": {"UiTemplateS3Uri": f"{base}/instructions.template"},
        "PreHumanTaskLambdaArn": regions.pre_human_task_lambda(REGION),
        "TaskTitle": "Mini image classification",
        "TaskDescription": "Pick the class",
        "NumberOfHumanWorkersPerDataObject": 3,
        "TaskTimeLimitInSeconds": 300,
        "TaskAvailabilityLifetimeInSeconds": 86400,
        "MaxConcurrentTaskCount": 100,
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": regions.consolidation_lambda(REGION)
        },
        **human,
    }
    return {
        "LabelingJobName": name,
        "LabelAttributeName": "category",
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": f"{base}/{split}.manifest"}}
        },
        "OutputConfig": {"S3OutputPath": f"{base}/output"},
        "RoleArn": role_arn,
        "LabelCategoryConfigS3Uri": f"{base}/class_labels.json",
        "HumanTaskConfig": config,
    }


def execute_notebook(
    name: str, out: Path, expect_error: bool = False, **parameters: Any
) -> dict[str, Any]:
    """Run a notebook with papermill, as `make demo` does (local mode), and return it executed.

    With `expect_error`, a cell that fails is expected: the notebook is returned as far as it ran.
    """
    folder = project_root() / "notebooks"
    target = out / name
    try:
        papermill.execute_notebook(
            str(folder / name),
            str(target),
            kernel_name="python3",
            parameters={"mode": "local", **parameters},
            progress_bar=False,
            cwd=str(folder),
        )
    except papermill.PapermillExecutionError:
        if not expect_error:
            raise
    else:
        assert not expect_error, f"{name} ran without the expected error"
    return json.loads(target.read_text())


def notebook_outputs(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """Every output of the notebook's code cells, in order."""
    return [o for c in notebook["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def local_client(name: str, validate: bool = True) -> Any:
    """A boto3 client of the session's local AWS (the tests' region), validating or not."""
    return boto3.client(name, region_name=REGION, config=Config(parameter_validation=validate))


def checked_sagemaker(operation: str, answer: dict[str, Any]) -> dict[str, Any]:
    """Fail when a SageMaker response breaks botocore's output shape for the operation."""
    problems = check_response("sagemaker", operation, answer)
    assert problems == [], f"{operation}: {problems}"
    return answer


def team_of_labelers(name: str, group: str, users: list[str]) -> str:
    """A Cognito group of the session's pool with these users, and a workteam of it: its ARN."""
    idp = local_client("cognito-idp")
    pool, client_id = workforce_pool(REGION)
    idp.create_group(UserPoolId=pool, GroupName=group)
    for user in users:
        idp.admin_create_user(UserPoolId=pool, Username=user)
        idp.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName=group)
    member = {"UserPool": pool, "UserGroup": group, "ClientId": client_id}
    return str(
        local_client("sagemaker").create_workteam(
            WorkteamName=name,
            Description=f"{len(users)} labelers",
            MemberDefinitions=[{"CognitoMemberDefinition": member}],
        )["WorkteamArn"]
    )


def s3_execution_role(name: str) -> str:
    """A SageMaker execution role with S3 access (AmazonS3FullAccess): its ARN."""
    iam = local_client("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    return str(role["Role"]["Arn"])
