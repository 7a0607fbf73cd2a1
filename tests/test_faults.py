"""Faults injected by the local AWS: S3 errors while staging, a failed labeling job, a local
AWS that goes away in the middle of a notebook."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from helpers import dataset, local, openimages
from helpers.aws import Aws
from helpers.errors import LocalAwsError
from helpers.s3 import ensure_bucket
from helpers.settings import load
from tests.support import execute_notebook, notebook_outputs, prepare_run_inputs

REGION = "us-west-2"
BUCKET = "gt-fault-tests"
RUN_BUCKET = "gt-fault-tests-run"


@pytest.fixture
def faults(local_aws_url: str) -> Iterator[str]:
    """The local AWS's URL; whatever faults a test sets are cleared after it."""
    local.clear_faults(local_aws_url)
    try:
        yield local_aws_url
    finally:
        local.clear_faults(local_aws_url)


def test_fault_settings_are_checked(faults: str) -> None:
    for bad, says in (
        ({"s3_error_rate": 1.5}, "between 0 and 1"),
        ({"s3_error_codes": ["Teapot"]}, "s3_error_codes must be some of"),
        ({"latency": 30}, "unknown fault settings ['latency']"),
    ):
        with pytest.raises(ValueError) as err:
            local.set_faults(faults, **bad)
        assert says in str(err.value)
    assert local.fault_stats(faults)["config"]["s3_error_rate"] == 0.0  # left as it was
    assert local.set_faults(faults, latency_ms=5, seed=3)["latency_ms"] == 5


def _staging_settings(prefix: str) -> Any:
    return load({"bucket": BUCKET, "prefix": prefix, "images_per_class": 20}, env={})


def _etags(s3: Any, bucket: str, keys: list[str]) -> dict[str, str]:
    return {key: s3.head_object(Bucket=bucket, Key=key)["ETag"] for key in keys}


def _stage_under_faults(url: str, prefix: str) -> tuple[openimages.CopyReport, dict[str, Any]]:
    """Stage 40 images with 10% of S3 requests failing; return the report and the faults."""
    settings = _staging_settings(prefix)
    s3 = Aws(settings, boto3.session.Session(region_name=REGION)).client("s3")
    chosen = dataset.choose_images(settings, s3, dataset.load_annotations(settings, s3))
    ensure_bucket(s3, BUCKET, REGION, create=True)
    local.set_faults(url, seed=11, s3_error_rate=0.1)
    try:
        report = dataset.stage_images(settings, s3, chosen)
        injected = local.fault_stats(url)["injected"]
    finally:
        local.clear_faults(url)
    sources = [f"test/{image_id}.jpg" for image_id in chosen["image_id"]]
    copied = _etags(s3, BUCKET, list(report.keys))
    originals = _etags(s3, openimages.OPEN_IMAGES_BUCKET, sources)
    assert sorted(copied.values()) == sorted(originals.values())  # every object, identical
    assert report.copied == len(chosen) == 40
    return report, injected


def test_staging_under_s3_errors_ends_with_every_object_identical(faults: str) -> None:
    report, injected = _stage_under_faults(faults, "fault-tests/staging")
    copy_faults = sum(n for kind, n in injected.items() if kind.startswith("s3.CopyObject:"))
    assert copy_faults > 0, injected
    assert report.retries == copy_faults  # each injected error cost exactly one retry
    assert {kind.split(":")[1] for kind in injected} <= {"SlowDown", "InternalError"}


def test_the_same_seed_injects_the_same_faults(faults: str) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    _, first = _stage_under_faults(faults, "fault-tests/seeded")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="fault-tests/seeded/")["Contents"]
    ]
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys]})
    _, second = _stage_under_faults(faults, "fault-tests/seeded")
    assert first == second


def test_a_failed_labeling_job_fails_the_run_and_notebook_03_shows_why(
    faults: str, tmp_path: Path
) -> None:
    prepare_run_inputs(
        RUN_BUCKET,
        "fault-tests/run",
        "fault-tests-execution",
        "fault-test-labelers",
        ["fault-a", "fault-b", "fault-c"],
        images_per_class=4,
    )
    reason = "InternalServerError: the labeling service failed (fault injected for this test)"
    local.set_faults(faults, fail_jobs=["fault-tests-train-*"], fail_reason=reason)
    notebook = execute_notebook(
        "03_run_pipeline.ipynb",
        tmp_path,
        expect_error=True,
        bucket=RUN_BUCKET,
        prefix="fault-tests/run",
        role_arn="arn:aws:iam::123456789012:role/fault-tests-execution",
        user_groups="fault-test-labelers",
        ground_truth_train_job_name="fault-tests-train-job",
        ground_truth_validation_job_name="fault-tests-validation-job",
        team_name="fault-tests-team",
    )
    assert local.fault_stats(faults)["injected"] == {"labeling-job:fault-tests-train-job": 1}
    (error,) = [o for o in notebook_outputs(notebook) if o["output_type"] == "error"]
    shown = "\n".join(error["traceback"])
    assert "labeling job fault-tests-train-job (train) failed" in shown
    assert reason in shown
    assert "Traceback" not in shown and 'File "' not in shown  # the reason, not a stack trace
    sm = boto3.client("sagemaker", region_name=REGION)
    job = sm.describe_labeling_job(LabelingJobName="fault-tests-train-job")
    assert job["LabelingJobStatus"] == "Failed" and job["FailureReason"] == reason
    # kfp.local runs the labeling tasks one after the other, in either order: the validation job
    # completed before the train job was created, or its task found the train job failed and
    # stopped it
    other = sm.describe_labeling_job(LabelingJobName="fault-tests-validation-job")
    if other["LabelingJobStatus"] == "Completed":
        assert other["LastModifiedTime"] <= job["CreationTime"]
    else:
        assert other["LabelingJobStatus"] in ("Stopping", "Stopped")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_local_aws_that_stopped_says_so_and_how_to_start_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "state"
    url = local.start(folder)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    aws = Aws(load({}, env={}), boto3.session.Session(region_name=REGION))
    s3 = aws.client("s3")
    s3.list_buckets()  # works while it runs
    assert local.stop(folder)
    with pytest.raises(LocalAwsError) as err:
        s3.list_buckets()
    message = str(err.value)
    assert url in message and "stopped" in message
    assert "python -m helpers.local start" in message and "01_prepare_dataset" in message


