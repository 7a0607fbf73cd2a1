"""The upstream sample's flow, written with boto3 alone (no project code), for the local AWS.

Run with AWS_ENDPOINT_URL pointing at the local AWS. It stages a few Open Images (the upstream
prep step), creates a Cognito pool and group, a private workteam, the train and validation
labeling jobs, and a training job on their output manifests, printing each outcome.
"""

import csv
import io
import json
import time

import boto3

REGION = "us-west-2"
BUCKET = "upstream-flow-bucket"
PREFIX = "mini-image-classification/ground-truth-demo"
BASE = f"s3://{BUCKET}/{PREFIX}"
GT_ACCOUNT = "081040173940"  # Ground Truth's Lambdas in us-west-2
LAMBDA = f"arn:aws:lambda:{REGION}:{GT_ACCOUNT}:function:"
IMAGE = "433757028032.dkr.ecr.us-west-2.amazonaws.com/image-classification:1"
CLASSES = {"Musical Instrument": "/m/04szw", "Fruit": "/m/02xwb"}

s3 = boto3.client("s3", region_name=REGION)
iam = boto3.client("iam", region_name=REGION)
idp = boto3.client("cognito-idp", region_name=REGION)
sm = boto3.client("sagemaker", region_name=REGION)


def stage() -> None:
    """Copy 8 images per class and write the manifests, label config and template."""
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    body = s3.get_object(
        Bucket="open-images-dataset",
        Key="2018_04/test/test-annotations-human-imagelabels-boxable.csv",
    )["Body"].read()
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    uris = {"train": [], "validation": []}
    for mid in CLASSES.values():
        ids = sorted(
            {r["ImageID"] for r in rows if r["LabelName"] == mid and r["Confidence"] == "1"}
        )
        for i, image in enumerate(ids[:8]):
            key = f"{PREFIX}/images/{image}.jpg"
            s3.copy_object(
                CopySource={"Bucket": "open-images-dataset", "Key": f"test/{image}.jpg"},
                Bucket=BUCKET,
                Key=key,
            )
            uris["validation" if i < 2 else "train"].append(f"s3://{BUCKET}/{key}")
    for split, refs in uris.items():
        text = "".join(json.dumps({"source-ref": r}) + "\n" for r in refs)
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{split}.manifest", Body=text.encode())
    labels = {"document-version": "2018-11-28", "labels": [{"label": c} for c in CLASSES]}
    s3.put_object(
        Bucket=BUCKET, Key=f"{PREFIX}/class_labels.json", Body=json.dumps(labels).encode()
    )
    template = (
        '<crowd-form><crowd-image-classifier name="crowd-image-classifier" '
        'src="{{ task.input.taskObject | grant_read_access }}" '
        'categories="{{ task.input.labels | to_json | escape }}" header="Pick one">'
        "</crowd-image-classifier></crowd-form>"
    )
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/instructions.template", Body=template.encode())


def execution_role() -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(
        RoleName="upstream-execution-role", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    iam.attach_role_policy(
        RoleName="upstream-execution-role", PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess"
    )
    return arn


def workteam() -> str:
    """A team of three Cognito users; it joins the account's private workforce if one exists."""
    workforces = sm.list_workforces()["Workforces"]
    if workforces:  # one private workforce per account and region: its pool and client
        pool = workforces[0]["CognitoConfig"]["UserPool"]
        client_id = workforces[0]["CognitoConfig"]["ClientId"]
    else:
        pool = idp.create_user_pool(PoolName="KFP-ground-truth-demo-pool")["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(UserPoolId=pool, ClientName="demo")[
            "UserPoolClient"
        ]["ClientId"]
    idp.create_group(UserPoolId=pool, GroupName="demo-labelers")
    for user in ("worker-a", "worker-b", "worker-c"):
        idp.admin_create_user(UserPoolId=pool, Username=user)
        idp.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName="demo-labelers")
    member = {"UserPool": pool, "UserGroup": "demo-labelers", "ClientId": client_id}
    return sm.create_workteam(
        WorkteamName="upstream-demo-team",
        Description="Team for mini image classification",
        MemberDefinitions=[{"CognitoMemberDefinition": member}],
    )["WorkteamArn"]


def label(team: str, role: str, split: str) -> str:
    name = f"upstream-mini-image-classification-{split}"
    sm.create_labeling_job(
        LabelingJobName=name,
        LabelAttributeName="category",
        InputConfig={"DataSource": {"S3DataSource": {"ManifestS3Uri": f"{BASE}/{split}.manifest"}}},
        OutputConfig={"S3OutputPath": f"{BASE}/output"},
        RoleArn=role,
        LabelCategoryConfigS3Uri=f"{BASE}/class_labels.json",
        HumanTaskConfig={
            "WorkteamArn": team,
            "UiConfig": {"UiTemplateS3Uri": f"{BASE}/instructions.template"},
            "PreHumanTaskLambdaArn": f"{LAMBDA}PRE-ImageMultiClass",
            "TaskTitle": "Mini image classification",
            "TaskDescription": "Pick the class",
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            "TaskAvailabilityLifetimeInSeconds": 86400,
            "MaxConcurrentTaskCount": 20,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": f"{LAMBDA}ACS-ImageMultiClass"
            },
        },
    )
    return name


def wait(describe, key: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = describe()
        if answer[key] in ("Completed", "Failed", "Stopped"):
            return answer
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {key}")


def main() -> None:
    stage()
    role = execution_role()
    team = workteam()
    print("workteam:", team)
    names = {split: label(team, role, split) for split in ("train", "validation")}
    outputs = {}
    for split, name in names.items():
        job = wait(lambda n=name: sm.describe_labeling_job(LabelingJobName=n), "LabelingJobStatus")
        print(f"labeling job {split}: {job['LabelingJobStatus']} {job['LabelCounters']}")
        assert job["LabelingJobStatus"] == "Completed", job.get("FailureReason")
        outputs[split] = job["LabelingJobOutput"]["OutputDatasetS3Uri"]
    channels = [
        {
            "ChannelName": split,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "AugmentedManifestFile",
                    "S3Uri": uri,
                    "S3DataDistributionType": "FullyReplicated",
                    "AttributeNames": ["source-ref", "category"],
                }
            },
            "ContentType": "application/x-recordio",
            "CompressionType": "None",
            "RecordWrapperType": "RecordIO",
        }
        for split, uri in outputs.items()
    ]
    sm.create_training_job(
        TrainingJobName="upstream-mini-image-classification",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "Pipe"},
        RoleArn=role,
        InputDataConfig=channels,
        OutputDataConfig={"S3OutputPath": f"{BASE}/training-output"},
        ResourceConfig={"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        HyperParameters={
            "num_classes": "2",
            "num_training_samples": "12",
            "epochs": "3",
            "mini_batch_size": "4",
        },
    )
    job = wait(
        lambda: sm.describe_training_job(TrainingJobName="upstream-mini-image-classification"),
        "TrainingJobStatus",
    )
    print(f"training job: {job['TrainingJobStatus']} {job.get('FailureReason', '')}")
    print("model:", job["ModelArtifacts"]["S3ModelArtifacts"])


if __name__ == "__main__":
    main()
