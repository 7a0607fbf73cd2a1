"""The local SageMaker through boto3: workteams, labeling jobs, training jobs, policy simulation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from helpers import dataset, local, regions, results
from helpers.local import drive_clock
from helpers.settings import load
from tests.support import SAGEMAKER_TRUST, labeling_job_request, workforce_pool
from tests.support import checked_sagemaker as checked
from tests.support import local_client as client

REGION = "us-west-2"
BUCKET = "gt-local-sagemaker-tests"
PREFIX = "sm-tests/demo"
BASE = f"s3://{BUCKET}/{PREFIX}"
pytestmark = pytest.mark.usefixtures("local_aws_url")


def make_role(name: str, policy: dict[str, Any] | None = None, managed: str | None = None) -> str:
    iam = client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=SAGEMAKER_TRUST)["Role"]["Arn"]
    if managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    if policy:
        iam.put_role_policy(
            RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy)
        )
    return arn


def make_group(idp: Any, pool: str, group: str, users: list[str]) -> None:
    idp.create_group(UserPoolId=pool, GroupName=group)
    for user in users:
        idp.admin_create_user(UserPoolId=pool, Username=user)
        idp.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName=group)


@pytest.fixture(scope="module")
def setup() -> dict[str, Any]:
    """Inputs staged as notebook 01 stages them, roles, a Cognito pool and a workteam."""
    settings = load({"bucket": BUCKET, "prefix": PREFIX, "images_per_class": 10}, env={})
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    chosen = dataset.choose_images(settings, s3, dataset.load_annotations(settings, s3))
    dataset.stage_images(settings, s3, chosen)
    dataset.write_inputs(settings, s3, chosen)
    idp = client("cognito-idp")
    pool, client_id = workforce_pool(REGION)
    make_group(idp, pool, "sm-tests-labelers", ["ana", "bo", "cy"])
    make_group(idp, pool, "sm-tests-solo", ["dee"])
    sm = client("sagemaker")
    team = sm.create_workteam(
        WorkteamName="sm-tests-team",
        Description="three labelers",
        MemberDefinitions=[
            {
                "CognitoMemberDefinition": {
                    "UserPool": pool,
                    "UserGroup": "sm-tests-labelers",
                    "ClientId": client_id,
                }
            }
        ],
        Tags=[{"Key": "walkthrough-run", "Value": "sm-tests"}],
    )["WorkteamArn"]
    solo = sm.create_workteam(
        WorkteamName="sm-tests-solo",
        Description="one labeler",
        MemberDefinitions=[
            {
                "CognitoMemberDefinition": {
                    "UserPool": pool,
                    "UserGroup": "sm-tests-solo",
                    "ClientId": client_id,
                }
            }
        ],
    )["WorkteamArn"]
    return {
        "pool": pool,
        "client_id": client_id,
        "team": team,
        "solo": solo,
        "chosen": chosen,
        "role": make_role(
            "sm-tests-execution", managed="arn:aws:iam::aws:policy/AmazonS3FullAccess"
        ),
        "read_only_role": make_role(
            "sm-tests-read-only",
            policy={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:ListBucket"],
                        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                    }
                ],
            },
        ),
    }


def labeling_request(
    setup: dict[str, Any], name: str, split: str = "train", **human: Any
) -> dict[str, Any]:
    """A CreateLabelingJob request like the pipeline's."""
    request = labeling_job_request(name, BASE, setup["role"], setup["team"], split, **human)
    return {**request, "Tags": [{"Key": "walkthrough-run", "Value": "sm-tests"}]}


def wait_labeling(name: str, timeout: float = 120) -> dict[str, Any]:
    sm = client("sagemaker")
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        answer = checked("DescribeLabelingJob", sm.describe_labeling_job(LabelingJobName=name))
        seen.append((answer["LabelingJobStatus"], answer["LabelCounters"]["TotalLabeled"]))
        if answer["LabelingJobStatus"] in ("Completed", "Failed", "Stopped"):
            answer["_seen"] = seen
            return answer
        time.sleep(0.3)
    raise AssertionError(f"labeling job {name} did not finish: {seen[-3:]}")


