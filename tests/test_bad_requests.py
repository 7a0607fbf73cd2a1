"""The bad-input tour, the local AWS's part: bad requests answered as AWS answers them.

`tests/test_bad_inputs.py` tours what a user gives the notebooks; this module tours what a
client (or a web page, or a stalled connection) sends the local AWS itself (issue 11, section
5). Every case is one raw HTTP request to the test session's local AWS: it must get AWS's status
and error code (never a 500), change nothing (no write counted, clock and faults as they were),
and leave the endpoint answering.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from helpers import local
from helpers.local import guards
from helpers.local.core import ServiceError
from helpers.local.process import make_endpoint
from helpers.local.sagemaker.common import select_jobs
from helpers.local.server import LocalAws
from tests.test_bad_inputs import writes


def _auth(service: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-west-2/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )


SAGEMAKER = {"Authorization": _auth("sagemaker"), "Content-Type": "application/x-amz-json-1.1"}
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class BadRequest:
    """One bad request, and what the local AWS must answer."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    code: str  # the AWS error code (`__type`, S3's <Code>), or a phrase of an admin error
    method: str = "POST"
    length: int | None = None  # a Content-Length other than the body's (the body is not sent)
    says: str = ""  # a phrase the message must hold


def _sagemaker(operation: str, body: bytes, status: int, code: str, says: str = "") -> BadRequest:
    headers = {**SAGEMAKER, "X-Amz-Target": f"SageMaker.{operation}"}
    return BadRequest("/", headers, body, status, code, says=says)


def _admin(route: str, body: bytes, status: int, says: str, **headers: str) -> BadRequest:
    return BadRequest(f"/_walkthrough/{route}", {**JSON, **headers}, body, status, "", says=says)


DEEP = b"[" * 100_000 + b"]" * 100_000
LABELING_LIST = "ListLabelingJobs"

