"""Exactly one submission: two notebook 03 executions at the same moment submit one run.

The submission is claimed with a conditional PutObject (`If-None-Match: *`) before anything is
created; the execution that loses the claim follows the winner's run. The pipeline runner is
replaced by a stand-in that counts its starts (the claim is what is tested, not the pipeline).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers import following, local_runner, planning, records, submission
from helpers.aws import connect
from helpers.settings import load
from tests.support import prepare_run_inputs

BUCKET = "gt-submission-tests"
CONFIRM_COST = planning.confirm_cost


@pytest.fixture(scope="module")
def prepared(local_aws_url: str) -> dict[str, Any]:
    return prepare_run_inputs(
        BUCKET, "submission-tests/demo", "submission-tests-role", "submission-labelers", ["s1"]
    )


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the local runner: record each run started, and start a process that ends at once."""
    started: list[str] = []

    def start_local(record: records.RunRecord, token: str | None = None) -> subprocess.Popen[bytes]:
        started.append(record.run_id)
        return subprocess.Popen([sys.executable, "-c", "pass"])

    monkeypatch.setattr(submission, "start_local", start_local)
    return started


def _together(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[submission.Submission]:
    """Two executions that both find no run to follow, then both go on to submit."""
    arrived = threading.Barrier(2, timeout=60)
    confirm = CONFIRM_COST

    def both_past_the_checks(s: Any) -> None:
        confirm(s)
        arrived.wait()  # each has read runs/latest.json and planned its own run

    sessions = [connect(settings) for _ in range(2)]
    for aws in sessions:
        aws.client("s3"), aws.client("sagemaker")  # noqa: B018 - made before the threads start
    monkeypatch.setattr(planning, "confirm_cost", both_past_the_checks)
    try:
        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(lambda aws: submission.submit_or_resume(settings, aws), sessions))
    finally:
        monkeypatch.setattr(planning, "confirm_cost", confirm)


def test_two_executions_at_once_submit_exactly_one_run(
    prepared: dict[str, Any], starts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load({**prepared["settings"].to_dict(), "prefix": "submission-tests/demo"}, env={})
    first, second = _together(settings, monkeypatch)
    assert len(starts) == 1, starts
    assert sorted([first.resumed, second.resumed]) == [False, True]
    assert first.record.run_id == second.record.run_id == starts[0]
    assert records.latest_record(prepared["aws"].client("s3"), settings).run_id == starts[0]

    # asked for a new run, both at once again: one more run, followed by the other execution
    renewed = load({**settings.to_dict(), "new_run": True}, env={})
    third, fourth = _together(renewed, monkeypatch)
    assert len(starts) == 2 and starts[1] != starts[0]
    assert third.record.run_id == fourth.record.run_id == starts[1]

    # and one execution asking for a new run alone still makes one
    fifth = submission.submit_or_resume(renewed, prepared["aws"])
    assert not fifth.resumed and len(starts) == 3 and fifth.record.run_id == starts[2]


def test_the_local_aws_lets_exactly_one_conditional_write_of_a_key_through(
    prepared: dict[str, Any],
) -> None:
    s3 = boto3.client("s3", region_name="us-west-2")
    ready = threading.Barrier(8, timeout=60)

    def write(n: int) -> str:
        ready.wait()
        try:
            s3.put_object(Bucket=BUCKET, Key="claims/race", Body=str(n).encode(), IfNoneMatch="*")
        except ClientError as exc:
            return exc.response["Error"]["Code"]
        return "written"

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(write, range(8)))
    assert answers.count("written") == 1 and answers.count("PreconditionFailed") == 7


class _Flaky:
    """S3 answering a claim with 409 (a conditional write in flight), then as `then` says."""

    def __init__(self, then: str, holder: bytes = b"") -> None:
        self.then, self.holder, self.puts = then, holder, 0

    def put_object(self, **request: Any) -> dict[str, Any]:
        assert request["IfNoneMatch"] == "*"
        self.puts += 1
        if self.puts == 1 or self.then == "409":
            raise ClientError(
                {
                    "Error": {"Code": "ConditionalRequestConflict", "Message": "in flight"},
                    "ResponseMetadata": {"HTTPStatusCode": 409},
                },
                "PutObject",
            )
        if self.then == "412":
            raise ClientError(
                {
                    "Error": {"Code": "PreconditionFailed", "Message": "At least one failed"},
                    "ResponseMetadata": {"HTTPStatusCode": 412},
                },
                "PutObject",
            )
        return {}

    def get_object(self, **_: Any) -> dict[str, Any]:
        import io

        return {"Body": io.BytesIO(self.holder)}


def _record(settings: Any, run_id: str) -> records.RunRecord:
    from helpers.names import run_names

    names = run_names(settings, run_id)
    return records.RunRecord(
        run_id,
        "local",
        "python",
        {
            "team": names.team,
            "train_job": names.train_job,
            "validation_job": names.validation_job,
            "training_job": names.training_job,
        },
        {},
        "2026-11-30T00:00:00+00:00",
    )


def test_a_409_is_tried_again_and_a_412_names_the_run_that_holds_the_claim() -> None:
    import json
    from dataclasses import asdict

    settings = load({"bucket": BUCKET, "prefix": "submission-tests/unit"}, env={})
    ours, theirs = _record(settings, "0000aaaa"), _record(settings, "0000bbbb")
    waits: list[float] = []
    assert records.claim(_Flaky("ok"), settings, ours, None, sleep=waits.append) is None
    assert len(waits) == 1
    held = _Flaky("412", json.dumps(asdict(theirs)).encode())
    assert records.claim(held, settings, ours, None, sleep=waits.append).run_id == "0000bbbb"
    # our own earlier write went through and only its answer was lost: the claim is ours
    mine = _Flaky("412", json.dumps(asdict(ours)).encode())
    assert records.claim(mine, settings, ours, None, sleep=waits.append) is None


def test_a_resumed_local_run_ends_when_its_runner_says_so_not_when_its_log_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALKTHROUGH_RUNS_DIR", str(tmp_path))
    monkeypatch.setattr(submission, "observe", lambda aws, names: following.RunState())
    names = {"team": "t", "train_job": "a", "validation_job": "b", "training_job": "c"}
    record = records.RunRecord(
        "0a0b0c0d", "local", "python", names, {}, "now", extra={"pid": os.getpid()}
    )
    log = local_runner.log_path(record.run_id)
    log.parent.mkdir(parents=True)
    log.write_text("a task printed: PIPELINE SUCCEEDED\n")  # words in a log are not the end
    finished = submission.resume(load({}, env={}), object(), record)
    assert finished() is None
    local_runner._write_state(log.parent, local_runner.FAILED, "RuntimeError: a task failed")
    assert finished() is False
    local_runner._write_state(log.parent, local_runner.SUCCEEDED)
    assert finished() is True