def read_text(uri: str) -> str:
    bucket, _, key = uri[5:].partition("/")
    return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def keys_under(uri: str) -> list[str]:
    bucket, _, prefix = uri[5:].partition("/")
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def error_of(call: Any, **request: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call(**request)
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


# the upstream flow -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def labeled(setup: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The two labeling jobs of the upstream pipeline, run to completion."""
    sm = client("sagemaker")
    for split in ("train", "validation"):
        checked(
            "CreateLabelingJob",
            sm.create_labeling_job(**labeling_request(setup, f"sm-tests-{split}", split)),
        )
    return {split: wait_labeling(f"sm-tests-{split}") for split in ("train", "validation")}


def test_labeling_jobs_move_through_their_statuses_and_write_the_real_layout(
    labeled: dict[str, dict[str, Any]], setup: dict[str, Any]
) -> None:
    train = labeled["train"]
    statuses = [s for s, _ in train["_seen"]]
    assert statuses[0] in ("Initializing", "InProgress") and statuses[-1] == "Completed"
    counts = [n for _, n in train["_seen"]]
    assert counts == sorted(counts) and counts[-1] == 16
    assert train["LabelCounters"] == {
        "TotalLabeled": 16,
        "HumanLabeled": 16,
        "MachineLabeled": 0,
        "FailedNonRetryableError": 0,
        "Unlabeled": 0,
    }
    output = f"{BASE}/output/sm-tests-train"
    assert train["LabelingJobOutput"]["OutputDatasetS3Uri"] == (
        f"{output}/manifests/output/output.manifest"
    )
    keys = keys_under(output)
    responses = [k for k in keys if "/annotations/worker-response/iteration-1/" in k]
    assert len(responses) == 16
    assert any("/consolidation-response/iteration-1/" in k for k in keys)
    one = json.loads(read_text(f"s3://{BUCKET}/{responses[0]}"))
    answer = one["answers"][0]
    assert len(one["answers"]) == 3
    assert set(answer) >= {
        "answerContent",
        "acceptanceTime",
        "submissionTime",
        "timeSpentInSeconds",
        "workerId",
        "workerMetadata",
    }
    assert answer["workerId"].startswith(f"private.{REGION}.")
    assert answer["answerContent"]["crowd-image-classifier"]["label"] in (
        "Musical Instrument",
        "Fruit",
    )
    assert answer["workerMetadata"]["identityData"]["issuer"].endswith(setup["pool"])


def test_output_manifest_lines_look_like_ground_truths(
    labeled: dict[str, dict[str, Any]], setup: dict[str, Any]
) -> None:
    lines = [
        json.loads(x)
        for x in read_text(
            labeled["validation"]["LabelingJobOutput"]["OutputDatasetS3Uri"]
        ).splitlines()
    ]
    assert len(lines) == 4
    truth = dict(zip(setup["chosen"]["uri"], setup["chosen"]["class_name"], strict=True))
    right = 0
    for line in lines:
        meta = line["category-metadata"]
        assert set(line) == {"source-ref", "category", "category-metadata"}
        assert meta["job-name"] == "labeling-job/sm-tests-validation"
        assert meta["type"] == "groundtruth/image-classification"
        assert meta["human-annotated"] == "yes"
        assert 0 <= meta["confidence"] <= 1 and round(meta["confidence"], 2) == meta["confidence"]
        assert meta["class-name"] == ["Musical Instrument", "Fruit"][line["category"]]
        right += meta["class-name"] == truth[line["source-ref"]]
    assert right >= 3  # three workers at 85-95% accuracy rarely outvote the truth


def test_training_on_the_labeled_manifests_writes_a_model_and_logs(
    labeled: dict[str, dict[str, Any]], setup: dict[str, Any]
) -> None:
    sm, s3 = client("sagemaker"), client("s3")
    channels = []
    for split, job in labeled.items():
        channels.append(
            {
                "ChannelName": split,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "AugmentedManifestFile",
                        "S3Uri": job["LabelingJobOutput"]["OutputDatasetS3Uri"],
                        "S3DataDistributionType": "FullyReplicated",
                        "AttributeNames": ["source-ref", "category"],
                    }
                },
                "ContentType": "application/x-recordio",
                "CompressionType": "None",
                "RecordWrapperType": "RecordIO",
            }
        )
    checked(
        "CreateTrainingJob",
        sm.create_training_job(
            TrainingJobName="sm-tests-training",
            AlgorithmSpecification={
                "TrainingImage": regions.image_classification_image(REGION),
                "TrainingInputMode": "Pipe",
            },
            RoleArn=setup["role"],
            InputDataConfig=channels,
            OutputDataConfig={"S3OutputPath": f"{BASE}/training-output"},
            ResourceConfig={
                "InstanceType": "ml.g4dn.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 50,
            },
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
            HyperParameters={
                "num_classes": "2",
                "num_training_samples": "16",
                "epochs": "4",
                "mini_batch_size": "4",
                "learning_rate": "0.1",
            },
        ),
    )
    deadline = time.monotonic() + 180
    while True:
        job = checked(
            "DescribeTrainingJob", sm.describe_training_job(TrainingJobName="sm-tests-training")
        )
        if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        assert time.monotonic() < deadline, job["SecondaryStatus"]
        time.sleep(0.5)
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    transitions = [t["Status"] for t in job["SecondaryStatusTransitions"]]
    assert transitions == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(metrics) == {"train:accuracy", "validation:accuracy"}
    assert job["BillableTimeInSeconds"] >= 1
    model = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert model == f"{BASE}/training-output/sm-tests-training/output/model.tar.gz"
    bucket, _, key = model[5:].partition("/")
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    logs = client("logs")
    stream = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="sm-tests-training"
    )["logStreams"][0]
    messages = [
        e["message"]
        for e in logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"]
        )["events"]
    ]
    # read as the AWS example notebook reads a real job's log (get_training_job_data)
    final = next(m for m in messages if "Final configuration" in m)
    assert int(final.split("num_training_samples': u'")[1].split("'")[0]) == 16
    errors = [1 - float(m.split("Validation-accuracy=")[1]) for m in messages if "Validation-" in m]
    assert len(errors) == 4 and all(0 <= e <= 1 for e in errors)
    assert all(re.match(r"\[\d\d/\d\d/\d{4} [\d:]{8} INFO \d+\] ", m) for m in messages)
    assert len(results.parse_training_log(messages)) == 4
    listed = checked("ListTrainingJobs", sm.list_training_jobs(NameContains="sm-tests"))
    assert [j["TrainingJobName"] for j in listed["TrainingJobSummaries"]] == ["sm-tests-training"]