CASES = [
    # the local SageMaker: operations, tokens and bodies --------------------------------------
    pytest.param(_sagemaker("NoSuchOperation", b"{}", 400, "UnknownOperationException"),
                 id="sagemaker-unknown-target"),
    pytest.param(BadRequest("/", {**SAGEMAKER, "X-Amz-Target": "Kinesis.ListLabelingJobs"}, b"{}",
                            400, "UnknownOperationException"),
                 id="sagemaker-target-of-another-service"),
    pytest.param(BadRequest("/", {"Authorization": _auth("cognito-idp"),
                                  "X-Amz-Target": "AWSCognitoIdentityProviderService.Nope",
                                  "Content-Type": "application/x-amz-json-1.1"}, b"{}",
                            400, "UnknownOperationException"),
                 id="cognito-unknown-target"),
    pytest.param(_sagemaker("ListHubs", b"{}", 501, "NotImplemented", "does not emulate"),
                 id="sagemaker-operation-not-emulated"),
    pytest.param(_sagemaker(LABELING_LIST, b'{"NextToken": "abc"}', 400, "ValidationException",
                            "NextToken"),
                 id="next-token-made-up"),
    pytest.param(_sagemaker(LABELING_LIST, b'{"NextToken": "-5"}', 400, "ValidationException",
                            "NextToken"),
                 id="next-token-negative"),
    pytest.param(_sagemaker("ListTrainingJobs", b'{"NextToken": "10"}', 400,
                            "ValidationException", "NextToken"),
                 id="next-token-guessed-offset"),
    pytest.param(_sagemaker("ListTransformJobs", b'{"NextToken": "2"}', 400,
                            "ValidationException", "NextToken"),
                 id="next-token-guessed-offset-transform"),
    pytest.param(_sagemaker("DescribeTransformJob", b'{"TransformJobName": 6}', 400,
                            "SerializationException"),
                 id="transform-job-name-not-a-string"),
    pytest.param(_sagemaker("DescribeModel", b'{"ModelName": "nope"}', 400,
                            "ValidationException", "Could not find model"),
                 id="describe-model-unknown"),
    pytest.param(_sagemaker(LABELING_LIST, DEEP, 400, "SerializationException", "too deep"),
                 id="json-nested-100000-deep"),
    pytest.param(_sagemaker(LABELING_LIST, b'{"NameContains": "\xff"}', 400,
                            "SerializationException"),
                 id="json-not-utf8"),
    pytest.param(_sagemaker(LABELING_LIST, b'{"MaxResults": NaN}', 400,
                            "SerializationException"),
                 id="json-nan"),
    pytest.param(_sagemaker(LABELING_LIST, b"{", 400, "SerializationException"),
                 id="json-cut-short"),
    # sizes ----------------------------------------------------------------------------------
    pytest.param(BadRequest("/", {**SAGEMAKER, "X-Amz-Target": "SageMaker.ListLabelingJobs"},
                            b"{}", 413, "RequestEntityTooLarge", length=50 * 2**20,
                            says="at most"),
                 id="sagemaker-body-50-mb"),
    pytest.param(BadRequest("/gt-bad-requests/big.bin", {"Authorization": _auth("s3")}, b"x" * 10,
                            400, "EntityTooLarge", method="PUT", length=guards.MAX_S3_BODY + 1,
                            says="upload_file"),
                 id="s3-put-over-the-limit"),
    pytest.param(BadRequest("/", {**SAGEMAKER, "X-Amz-Target": "SageMaker.ListLabelingJobs",
                                  "Content-Length": "ten"}, b"", 400, "BadRequest"),
                 id="content-length-not-a-number"),
    # the admin routes: only JSON, only from this machine's programs, only sane values ---------
    pytest.param(_admin("faults", b'{"s3_error_rate": 1}', 415, "application/json",
                        **{"Content-Type": "text/plain"}),
                 id="admin-faults-text-plain"),
    pytest.param(_admin("clock", b'{"advance": 3600}', 415, "application/json",
                        **{"Content-Type": "text/plain;charset=UTF-8"}),
                 id="admin-clock-text-plain"),
    pytest.param(_admin("shutdown", b"{}", 415, "application/json",
                        **{"Content-Type": "application/x-www-form-urlencoded"}),
                 id="admin-shutdown-form"),
    pytest.param(_admin("stats/reset", b"{}", 415, "application/json",
                        **{"Content-Type": "multipart/form-data; boundary=x"}),
                 id="admin-stats-reset-multipart"),
    pytest.param(_admin("shutdown", b"{}", 403, "web pages", Origin="https://example.com"),
                 id="admin-shutdown-from-a-web-page"),
    pytest.param(_admin("faults", b"{}", 403, "127.0.0.1", Host="attacker.example:80"),
                 id="admin-dns-rebinding"),
    pytest.param(_admin("faults", b"{}", 403, "127.0.0.1", Host="localhost:1"),
                 id="admin-dns-rebinding-another-port"),
    pytest.param(_admin("clock", b'{"speed": NaN}', 400, "not a JSON number"),
                 id="clock-speed-nan"),
    pytest.param(_admin("clock", b'{"speed": Infinity}', 400, "not a JSON number"),
                 id="clock-speed-infinite"),
    pytest.param(_admin("clock", b'{"speed": 1e999}', 400, "finite"),
                 id="clock-speed-overflows"),
    pytest.param(_admin("clock", b'{"speed": 0}', 400, "above 0"), id="clock-speed-zero"),
    pytest.param(_admin("clock", b'{"speed": -5}', 400, "above 0"), id="clock-speed-negative"),
    pytest.param(_admin("clock", b'{"speed": true}', 400, "finite number"),
                 id="clock-speed-boolean"),
    pytest.param(_admin("clock", b'{"advance": -1e9}', 400, "only moves forward"),
                 id="clock-advance-negative"),
    pytest.param(_admin("clock", b'{"advance": 1e300}', 400, "100 years"),
                 id="clock-advance-past-any-date"),
    pytest.param(_admin("clock", b'{"sped": 2}', 400, "unknown keys ['sped']"),
                 id="clock-unknown-key"),
    pytest.param(_admin("clock", b"[1, 2]", 400, "JSON object"), id="clock-body-not-an-object"),
    pytest.param(_admin("faults", b'{"latency_ms": NaN}', 400, "not a JSON number"),
                 id="faults-latency-nan"),
    pytest.param(_admin("faults", b'{"latency_ms": 1e12}', 400, "latency_ms must be from 0"),
                 id="faults-latency-holds-threads"),
    pytest.param(_admin("faults", b'{"ground_truth_closed": "false"}', 400, "true or false"),
                 id="faults-flag-as-a-string"),
    pytest.param(_admin("faults", b'{"fail_jobs": "demo-*"}', 400, "list of strings"),
                 id="faults-patterns-as-a-string"),
    pytest.param(_admin("faults", b'{"seed": ' + b"1" * (70 * 2**10) + b"}", 413, "at most"),
                 id="admin-body-over-64-kb"),
]  # fmt: skip


def send(url: str, bad: BadRequest) -> tuple[int, bytes]:
    """Send one raw request (its Content-Length may differ from its body); return the answer."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"Host": f"{host}:{port}", **bad.headers}
    if "Content-Length" not in headers:
        headers["Content-Length"] = str(len(bad.body) if bad.length is None else bad.length)
    try:
        connection.putrequest(bad.method, bad.path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(bad.body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _error(body: bytes) -> tuple[str, str]:
    """(code, message) of a JSON or XML error answer."""
    text = body.decode(errors="replace")
    if text.lstrip().startswith("{"):
        answer = json.loads(text)
        return answer.get("__type", ""), answer.get("message", answer.get("error", ""))
    code = text.split("<Code>", 1)[-1].split("</Code>", 1)[0]
    return code, text.split("<Message>", 1)[-1].split("</Message>", 1)[0]


def _state(url: str) -> dict[str, Any]:
    """What a bad admin request could change: the clock's speed and the fault configuration."""
    return {
        "speed": local.admin.http(f"{url}/_walkthrough/clock")["speed"],
        "faults": local.fault_stats(url)["config"],
        "alive": local.health(url) is not None,
    }


