"""The local SageMaker's models and batch transform jobs, through boto3 (issue 13)."""

from __future__ import annotations

import io
import json
import random
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image, ImageDraw

from helpers import regions, results
from helpers.local.standins import classifier
from tests.support import SAGEMAKER_TRUST
from tests.support import checked_sagemaker as checked
from tests.support import local_client as client

REGION = "us-west-2"
BUCKET = "gt-local-transform-tests"
BASE = f"s3://{BUCKET}/tf-tests"
IMAGE = regions.image_classification_image(REGION)
FAILURE = "ClientError: See job logs for more information"
pytestmark = pytest.mark.usefixtures("local_aws_url")


def error_of(call: Any, **request: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**request)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def picture(label: int, seed: int) -> bytes:
    """A red disc (class 0) or a blue square (class 1) on a pale background, a little varied."""
    rng = random.Random(seed)
    img = Image.new("RGB", (96, 96), tuple(rng.randint(200, 240) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    x, y, r = rng.randint(30, 60), rng.randint(30, 60), rng.randint(18, 26)
    if label == 0:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(rng.randint(190, 230), 30, 30))
    else:
        draw.rectangle((x - r, y - r, x + r, y + r), fill=(30, 40, rng.randint(190, 230)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    return buf.getvalue()


def put(uri: str, body: bytes) -> None:
    bucket, _, key = uri[5:].partition("/")
    client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def read_json(uri: str) -> Any:
    bucket, _, key = uri[5:].partition("/")
    return json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def keys_under(uri: str) -> list[str]:
    bucket, _, prefix = uri[5:].partition("/")
    found = client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"][len(prefix) :] for o in found)


@pytest.fixture(scope="module")
def setup() -> dict[str, Any]:
    """A bucket, an execution role, a model.tar.gz of the stand-in trained on two shapes."""
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    iam = client("iam")
    role = iam.create_role(RoleName="tf-tests-execution", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    iam.attach_role_policy(
        RoleName="tf-tests-execution", PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess"
    )
    hp = classifier.parse_hyperparameters(
        {"num_classes": "2", "num_training_samples": "12", "epochs": "8", "mini_batch_size": "4"}
    )
    train = [(picture(i % 2, i), i % 2) for i in range(12)]
    validation = [(picture(i % 2, 100 + i), i % 2) for i in range(4)]
    result = classifier.train(hp, train, validation, lambda _line: None)
    put(f"{BASE}/model/model.tar.gz", classifier.model_archive(result, hp))
    # the test images every transform of these tests reads (each test may run alone)
    truth = {"a.jpg": 0, "b.jpg": 1, "more/c.jpg": 0, "more/d.jpg": 1, "e.jpg": 1}
    for i, (rel, label) in enumerate(truth.items()):
        put(f"{BASE}/test/images/{rel}", picture(label, 1000 + i))
    return {"role": role["Role"]["Arn"], "model_data": f"{BASE}/model/model.tar.gz", "truth": truth}


def create_model(setup: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    request = {
        "ModelName": name,
        "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": setup["model_data"]},
        "ExecutionRoleArn": setup["role"],
        "Tags": [{"Key": "walkthrough-run", "Value": "tf-tests"}],
        **changes,
    }
    return client("sagemaker").create_model(**request)


def transform_request(name: str, model: str, input_uri: str, **changes: Any) -> dict[str, Any]:
    """A CreateTransformJob request like the pipeline's (issue 13's layout)."""
    return {
        "TransformJobName": name,
        "ModelName": model,
        "MaxPayloadInMB": 6,
        "BatchStrategy": "SingleRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": "application/x-image",
            "SplitType": "None",
        },
        "TransformOutput": {"S3OutputPath": f"{BASE}/predictions/{name}/"},
        "TransformResources": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
        "Tags": [{"Key": "walkthrough-run", "Value": "tf-tests"}],
        **changes,
    }


def wait_transform(name: str, timeout: float = 60) -> dict[str, Any]:
    sm = client("sagemaker")
    deadline = time.monotonic() + timeout
    while True:
        job = sm.describe_transform_job(TransformJobName=name)
        if job["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
            return checked("DescribeTransformJob", job)
        assert time.monotonic() < deadline, f"{name} still {job['TransformJobStatus']}"
        time.sleep(0.2)


def log_lines(job: str, data_log: bool) -> list[str]:
    logs = client("logs")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=f"{job}/"
    )["logStreams"]
    names = [s["logStreamName"] for s in streams if s["logStreamName"].endswith("/data-log")]
    if not data_log:
        names = [
            s["logStreamName"] for s in streams if not s["logStreamName"].endswith("/data-log")
        ]
    assert len(names) == 1, [s["logStreamName"] for s in streams]
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamName=names[0]
    )["events"]
    return [e["message"] for e in events]


def test_a_transform_job_writes_one_prediction_per_image(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    model_arn = checked("CreateModel", create_model(setup, "tf-tests-model"))["ModelArn"]
    assert model_arn == f"arn:aws:sagemaker:{REGION}:123456789012:model/tf-tests-model"
    model = checked("DescribeModel", sm.describe_model(ModelName="tf-tests-model"))
    assert model["PrimaryContainer"]["ModelDataUrl"] == setup["model_data"]
    assert model["ExecutionRoleArn"] == setup["role"]
    truth = setup["truth"]
    request = transform_request("tf-tests-predict", "tf-tests-model", f"{BASE}/test/images/")
    arn = checked("CreateTransformJob", sm.create_transform_job(**request))["TransformJobArn"]
    assert arn == f"arn:aws:sagemaker:{REGION}:123456789012:transform-job/tf-tests-predict"

    job = wait_transform("tf-tests-predict")
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ModelName"] == "tf-tests-model"
    assert job["TransformInput"] == {**request["TransformInput"], "CompressionType": "None"}
    assert job["TransformOutput"]["S3OutputPath"] == request["TransformOutput"]["S3OutputPath"]
    assert job["TransformResources"] == request["TransformResources"]
    assert job["BatchStrategy"] == "SingleRecord" and job["MaxPayloadInMB"] == 6
    assert job["DataProcessing"] == {"InputFilter": "$", "OutputFilter": "$", "JoinSource": "None"}
    assert job["CreationTime"] <= job["TransformStartTime"] <= job["TransformEndTime"]
    assert "Tags" not in job and "FailureReason" not in job
    output = f"{BASE}/predictions/tf-tests-predict/"
    assert keys_under(output) == sorted(f"{rel}.out" for rel in truth)
    right = 0
    for rel, label in truth.items():
        prediction = read_json(f"{output}{rel}.out")["prediction"]
        assert len(prediction) == 2 and sum(prediction) == pytest.approx(1.0)
        right += max(range(2), key=prediction.__getitem__) == label
    assert right >= 4, f"only {right} of {len(truth)} shapes told apart"
    assert any("Model loaded: 2 classes" in line for line in log_lines("tf-tests-predict", False))

    listed = checked("ListTransformJobs", sm.list_transform_jobs(NameContains="tf-tests-pred"))
    summary = listed["TransformJobSummaries"]
    assert [(j["TransformJobName"], j["TransformJobStatus"]) for j in summary] == [
        ("tf-tests-predict", "Completed")
    ]
    completed = sm.list_transform_jobs(StatusEquals="Completed", NameContains="tf-tests")
    assert "tf-tests-predict" in [j["TransformJobName"] for j in completed["TransformJobSummaries"]]
    for resource in (arn, model_arn):
        tags = checked("ListTags", sm.list_tags(ResourceArn=resource))["Tags"]
        assert tags == [{"Key": "walkthrough-run", "Value": "tf-tests"}]
    code, message = error_of(sm.stop_transform_job, TransformJobName="tf-tests-predict")
    assert code == "ValidationException" and "Completed" in message


def test_a_non_image_or_too_large_object_fails_the_job_and_is_named_in_the_data_log(
    setup: dict[str, Any],
) -> None:
    sm = client("sagemaker")
    create_model(setup, "tf-tests-model-bad-input")
    inputs = f"{BASE}/bad/images/"
    put(f"{inputs}good.jpg", picture(0, 7))
    put(f"{inputs}notes.txt", b"not a picture")
    put(f"{inputs}huge.jpg", picture(1, 8) + bytes(1024 * 1024 + 1))
    request = transform_request(
        "tf-tests-bad-input", "tf-tests-model-bad-input", inputs, MaxPayloadInMB=1
    )
    sm.create_transform_job(**request)
    job = wait_transform("tf-tests-bad-input")
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"] == FAILURE
    lines = log_lines("tf-tests-bad-input", True)
    assert lines[0].startswith("[sagemaker logs]: MaxConcurrentTransforms=1, MaxPayloadInMB=1")
    named = "\n".join(lines)
    assert f"{inputs}notes.txt: ClientError: 400" in named
    assert f"{inputs}notes.txt: Unable to decode the image" in named
    assert f"{inputs}huge.jpg: Too much data for max payload size" in named
    assert "good.jpg" not in named
    # what notebook 04 shows of the failed job: its data-log's last lines name the object
    streams, shown = results.transform_log_tail(client("logs"), "tf-tests-bad-input")
    assert streams and any(f"{inputs}notes.txt: ClientError" in line for line in shown)
    summary = sm.list_transform_jobs(NameContains="tf-tests-bad-input")["TransformJobSummaries"]
    assert summary[0]["FailureReason"] == FAILURE


def test_create_model_checks_its_data_image_role_and_name(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    missing = f"{BASE}/model/missing/model.tar.gz"
    code, message = error_of(
        sm.create_model,
        ModelName="tf-tests-no-data",
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": missing},
        ExecutionRoleArn=setup["role"],
    )
    assert (code, message) == ("ValidationException", f"Could not find model data at {missing}.")
    code, message = error_of(
        sm.create_model,
        ModelName="tf-tests-other-image",
        PrimaryContainer={
            "Image": "123.dkr.ecr.us-west-2.amazonaws.com/mine:1",
            "ModelDataUrl": setup["model_data"],
        },
        ExecutionRoleArn=setup["role"],
    )
    assert code == "ValidationException" and IMAGE.rsplit(":", 1)[0] in message
    code, message = error_of(
        sm.create_model,
        ModelName="tf-tests-no-role",
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": setup["model_data"]},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/tf-tests-nobody",
    )
    assert code == "ValidationException" and "tf-tests-nobody" in message
    for name in ("tf-tests-no-data", "tf-tests-other-image", "tf-tests-no-role"):
        assert error_of(sm.describe_model, ModelName=name)[0] == "ValidationException"
    create_model(setup, "tf-tests-twice")
    code, message = error_of(create_model, setup=setup, name="tf-tests-twice")
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model/tf-tests-twice"
    assert (code, message) == (
        "ValidationException",
        f'Cannot create already existing model "{arn}".',
    )


def test_create_transform_job_checks_its_model_name_and_instance(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    inputs = f"{BASE}/test/images/"
    code, message = error_of(
        sm.create_transform_job, **transform_request("tf-tests-no-model", "tf-tests-nope", inputs)
    )
    arn = f"arn:aws:sagemaker:{REGION}:123456789012:model/tf-tests-nope"
    assert (code, message) == ("ValidationException", f'Could not find model "{arn}".')
    code, message = error_of(sm.describe_transform_job, TransformJobName="tf-tests-no-model")
    assert code == "ValidationException" and "tf-tests-no-model" in message
    create_model(setup, "tf-tests-model-checks")
    bad = transform_request(
        "tf-tests-bad-type",
        "tf-tests-model-checks",
        inputs,
        TransformResources={"InstanceType": "ml.c5.mega", "InstanceCount": 1},
    )
    code, message = error_of(client("sagemaker", validate=False).create_transform_job, **bad)
    assert code == "ValidationException" and "Member must satisfy enum value set" in message
    empty = transform_request("tf-tests-empty", "tf-tests-model-checks", f"{BASE}/nothing/")
    sm.create_transform_job(**empty)
    code, message = error_of(sm.create_transform_job, **empty)
    assert code == "ResourceInUse" and "transform-job/tf-tests-empty" in message
    job = wait_transform("tf-tests-empty")
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"].startswith(f'ClientError: No S3 objects found under S3 URL "{BASE}')


def test_stopping_a_transform_job(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    create_model(setup, "tf-tests-model-stop")
    sm.create_transform_job(
        **transform_request("tf-tests-stop", "tf-tests-model-stop", f"{BASE}/test/images/")
    )
    sm.stop_transform_job(TransformJobName="tf-tests-stop")
    assert sm.describe_transform_job(TransformJobName="tf-tests-stop")["TransformJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    job = wait_transform("tf-tests-stop")
    assert job["TransformJobStatus"] == "Stopped" and "FailureReason" not in job
    code, message = error_of(sm.stop_transform_job, TransformJobName="tf-tests-stop")
    assert code == "ValidationException" and "Stopped" in message


def test_list_and_delete_models(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    for name in ("tf-tests-list-a", "tf-tests-list-b", "tf-tests-list-c"):
        create_model(setup, name)
    first = checked(
        "ListModels",
        sm.list_models(
            NameContains="tf-tests-list", SortBy="Name", SortOrder="Ascending", MaxResults=2
        ),
    )
    assert [m["ModelName"] for m in first["Models"]] == ["tf-tests-list-a", "tf-tests-list-b"]
    second = sm.list_models(
        NameContains="tf-tests-list",
        SortBy="Name",
        SortOrder="Ascending",
        MaxResults=2,
        NextToken=first["NextToken"],
    )
    assert [m["ModelName"] for m in second["Models"]] == ["tf-tests-list-c"]
    assert "NextToken" not in second
    arn = sm.describe_model(ModelName="tf-tests-list-b")["ModelArn"]
    sm.delete_model(ModelName="tf-tests-list-b")
    code, message = error_of(sm.describe_model, ModelName="tf-tests-list-b")
    assert (code, message) == ("ValidationException", f'Could not find model "{arn}".')
    assert error_of(sm.delete_model, ModelName="tf-tests-list-b")[0] == "ValidationException"
    assert error_of(sm.list_tags, ResourceArn=arn)[0] == "ValidationException"
    names = [m["ModelName"] for m in sm.list_models(NameContains="tf-tests-list")["Models"]]
    assert names == ["tf-tests-list-c", "tf-tests-list-a"]  # newest first by default


def test_the_models_role_must_read_the_model_and_write_the_predictions(
    setup: dict[str, Any],
) -> None:
    iam, sm = client("iam"), client("sagemaker")
    role = iam.create_role(RoleName="tf-tests-reader", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    statement = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"]}
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {**statement, "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}
        ],
    }
    iam.put_role_policy(
        RoleName="tf-tests-reader", PolicyName="read", PolicyDocument=json.dumps(policy)
    )
    create_model(setup, "tf-tests-reader-model", ExecutionRoleArn=role["Role"]["Arn"])
    sm.create_transform_job(
        **transform_request("tf-tests-no-write", "tf-tests-reader-model", f"{BASE}/test/images/")
    )
    job = wait_transform("tf-tests-no-write")
    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("ClientError: Access Denied")
    assert "s3:PutObject" in job["FailureReason"]
    assert keys_under(f"{BASE}/predictions/tf-tests-no-write/") == []

    blind = iam.create_role(RoleName="tf-tests-blind", AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    code, message = error_of(
        create_model,
        setup=setup,
        name="tf-tests-blind-model",
        ExecutionRoleArn=blind["Role"]["Arn"],
    )
    assert code == "ValidationException"
    assert message.startswith(f"Could not access model data at {setup['model_data']}.")


def test_transform_jobs_can_be_forced_to_fail(setup: dict[str, Any], local_aws_url: str) -> None:
    from helpers import local

    sm = client("sagemaker")
    create_model(setup, "tf-tests-model-forced")
    reason = "InternalServerError: forced for this test"
    local.set_faults(local_aws_url, fail_jobs=["TF-TESTS-FORCED-*"], fail_reason=reason)
    try:
        sm.create_transform_job(
            **transform_request("tf-tests-forced-1", "tf-tests-model-forced", f"{BASE}/test/")
        )
        injected = local.fault_stats(local_aws_url)["injected"]
    finally:
        local.clear_faults(local_aws_url)
    job = wait_transform("tf-tests-forced-1")
    assert (job["TransformJobStatus"], job["FailureReason"]) == ("Failed", reason)
    assert injected == {"transform-job:tf-tests-forced-1": 1}
    after = job["CreationTime"].timestamp() + 1
    later = sm.list_transform_jobs(CreationTimeAfter=after, NameContains="forced")
    assert later["TransformJobSummaries"] == []
    # the local clock may run ahead of time.time() (other tests drive it): compare with the job's
    before = job["CreationTime"].timestamp() + 60
    earlier = sm.list_transform_jobs(CreationTimeBefore=before, NameContains="forced")
    assert [j["TransformJobName"] for j in earlier["TransformJobSummaries"]] == [
        "tf-tests-forced-1"
    ]


def test_a_manifest_file_names_the_inputs_relative_to_its_prefix(setup: dict[str, Any]) -> None:
    sm = client("sagemaker")
    create_model(setup, "tf-tests-model-manifest")
    prefix = f"{BASE}/listed/"
    for rel in ("x.jpg", "deep/y.jpg", "not-listed.jpg"):
        put(prefix + rel, picture(0, len(rel)))
    put(f"{BASE}/inputs.manifest", json.dumps([{"prefix": prefix}, "x.jpg", "deep/y.jpg"]).encode())
    request = transform_request("tf-tests-manifest", "tf-tests-model-manifest", "")
    request["TransformInput"]["DataSource"]["S3DataSource"] = {
        "S3DataType": "ManifestFile",
        "S3Uri": f"{BASE}/inputs.manifest",
    }
    sm.create_transform_job(**request)
    assert wait_transform("tf-tests-manifest")["TransformJobStatus"] == "Completed"
    output = f"{BASE}/predictions/tf-tests-manifest/"
    assert keys_under(output) == ["deep/y.jpg.out", "x.jpg.out"]