def test_a_script_that_imports_only_boto3_runs_the_upstream_flow(local_aws_url: str) -> None:
    script = Path(__file__).parent / "scripts" / "upstream_flow.py"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False, timeout=400
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "training job: Completed" in result.stdout


# workforces and workteams ------------------------------------------------------------------------


def test_workteam_and_workforce_shapes_and_tags(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    team = checked("DescribeWorkteam", sm.describe_workteam(WorkteamName="sm-tests-team"))
    assert team["Workteam"]["WorkteamArn"] == (
        f"arn:aws:sagemaker:{REGION}:123456789012:workteam/private-crowd/sm-tests-team"
    )
    workforce = checked("DescribeWorkforce", sm.describe_workforce(WorkforceName="default"))
    assert workforce["Workforce"]["CognitoConfig"] == {
        "UserPool": setup["pool"],
        "ClientId": setup["client_id"],
    }
    assert team["Workteam"]["SubDomain"] == workforce["Workforce"]["SubDomain"]
    listed = checked("ListWorkteams", sm.list_workteams(NameContains="sm-tests"))
    assert {t["WorkteamName"] for t in listed["Workteams"]} == {"sm-tests-team", "sm-tests-solo"}
    arn = setup["team"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "walkthrough-run", "Value": "sm-tests"}
    ]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "extra", "Value": "1"}])
    sm.delete_tags(ResourceArn=arn, TagKeys=["extra"])
    assert checked("ListTags", sm.list_tags(ResourceArn=arn))["Tags"] == [
        {"Key": "walkthrough-run", "Value": "sm-tests"}
    ]