@pytest.mark.parametrize("bad", CASES)
def test_a_bad_request_gets_aws_answer_and_changes_nothing(
    bad: BadRequest, local_aws_url: str
) -> None:
    before = _state(local_aws_url)
    local.reset_request_counts(local_aws_url)
    started = time.monotonic()

    status, body = send(local_aws_url, bad)

    code, message = _error(body)
    assert status == bad.status, body[:500]
    assert code == bad.code, body[:500]
    assert bad.says in message, body[:500]
    assert time.monotonic() - started < 20, "the answer took too long"
    assert writes(local.request_counts(local_aws_url)) == {}
    clock = before["speed"]
    assert _state(local_aws_url) == before, f"changed (clock speed was {clock})"


def test_the_admin_client_sends_json_and_sane_values_still_pass(local_aws_url: str) -> None:
    now = local.drive_clock(local_aws_url, advance=0, speed=100)
    assert local.drive_clock(local_aws_url, advance=0.5) >= now + 0.5
    assert local.set_faults(local_aws_url, latency_ms=1, ground_truth_closed=False)["latency_ms"]
    local.clear_faults(local_aws_url)
    local.reset_request_counts(local_aws_url)
    assert local.request_counts(local_aws_url) == {}


def test_an_s3_upload_below_the_limit_still_goes_in(local_aws_url: str) -> None:
    import boto3

    s3 = boto3.client("s3", region_name="us-west-2")
    s3.create_bucket(
        Bucket="gt-bad-requests", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    body = b"\xff\xd8" + b"j" * (9 * 2**20)  # bigger than boto3's 8 MB multipart part
    s3.put_object(Bucket="gt-bad-requests", Key="images/big.jpg", Body=body)
    got = s3.get_object(Bucket="gt-bad-requests", Key="images/big.jpg")["Body"].read()
    assert got == body


# --- NextToken: only tokens the local SageMaker issued --------------------------------------------


def _jobs(count: int) -> list[Any]:
    return [
        types.SimpleNamespace(name=f"job-{i:02d}", status="Completed", created=float(i))
        for i in range(count)
    ]


def test_pages_follow_the_issued_tokens_and_nothing_else() -> None:
    jobs = _jobs(23)
    request: dict[str, Any] = {"MaxResults": 10, "SortOrder": "Ascending"}
    seen: list[str] = []
    while True:
        page, token = select_jobs(jobs, request)
        seen += [j.name for j in page]
        if token is None:
            break
        request = {**request, "NextToken": token}
    assert seen == [j.name for j in jobs]  # every job once, in order

    _, token = select_jobs(jobs, {"MaxResults": 10})
    assert token is not None
    for forged in ("abc", "-5", "10", token.replace(token[-1], "0" if token[-1] != "0" else "1")):
        with pytest.raises(ServiceError) as caught:
            select_jobs(jobs, {"MaxResults": 10, "NextToken": forged})
        assert caught.value.code == "ValidationException"
    with pytest.raises(ServiceError):  # a token is bound to the query that issued it
        select_jobs(jobs, {"MaxResults": 10, "NextToken": token, "NameContains": "job-1"})


# --- read timeouts: a stalled request cannot hold a thread ----------------------------------------

STALLED = (
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n"
    b"X-Amz-Target: SageMaker.ListLabelingJobs\r\n"
    b"Authorization: " + _auth("sagemaker").encode() + b"\r\n\r\n" + b'{"Name": "1'
)  # 10 bytes of a 1000-byte body


def _stall(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(STALLED)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """How long until the server ends the connection (None: still open after `seconds`)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    return time.monotonic() - started


@pytest.fixture
def timed_endpoint() -> Iterator[tuple[int, Any]]:
    """The local AWS's HTTP server (`make_endpoint`) with a 1-second read timeout, in-process."""
    app = LocalAws(
        moto_app=lambda environ, start: [],
        sagemaker=types.SimpleNamespace(faults=None),  # type: ignore[arg-type]
    )
    server = make_endpoint(app, 0, read_timeout=1.0)
    assert server.server_address[0] == "127.0.0.1"  # loopback only, as the local AWS
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, server
    finally:
        server.shutdown()
        server.server_close()


def test_a_body_shorter_than_its_length_is_dropped_after_the_read_timeout(
    timed_endpoint: tuple[int, Any],
) -> None:
    port, _server = timed_endpoint
    stalled = [_stall(port) for _ in range(3)]
    try:
        assert local.health(f"http://127.0.0.1:{port}") is not None  # others are answered
        waited = [_closed_within(sock, 10) for sock in stalled]
        assert all(w is not None and w < 5 for w in waited), waited
        assert local.health(f"http://127.0.0.1:{port}") is not None
    finally:
        for sock in stalled:
            sock.close()


def test_the_local_aws_drops_stalled_connections_and_answers_meanwhile(
    local_aws_url: str,
) -> None:
    port = int(local_aws_url.rsplit(":", 1)[1])
    handler = make_endpoint(lambda environ, start: [], 0)
    try:
        assert handler.RequestHandlerClass.timeout == guards.READ_TIMEOUT
    finally:
        handler.server_close()
    stalled = [_stall(port) for _ in range(5)]
    try:
        for _ in range(3):
            assert local.health(local_aws_url) is not None
    finally:
        for sock in stalled:
            sock.close()
