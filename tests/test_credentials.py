"""aws mode without working credentials: check 1 fails with the fix, the notebooks say it once.

Nothing here can reach AWS: no credentials are configured, and every endpoint is loopback (a
closed port, or a stub that answers that the security token has expired).
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.support import execute_notebook, notebook_outputs

SETTINGS = {"mode": "aws", "region": "us-west-2", "bucket": "gt-credentials-tests"}


class _Expired(BaseHTTPRequestHandler):
    """Answers every request as AWS does for an expired session token."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("X-Amz-Target"):  # a JSON service (SageMaker, Cognito, ...)
            kind, body = (
                "application/x-amz-json-1.1",
                json.dumps(
                    {
                        "__type": "ExpiredTokenException",
                        "message": "The security token included in the request is expired",
                    }
                ).encode(),
            )
        else:
            kind, body = (
                "text/xml",
                (
                    b"<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
                    b"<Message>The security token included in the request is expired</Message>"
                    b"</Error><RequestId>1</RequestId></ErrorResponse>"
                ),
            )
        self.send_response(400 if kind != "text/xml" else 403)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = _answer  # noqa: N815 - http.server's naming

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def expired_endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Expired)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@functools.cache
def _refusing_socket() -> socket.socket:
    """A loopback socket bound and never listening, held for the session: its port refuses
    connections, and no server of a test running in parallel can take it."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    return held


def _closed_port() -> str:
    return f"http://127.0.0.1:{_refusing_socket().getsockname()[1]}"


def _environment(tmp_path: Path, **aws: str) -> dict[str, str]:
    """This process's environment without AWS settings, in aws mode, with only `aws` added."""
    empty = tmp_path / "empty-aws-file"
    empty.write_text("")
    settings = tmp_path / "settings.json"
    # Open Images through S3 (the loopback endpoint), never its public https download
    open_images = {
        "annotations_url": "s3://open-images-dataset/2018_04/test/annotations.csv",
        "class_descriptions_url": "s3://open-images-dataset/2018_04/class-descriptions.csv",
    }
    settings.write_text(json.dumps({**SETTINGS, **open_images}))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "WALKTHROUGH_", "KUBERNETES_", "KF_PIPELINES"))
    }
    env.update(
        WALKTHROUGH_SETTINGS_FILE=str(settings),
        WALKTHROUGH_RUNS_DIR=str(tmp_path / "runs"),
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL=aws.pop("endpoint", _closed_port()),
        NO_PROXY="127.0.0.1,localhost",
        KUBECONFIG=str(empty),
        COLUMNS="140",  # the table's width (a pytest-xdist worker's would wrap the rows read here)
        **aws,
    )
    return env


def _checks(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "helpers.checks", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _rows(stdout: str) -> dict[int, str]:
    rows = (
        re.match(r"^ ?(\d+)  \S", line) for line in stdout.split("Fixes and notes:")[0].splitlines()
    )
    return {int(m.group(1)): m.string for m in rows if m}


def test_no_credentials_fail_check_1_with_the_fix_and_skip_what_needs_them(
    tmp_path: Path,
) -> None:
    done = _checks(_environment(tmp_path))
    shown = done.stdout + done.stderr
    assert done.returncode == 1, shown
    assert "Traceback" not in shown and "NoCredentialsError" not in shown
    rows = _rows(done.stdout)
    assert "FAIL" in rows[1] and "no AWS credentials were found" in rows[1], shown
    assert "PASS" in rows[2]  # the region check needs no credentials
    needing = [n for n in rows if n not in (1, 2, 11)]
    assert needing and all("SKIP" in rows[n] for n in needing), shown
    assert "not checked: the AWS credentials do not work" in rows[3]
    fixes = done.stdout.split("Fixes and notes:")[1]
    assert "aws sso login" in fixes and "IRSA" in fixes and "notebook server" in fixes


def test_expired_credentials_fail_check_1_saying_so(tmp_path: Path, expired_endpoint: str) -> None:
    env = _environment(
        tmp_path,
        endpoint=expired_endpoint,
        AWS_ACCESS_KEY_ID="ASIAEXAMPLEEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_SESSION_TOKEN="expired-session",
    )
    done = _checks(env, "--create-missing")
    shown = done.stdout + done.stderr
    assert done.returncode == 1, shown
    assert "Traceback" not in shown and "Nothing was created" in shown
    rows = _rows(done.stdout)
    assert "FAIL" in rows[1] and "expired" in rows[1] and "ExpiredToken" in shown, shown
    assert "SKIP" in rows[3]


def _notebook(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: bool) -> dict:
    for key, value in _environment(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_") and k not in _environment(tmp_path)]:
        monkeypatch.delenv(key)
    return execute_notebook(name, tmp_path, expect_error=error, **SETTINGS)


@pytest.mark.parametrize("name", ["01_prepare_dataset.ipynb", "03_run_pipeline.ipynb"])
def test_notebooks_01_and_03_stop_with_one_message(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = _notebook(name, tmp_path, monkeypatch, error=True)
    (error,) = [o for o in notebook_outputs(notebook) if o["output_type"] == "error"]
    assert error["ename"] == "CredentialsError"
    shown = "\n".join(error["traceback"])
    assert "no AWS credentials were found" in shown and "aws sso login" in shown
    assert "Traceback" not in shown and "File " not in shown and "botocore" not in shown


def test_notebook_02_shows_check_1_failing_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = _notebook("02_check_aws_setup.ipynb", tmp_path, monkeypatch, error=True)
    outputs = notebook_outputs(notebook)
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["AssertionError"]  # the last cell: checks failed
    assert "1 credentials: the AWS credentials do not work" in errors[0]["evalue"]
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "#f8d7da" in html and "aws sso login" in html and "SKIP" in html
    text = "".join("".join(o.get("text", "")) for o in outputs)
    assert "Traceback" not in text and "NoCredentialsError" not in text