def test_workteam_errors(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    member = {
        "UserPool": setup["pool"],
        "UserGroup": "sm-tests-labelers",
        "ClientId": setup["client_id"],
    }

    def create(name: str, **changes: str) -> tuple[str, str]:
        return error_of(
            sm.create_workteam,
            WorkteamName=name,
            Description="d",
            MemberDefinitions=[{"CognitoMemberDefinition": {**member, **changes}}],
        )

    assert create("sm-tests-team")[0] == "ResourceInUse"
    code, message = create("no-such-group", UserGroup="nobody")
    assert code == "ValidationException" and "nobody" in message
    idp = client("cognito-idp")
    other = idp.create_user_pool(PoolName="another-pool")["UserPool"]["Id"]
    other_client = idp.create_user_pool_client(UserPoolId=other, ClientName="c")["UserPoolClient"][
        "ClientId"
    ]
    idp.create_group(UserPoolId=other, GroupName="sm-tests-labelers")
    code, message = create("other-pool", UserPool=other, ClientId=other_client)
    assert code == "ValidationException" and "do not match the private workforce" in message
    code, _ = error_of(
        sm.create_workforce,
        WorkforceName="second",
        CognitoConfig={"UserPool": other, "ClientId": other_client},
    )
    assert code == "ResourceInUse"
    assert error_of(sm.describe_workteam, WorkteamName="missing-team")[0] == "ResourceNotFound"
    assert error_of(
        sm.create_workteam,
        WorkteamName="bad_name",
        Description="d",
        MemberDefinitions=[{"CognitoMemberDefinition": member}],
    )[0] == ("ValidationException")


def test_deleting_a_workteam(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    member = {
        "UserPool": setup["pool"],
        "UserGroup": "sm-tests-labelers",
        "ClientId": setup["client_id"],
    }
    sm.create_workteam(
        WorkteamName="sm-tests-short-lived",
        Description="d",
        MemberDefinitions=[{"CognitoMemberDefinition": member}],
    )
    assert (
        checked("DeleteWorkteam", sm.delete_workteam(WorkteamName="sm-tests-short-lived"))[
            "Success"
        ]
        is True
    )
    assert error_of(sm.delete_workteam, WorkteamName="sm-tests-short-lived")[0] == (
        "ResourceNotFound"
    )


# labeling job validation ------------------------------------------------------------------------

OTHER_LAMBDA = "arn:aws:lambda:us-west-2:111111111111:function:PRE-ImageMultiClass"
MISSING_TEAM = f"arn:aws:sagemaker:{REGION}:123456789012:workteam/private-crowd/nobody"
BAD_LABELING = [
    ({"LabelingJobName": "has_underscore"}, "ValidationException", "labelingJobName"),
    ({"LabelingJobName": "x" * 64}, "ValidationException", "labelingJobName"),
    ({"LabelingJobName": "SM-TESTS-TRAIN"}, "ResourceInUse", "already exists"),
    ({"RoleArn": "arn:aws:iam::123456789012:role/no-such-role"}, "ValidationException", "role"),
    (
        {
            "InputConfig": {
                "DataSource": {"S3DataSource": {"ManifestS3Uri": f"{BASE}/missing.manifest"}}
            }
        },
        "ValidationException",
        "missing.manifest",
    ),
    (
        {"LabelCategoryConfigS3Uri": f"{BASE}/one-label.json"},
        "ValidationException",
        "at least 2 labels",
    ),
    (
        {"HumanTaskConfig.PreHumanTaskLambdaArn": OTHER_LAMBDA},
        "ValidationException",
        "PreHumanTaskLambdaArn",
    ),
    (
        {"HumanTaskConfig.NumberOfHumanWorkersPerDataObject": 10},
        "ValidationException",
        "numberOfHumanWorkersPerDataObject",
    ),
    (
        {"HumanTaskConfig.TaskTimeLimitInSeconds": 20},
        "ValidationException",
        "taskTimeLimitInSeconds",
    ),
    (
        {"HumanTaskConfig.TaskAvailabilityLifetimeInSeconds": 30},
        "ValidationException",
        "taskAvailabilityLifetimeInSeconds",
    ),
    (
        {"HumanTaskConfig.WorkteamArn": MISSING_TEAM},
        "ValidationException",
        "nobody",
    ),
]


@pytest.mark.parametrize(
    ("change", "code", "words"),
    BAD_LABELING,
    ids=[f"{next(iter(c))}-{i}" for i, (c, _, _) in enumerate(BAD_LABELING)],
)
def test_labeling_job_validation(
    labeled: dict[str, Any], setup: dict[str, Any], change: dict[str, Any], code: str, words: str
) -> None:
    client("s3").put_object(
        Bucket=BUCKET,
        Key=f"{PREFIX}/one-label.json",
        Body=json.dumps(
            {"document-version": "2018-11-28", "labels": [{"label": "Fruit"}]}
        ).encode(),
    )
    request = labeling_request(setup, "sm-tests-invalid")
    for key, value in change.items():
        if key.startswith("HumanTaskConfig."):
            request["HumanTaskConfig"][key.split(".", 1)[1]] = value
        else:
            request[key] = value
    found, message = error_of(client("sagemaker", validate=False).create_labeling_job, **request)
    assert (found, words.lower() in message.lower()) == (code, True), message


def test_labeling_job_not_found() -> None:
    code, _ = error_of(client("sagemaker").describe_labeling_job, LabelingJobName="nope")
    assert code == "ResourceNotFound"


# what happens to labeling work ------------------------------------------------------------------


def test_stopping_a_job_keeps_the_partial_output(setup: dict[str, Any], local_aws_url: str) -> None:
    sm = client("sagemaker")
    drive_clock(local_aws_url, speed=20)
    try:
        sm.create_labeling_job(**labeling_request(setup, "sm-tests-stopped"))
        deadline = time.monotonic() + 60
        while (
            sm.describe_labeling_job(LabelingJobName="sm-tests-stopped")["LabelCounters"][
                "TotalLabeled"
            ]
            < 2
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        sm.stop_labeling_job(LabelingJobName="sm-tests-stopped")
        assert (
            sm.describe_labeling_job(LabelingJobName="sm-tests-stopped")["LabelingJobStatus"]
            == "Stopping"
        )
    finally:
        drive_clock(local_aws_url, speed=100)
    job = wait_labeling("sm-tests-stopped")
    assert job["LabelingJobStatus"] == "Stopped"
    labeled = job["LabelCounters"]["TotalLabeled"]
    assert 2 <= labeled < 16 and job["LabelCounters"]["Unlabeled"] == 16 - labeled
    lines = read_text(job["LabelingJobOutput"]["OutputDatasetS3Uri"]).splitlines()
    assert len(lines) == labeled
    assert error_of(sm.stop_labeling_job, LabelingJobName="sm-tests-stopped")[0] == (
        "ValidationException"
    )


def test_objects_expire_when_the_team_has_too_few_workers(
    setup: dict[str, Any], local_aws_url: str
) -> None:
    sm = client("sagemaker")
    sm.create_labeling_job(
        **labeling_request(
            setup,
            "sm-tests-expired",
            "validation",
            WorkteamArn=setup["solo"],
            TaskAvailabilityLifetimeInSeconds=3600,
        )
    )
    drive_clock(local_aws_url, advance=1800 / 100)  # half the task availability: all answered
    job = sm.describe_labeling_job(LabelingJobName="sm-tests-expired")
    assert job["LabelingJobStatus"] == "InProgress" and job["LabelCounters"]["TotalLabeled"] == 0
    drive_clock(local_aws_url, advance=1900 / 100 + 1)  # past the task availability
    job = wait_labeling("sm-tests-expired")
    assert job["LabelingJobStatus"] == "Completed"
    assert job["LabelCounters"]["FailedNonRetryableError"] == 4
    for raw in read_text(job["LabelingJobOutput"]["OutputDatasetS3Uri"]).splitlines():
        line = json.loads(raw)
        assert "category" not in line
        assert "failure-reason" in line["category-metadata"]


def test_one_worker_per_object_gives_confidence_zero(setup: dict[str, Any]) -> None:
    client("sagemaker").create_labeling_job(
        **labeling_request(
            setup, "sm-tests-single", "validation", NumberOfHumanWorkersPerDataObject=1
        )
    )
    job = wait_labeling("sm-tests-single")
    lines = [
        json.loads(x)
        for x in read_text(job["LabelingJobOutput"]["OutputDatasetS3Uri"]).splitlines()
    ]
    assert [line["category-metadata"]["confidence"] for line in lines] == [0.0] * 4


def test_a_role_that_may_not_write_the_output_fails_the_job(setup: dict[str, Any]) -> None:
    request = labeling_request(setup, "sm-tests-read-only", "validation")
    request["RoleArn"] = setup["read_only_role"]
    client("sagemaker").create_labeling_job(**request)
    job = wait_labeling("sm-tests-read-only")
    assert job["LabelingJobStatus"] == "Failed"
    assert "s3:PutObject" in job["FailureReason"] and "sm-tests-read-only" in job["FailureReason"]


def test_a_job_whose_role_cannot_read_its_manifest_counts_nothing(setup: dict[str, Any]) -> None:
    request = labeling_request(setup, "sm-tests-no-read", "validation")
    request["RoleArn"] = make_role("sm-tests-no-read")  # no policy: may read nothing
    client("sagemaker").create_labeling_job(**request)
    job = wait_labeling("sm-tests-no-read")
    assert job["LabelingJobStatus"] == "Failed" and "s3:GetObject" in job["FailureReason"]
    zero = (
        "TotalLabeled",
        "HumanLabeled",
        "MachineLabeled",
        "FailedNonRetryableError",
        "Unlabeled",
    )
    assert job["LabelCounters"] == dict.fromkeys(zero, 0)
    assert "LabelingJobOutput" not in job


def test_list_labeling_jobs(labeled: dict[str, Any]) -> None:
    sm = client("sagemaker")
    answer = checked(
        "ListLabelingJobs",
        sm.list_labeling_jobs(NameContains="sm-tests-", StatusEquals="Completed", MaxResults=100),
    )
    names = {j["LabelingJobName"] for j in answer["LabelingJobSummaryList"]}
    assert {"sm-tests-train", "sm-tests-validation"} <= names


# training job validation ------------------------------------------------------------------------


def training_request(setup: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    manifest = f"{BASE}/train.manifest"
    channel = {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "AugmentedManifestFile",
                "S3Uri": manifest,
                "AttributeNames": ["source-ref", "category"],
            }
        },
        "ContentType": "application/x-recordio",
        "RecordWrapperType": "RecordIO",
    }
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": regions.image_classification_image(REGION),
            "TrainingInputMode": "Pipe",
        },
        "RoleArn": setup["role"],
        "InputDataConfig": [
            {"ChannelName": "train", **channel},
            {"ChannelName": "validation", **channel},
        ],
        "OutputDataConfig": {"S3OutputPath": f"{BASE}/training-output"},
        "ResourceConfig": {
            "InstanceType": "ml.g4dn.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 50,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": {"num_classes": "2", "num_training_samples": "16"},
    }
    request.update(changes)
    return request


def test_training_rejects_cpu_instances_and_too_many_instances(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    code, message = error_of(
        sm.create_training_job,
        **training_request(
            setup,
            "sm-tests-cpu",
            ResourceConfig={
                "InstanceType": "ml.c4.2xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 50,
            },
        ),
    )
    assert code == "ValidationException"
    assert message == (
        "Instance type ml.c4.2xlarge is not supported by algorithm "
        "image-classification; only GPU instances are supported"
    )
    code, _ = error_of(
        sm.create_training_job,
        **training_request(
            setup,
            "sm-tests-quota",
            ResourceConfig={
                "InstanceType": "ml.p3.2xlarge",
                "InstanceCount": 20,
                "VolumeSizeInGB": 50,
            },
        ),
    )
    assert code == "ResourceLimitExceeded"
    code, message = error_of(  # as the official training program sends it, on a g4dn
        sm.create_training_job,
        **training_request(
            setup,
            "sm-tests-nvme",
            ResourceConfig={
                "InstanceType": "ml.g4dn.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 50,
                "VolumeKmsKeyId": "",
            },
        ),
    )
    assert code == "ValidationException" and "local NVMe instance storage" in message
    code, message = error_of(sm.describe_training_job, TrainingJobName="nope")
    assert code == "ValidationException" and "not found" in message


def wait_training(name: str) -> dict[str, Any]:
    sm = client("sagemaker")
    deadline = time.monotonic() + 120
    while True:
        job = sm.describe_training_job(TrainingJobName=name)
        if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return job
        assert time.monotonic() < deadline
        time.sleep(0.3)


def test_training_fails_when_the_data_disagrees_with_the_hyperparameters(
    setup: dict[str, Any],
) -> None:
    sm = client("sagemaker")
    sm.create_training_job(**training_request(setup, "sm-tests-no-labels"))
    job = wait_training("sm-tests-no-labels")
    assert job["TrainingJobStatus"] == "Failed"
    assert "category" in job["FailureReason"]  # the unlabeled input manifest has no labels
    sm.create_training_job(
        **training_request(
            setup, "sm-tests-no-classes", HyperParameters={"num_training_samples": "16"}
        )
    )
    job = wait_training("sm-tests-no-classes")
    assert job["TrainingJobStatus"] == "Failed" and "num_classes" in job["FailureReason"]


# policy simulation ------------------------------------------------------------------------------


def test_simulate_principal_policy(setup: dict[str, Any]) -> None:
    iam = client("iam")
    pod_role = make_role(
        "sm-tests-pod-role",
        policy={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["sagemaker:CreateLabelingJob", "sagemaker:Describe*"],
                    "Resource": "*",
                },
                {
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": setup["role"],
                    "Condition": {
                        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
                    },
                },
                {"Effect": "Deny", "Action": "sagemaker:DeleteWorkteam", "Resource": "*"},
            ],
        },
    )
    results = iam.simulate_principal_policy(
        PolicySourceArn=pod_role,
        ActionNames=[
            "sagemaker:CreateLabelingJob",
            "sagemaker:CreateTrainingJob",
            "sagemaker:DeleteWorkteam",
        ],
    )["EvaluationResults"]
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny", "explicitDeny"]
    passed = iam.simulate_principal_policy(
        PolicySourceArn=pod_role,
        ActionNames=["iam:PassRole"],
        ResourceArns=[setup["role"]],
        ContextEntries=[
            {
                "ContextKeyName": "iam:PassedToService",
                "ContextKeyType": "string",
                "ContextKeyValues": ["sagemaker.amazonaws.com"],
            }
        ],
    )["EvaluationResults"]
    assert passed[0]["EvalDecision"] == "allowed"
    assert passed[0]["MatchedStatements"][0]["SourcePolicyId"] == "sm-tests-pod-role-policy"
    unknown = iam.simulate_principal_policy(
        PolicySourceArn=pod_role, ActionNames=["iam:PassRole"], ResourceArns=[setup["role"]]
    )["EvaluationResults"]
    assert unknown[0]["EvalDecision"] == "implicitDeny"
    assert unknown[0]["MissingContextValues"] == ["iam:PassedToService"]
    with pytest.raises(ClientError) as err:
        iam.simulate_principal_policy(
            PolicySourceArn="arn:aws:iam::123456789012:role/none", ActionNames=["s3:GetObject"]
        )
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"


# injected faults --------------------------------------------------------------------------------


def test_jobs_can_be_forced_to_fail(setup: dict[str, Any], local_aws_url: str) -> None:
    sm = client("sagemaker")
    reason = "InternalServerError: forced for this test"
    local.set_faults(local_aws_url, fail_jobs=["SM-TESTS-FORCED-*"], fail_reason=reason)
    try:
        sm.create_labeling_job(**labeling_request(setup, "sm-tests-forced-label", "validation"))
        sm.create_labeling_job(**labeling_request(setup, "sm-tests-not-forced", "validation"))
        sm.create_training_job(**training_request(setup, "sm-tests-forced-train"))
        injected = local.fault_stats(local_aws_url)["injected"]
    finally:
        local.clear_faults(local_aws_url)
    for job in (wait_labeling("sm-tests-forced-label"), wait_training("sm-tests-forced-train")):
        assert job.get("LabelingJobStatus", job.get("TrainingJobStatus")) == "Failed"
        assert job["FailureReason"] == reason
    assert wait_labeling("sm-tests-not-forced")["LabelingJobStatus"] == "Completed"
    assert injected == {
        "labeling-job:sm-tests-forced-label": 1,
        "training-job:sm-tests-forced-train": 1,
    }