def test_aws_itself_unreachable_is_left_to_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a loopback endpoint is taken for the local AWS; other endpoints retry as usual."""
    from botocore.exceptions import EndpointConnectionError

    from helpers.aws import stop_if_local_aws_is_gone

    class Endpoint:
        host = "https://s3.us-west-2.amazonaws.com"

    error = EndpointConnectionError(endpoint_url=Endpoint.host)
    assert stop_if_local_aws_is_gone(caught_exception=error, endpoint=Endpoint()) is None
    Endpoint.host = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(LocalAwsError):
        stop_if_local_aws_is_gone(caught_exception=error, endpoint=Endpoint())


class _CutBody:
    """A response body whose connection drops mid-read the first `cuts` times."""

    def __init__(self, client: _CuttingS3) -> None:
        self.client = client

    def read(self) -> bytes:
        from botocore.exceptions import ResponseStreamingError

        self.client.reads += 1
        if self.client.reads <= self.client.cuts:
            raise ResponseStreamingError(error="IncompleteRead(10 bytes read, 90 more expected)")
        return b"the whole object"


class _CuttingS3:
    def __init__(self, cuts: int) -> None:
        self.cuts, self.reads = cuts, 0

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        return {"Body": _CutBody(self)}


def test_a_body_cut_mid_read_is_read_again_then_the_error_shows() -> None:
    from botocore.exceptions import ResponseStreamingError

    from helpers.s3 import read_object

    client = _CuttingS3(cuts=2)
    assert read_object(client, "b", "k") == b"the whole object" and client.reads == 3
    with pytest.raises(ResponseStreamingError):
        read_object(_CuttingS3(cuts=3), "b", "k")


# --- the worker preview's image downloads ---------------------------------------------------------


def _presigning_s3() -> Any:
    """An S3 client that presigns as RenderUiTemplate does (SigV4, path-style)."""
    from botocore.config import Config

    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    return boto3.client("s3", region_name=REGION, config=config)


def test_the_worker_preview_reads_presigned_urls_through_s3_errors(faults: str) -> None:
    from helpers import worker_ui

    s3 = _presigning_s3()
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(
            Bucket=openimages.OPEN_IMAGES_BUCKET, Prefix="test/", MaxKeys=12
        )["Contents"]
    ]
    urls = [
        s3.generate_presigned_url(
            "get_object", Params={"Bucket": openimages.OPEN_IMAGES_BUCKET, "Key": key}
        )
        for key in keys
    ]
    local.set_faults(faults, seed=5, s3_error_rate=0.3)
    waits: list[float] = []
    read = [worker_ui.fetch_url(url, sleep=waits.append) for url in urls]
    injected = local.fault_stats(faults)["injected"]
    assert all(data.startswith(b"\xff\xd8") for data in read)  # every image, as JPEG
    assert sum(injected.values()) > 0 and len(waits) == sum(injected.values())


def test_a_failed_preview_download_never_shows_the_presigned_url(faults: str) -> None:
    from helpers import worker_ui
    from helpers.errors import WalkthroughError

    s3 = _presigning_s3()
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": openimages.OPEN_IMAGES_BUCKET, "Key": "test/none.jpg"}
    )
    url += "&X-Amz-Security-Token=SESSION-TOKEN-SECRET"
    local.set_faults(faults, seed=1, s3_error_rate=1.0, s3_error_codes=["SlowDown"])
    waits: list[float] = []
    with pytest.raises(WalkthroughError) as caught:
        worker_ui.fetch_url(url, sleep=waits.append)
    message = str(caught.value)
    assert "5 attempts" in message and "503" in message and len(waits) == 4
    assert "testing" not in message and "SESSION-TOKEN" not in message
    assert "Signature" not in message and "query redacted" in message
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{free.getsockname()[1]}/b/k.jpg?X-Amz-Credential=AKIAX%2F1"
    with pytest.raises(WalkthroughError) as refused:
        worker_ui.fetch_url(closed, attempts=2, sleep=waits.append)
    assert "AKIAX" not in str(refused.value) and "ConnectionError" in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__context__ is None
