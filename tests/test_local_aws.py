"""The embedded local AWS, driven through boto3 as the notebooks drive it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import boto3
import pytest

from helpers import local
from helpers.local.process import ENDPOINT_FILE

pytestmark = pytest.mark.usefixtures("local_aws_url")


def client(name: str) -> object:
    return boto3.client(name, region_name="us-west-2")


def test_it_serves_the_aws_apis_the_walkthrough_uses() -> None:
    assert client("sts").get_caller_identity()["Account"] == "123456789012"
    policy = client("iam").get_policy(
        PolicyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    )["Policy"]
    assert policy["PolicyName"] == "AmazonSageMakerFullAccess"
    pool = client("cognito-idp").create_user_pool(PoolName="probe")["UserPool"]
    assert pool["Id"].startswith("us-west-2_")
    eks = client("eks")
    eks.create_cluster(
        name="probe", roleArn="arn:aws:iam::123456789012:role/probe", resourcesVpcConfig={}
    )
    assert "probe" in eks.list_clusters()["clusters"]  # other tests may have made theirs
    client("logs").create_log_group(logGroupName="/probe")
    assert client("logs").describe_log_groups(logGroupNamePrefix="/probe")["logGroups"]


def test_open_images_mirror_is_in_its_public_bucket() -> None:
    s3 = client("s3")
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="open-images-dataset", Prefix="test/"
        )
        for o in page.get("Contents", [])
    ]
    assert len(keys) >= 5 * 60
    assert all(k.endswith(".jpg") for k in keys)
    head = s3.get_object(
        Bucket="open-images-dataset",
        Key="2018_04/test/test-annotations-human-imagelabels-boxable.csv",
    )
    assert head["Body"].read().startswith(b"ImageID,Source,LabelName,Confidence")


def test_request_counts_per_operation(local_aws_url: str) -> None:
    s3 = client("s3")
    s3.create_bucket(
        Bucket="counting", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    local.reset_request_counts(local_aws_url)
    s3.put_object(Bucket="counting", Key="a.txt", Body=b"a")
    s3.copy_object(
        Bucket="counting", Key="b.txt", CopySource={"Bucket": "counting", "Key": "a.txt"}
    )
    s3.copy_object(
        Bucket="counting", Key="c.txt", CopySource={"Bucket": "counting", "Key": "a.txt"}
    )
    s3.list_objects_v2(Bucket="counting")
    client("sts").get_caller_identity()
    counts = local.request_counts(local_aws_url)
    assert counts["s3.PutObject"] == 1
    assert counts["s3.CopyObject"] == 2
    assert counts["s3.ListObjectsV2"] == 1
    assert counts["sts.GetCallerIdentity"] == 1


def test_render_ui_template_fills_in_the_task_input() -> None:
    template = (
        '<crowd-image-classifier name="crowd-image-classifier" '
        'src="{{ task.input.taskObject | grant_read_access }}" '
        'categories="{{ task.input.labels | to_json | escape }}"></crowd-image-classifier>'
        "<p>{{ task.input.note }}</p>"
    )
    answer = client("sagemaker").render_ui_template(
        UiTemplate={"Content": template},
        Task={
            "Input": json.dumps(
                {
                    "taskObject": "s3://open-images-dataset/test/x.jpg",
                    "labels": ["Fruit", "Tiger"],
                    "note": "<b>bold</b>",
                }
            )
        },
        RoleArn="arn:aws:iam::123456789012:role/any",
    )
    html = answer["RenderedContent"]
    assert answer["Errors"] == []
    assert 'categories="[&#34;Fruit&#34;, &#34;Tiger&#34;]"' in html
    assert "http://127.0.0.1:" in html and "X-Amz-Signature" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html  # autoescaped, as Ground Truth does


def test_render_ui_template_reports_template_errors() -> None:
    answer = client("sagemaker").render_ui_template(
        UiTemplate={"Content": "{% if %}"},
        Task={"Input": "{}"},
        RoleArn="arn:aws:iam::123456789012:role/any",
    )
    assert answer["RenderedContent"] == ""
    assert answer["Errors"] and answer["Errors"][0]["Message"]


def test_it_listens_on_loopback_only(local_aws_url: str) -> None:
    port = int(local_aws_url.rsplit(":", 1)[1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local_addr, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local_addr.split(":")[1], 16) == port:
                listening.append(local_addr.split(":")[0])
    assert listening == ["0100007F"]  # 127.0.0.1, nothing else


def _start_cli(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helpers.local", "start", "--state-dir", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_lifecycle_start_reuses_stop_and_status(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(_start_cli(folder))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    urls = {r.stdout.strip() for r in results}
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert len(urls) == 1 and next(iter(urls)).startswith("http://127.0.0.1:")
    url = urls.pop()
    status = local.status(folder)
    assert status["running"] and status["url"] == url
    assert _start_cli(folder).stdout.strip() == url  # a second start reuses it
    assert local.stop(folder) is True
    assert local.status(folder)["running"] is False
    assert local.health(url) is None
    assert local.stop(folder) is False


def test_a_stale_endpoint_file_is_not_trusted(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / ENDPOINT_FILE).write_text(
        json.dumps({"url": "http://127.0.0.1:9", "pid": 999999, "port": 9})
    )
    assert local.status(folder)["running"] is False
    url = local.start(folder)
    try:
        assert url != "http://127.0.0.1:9"
        assert local.health(url)["ready"] is True
    finally:
        local.stop(folder)


def test_starting_a_new_local_aws_says_so_and_that_the_earlier_state_is_gone(
    tmp_path: Path,
) -> None:
    (tmp_path / "server.log").write_text("local AWS listening on http://127.0.0.1:1 (pid 1)\n")
    said: list[str] = []
    url = local.ensure_running(tmp_path, say=said.append)
    try:
        assert len(said) == 1 and f"Started a new local AWS at {url}" in said[0]
        assert "helpers.local.ensure_running" in said[0]
        assert "is gone" in said[0] and "make demo" in said[0] and "01_prepare_dataset" in said[0]
        assert local.ensure_running(tmp_path, say=said.append) == url
        assert len(said) == 1  # already running: nothing to say
    finally:
        local.stop(tmp_path)


def test_the_first_local_aws_of_a_folder_says_it_started_without_talk_of_lost_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = local.ensure_running(tmp_path)
    try:
        said = capsys.readouterr().err
        assert f"Started a new local AWS at {url}" in said and "is gone" not in said
    finally:
        local.stop(tmp_path)
