"""The AWS client factory: local mode is pointed at the local AWS and refuses anything else."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from helpers.aws import Aws, connect, is_loopback, local_environment, verify_local
from helpers.errors import LocalAwsError
from helpers.settings import load

OTHER_ACCOUNT_ANSWER = b"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<GetCallerIdentityResult><Arn>arn:aws:iam::999999999999:user/someone</Arn>
<UserId>AIDAEXAMPLE</UserId><Account>999999999999</Account></GetCallerIdentityResult>
<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"""


class _OtherAccount(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.end_headers()
        self.wfile.write(OTHER_ACCOUNT_ANSWER)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def other_account_endpoint() -> Iterator[str]:
    """A loopback endpoint that is not the local AWS: STS answers with another account."""
    server = HTTPServer(("127.0.0.1", 0), _OtherAccount)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _aws_pointed_at(url: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    import boto3

    for key, value in local_environment(url, "us-west-2").items():
        monkeypatch.setenv(key, value)
    return Aws(load(env={}), boto3.session.Session(region_name="us-west-2"))


def test_loopback_detection() -> None:
    assert is_loopback("http://127.0.0.1:4566")
    assert is_loopback("http://localhost:1")
    assert is_loopback("http://[::1]:80")
    assert not is_loopback("https://s3.us-west-2.amazonaws.com")
    assert not is_loopback("http://10.1.2.3:4566")


def test_local_mode_refuses_a_remote_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    aws = _aws_pointed_at("https://sagemaker.us-west-2.amazonaws.com", monkeypatch)
    with pytest.raises(LocalAwsError, match="127.0.0.1"):
        verify_local(aws)


def test_local_mode_refuses_a_loopback_endpoint_of_another_account(
    other_account_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws = _aws_pointed_at(other_account_endpoint, monkeypatch)
    with pytest.raises(LocalAwsError, match="999999999999"):
        verify_local(aws)


def test_connect_points_boto3_at_the_local_aws_and_ignores_user_config(
    local_aws_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "my-real-profile")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    aws = connect(load(env={}))
    assert os.environ["AWS_ENDPOINT_URL"] == local_aws_url
    assert "AWS_PROFILE" not in os.environ and "AWS_SESSION_TOKEN" not in os.environ
    assert os.environ["AWS_CONFIG_FILE"] == os.devnull
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
    assert aws.account_id() == "123456789012"
    assert aws.client("s3") is aws.client("s3")


# --- per-service endpoints cannot bypass local mode -----------------------------------------------

LOCAL_ACCOUNT_ANSWER = OTHER_ACCOUNT_ANSWER.replace(b"999999999999", b"123456789012")


@pytest.fixture
def impostor() -> Iterator[tuple[str, list[str]]]:
    """A loopback endpoint that answers STS with the local account number, and counts requests."""
    seen: list[str] = []

    class Impostor(_OtherAccount):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            seen.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(LOCAL_ACCOUNT_ANSWER)

    server = HTTPServer(("127.0.0.1", 0), Impostor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Refuse (and record) any connection this process opens to a non-loopback address."""
    import socket

    refused: list[object] = []
    connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else ""
        if host and not is_loopback(f"http://{host}"):
            refused.append(address)
            raise OSError(f"test refused a connection to {address}")
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return refused


@pytest.mark.parametrize("s3_endpoint", ["https://s3.us-west-2.amazonaws.com", "other-loopback"])
def test_a_per_service_endpoint_cannot_send_local_mode_elsewhere(
    local_aws_url: str,
    monkeypatch: pytest.MonkeyPatch,
    impostor: tuple[str, list[str]],
    loopback_only: list[object],
    s3_endpoint: str,
) -> None:
    other, seen = impostor
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_S3", other if s3_endpoint == "other-loopback" else s3_endpoint
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", other)
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_SAGEMAKER", "https://api.sagemaker.us-west-2.amazonaws.com"
    )
    aws = connect(load(env={}))
    assert not [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL_")]
    for service in ("s3", "sts", "sagemaker", "iam"):
        assert aws.client(service).meta.endpoint_url == local_aws_url, service
    assert aws.account_id() == "123456789012"
    aws.client("s3").list_buckets()
    assert seen == [] and loopback_only == []  # the impostor answered nothing


def test_ignoring_configured_endpoints_cannot_reach_real_sts(
    local_aws_url: str, monkeypatch: pytest.MonkeyPatch, loopback_only: list[object]
) -> None:
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    aws = connect(load(env={}))
    assert "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" not in os.environ
    assert aws.client("sts").meta.endpoint_url == local_aws_url
    assert loopback_only == []


def test_a_client_configured_elsewhere_after_connecting_is_refused(
    local_aws_url: str, monkeypatch: pytest.MonkeyPatch, impostor: tuple[str, list[str]]
) -> None:
    aws = connect(load(env={}))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", impostor[0])
    with pytest.raises(LocalAwsError, match="sagemaker client would use"):
        aws.client("sagemaker")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    with pytest.raises(LocalAwsError, match="would use https://"):
        aws.client("logs")


def test_the_local_pipeline_runner_gets_no_per_service_endpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from helpers import records, submission

    seen: dict[str, dict[str, str]] = {}

    def popen(*args: object, env: dict[str, str], **kwargs: object) -> object:
        seen["env"] = env
        return None

    monkeypatch.setenv("WALKTHROUGH_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.us-west-2.amazonaws.com")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    monkeypatch.setattr(submission.subprocess, "Popen", popen)
    record = records.RunRecord("0a0b0c0d", "local", "python", {}, {}, "2026-11-30T00:00:00")
    submission.start_local(record)
    assert "AWS_ENDPOINT_URL_S3" not in seen["env"]
    assert "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" not in seen["env"]
    assert seen["env"]["PATH"] == os.environ["PATH"]
