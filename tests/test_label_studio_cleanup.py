"""Clean-up with labeling_backend=label_studio, against a real Label Studio server: the recorded
run's projects are deleted, another run's and other projects are kept."""

from __future__ import annotations

import socket
from typing import Any

import boto3

from helpers import cleanup, records
from helpers.aws import Aws
from helpers.labelstudio import token
from helpers.names import run_names
from helpers.records import RunRecord
from helpers.s3 import ensure_bucket
from helpers.settings import load
from tests import label_studio_support

label_studio = label_studio_support.label_studio  # the session's real Label Studio (a fixture)

REGION = "ap-southeast-2"
BUCKET = "ls-cleanup-tests"
PREFIX = "ls-cleanup/demo"
OURS, OTHERS = "a1a1a1a1", "b2b2b2b2"


def settings_for(**values: Any) -> Any:
    base = {
        "region": REGION,
        "bucket": BUCKET,
        "prefix": PREFIX,
        "labeling_backend": "label_studio",
    }
    return load({**base, **values}, env={})


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def record(settings: Any, run_id: str) -> RunRecord:
    names = run_names(settings, run_id)
    jobs = {"train_job": names.train_job, "validation_job": names.validation_job}
    return RunRecord(
        run_id,
        "local",
        "python",
        {"team": names.team, **jobs, "training_job": names.training_job},
        {},
        "2026-11-30T00:00:00+00:00",
    )


def test_the_recorded_runs_projects_go_and_the_others_stay(
    label_studio: label_studio_support.LabelStudio, local_aws_url: str
) -> None:
    settings = settings_for()
    aws = Aws(settings, boto3.session.Session(region_name=REGION), local_url=local_aws_url)
    ensure_bucket(aws.client("s3"), BUCKET, REGION, create=True)
    records.save_record(aws.client("s3"), settings, record(settings, OURS))
    client = label_studio.client()
    titles = [
        *(
            getattr(run_names(settings, run), job)
            for run in (OURS, OTHERS)
            for job in ("train_job", "validation_job")
        ),
        "someone else's project",
    ]
    for title in titles:
        client.create_project(title=title)

    before = len(client.projects())
    dry = cleanup.survey(settings_for(confirm_delete=False), aws)
    planned = [i for i in dry.items if i.kind == cleanup.PROJECT]
    assert [i.action for i in planned] == ["delete", "delete"]
    assert all(OURS in i.resource for i in planned)
    cleanup.carry_out(aws, dry)
    assert len(client.projects()) == before  # a dry run touches nothing

    plan = cleanup.survey(settings, aws)
    done = cleanup.carry_out(aws, plan)
    deleted = [d for d in done if d.kind == cleanup.PROJECT]
    assert [d.outcome for d in deleted] == ["deleted (with its tasks and annotations)"] * 2
    left = {p["title"] for p in client.projects()}
    assert not [t for t in left if OURS in t]
    assert {t for t in titles if OURS not in t} <= left
    again = cleanup.survey(settings, aws)
    assert not [i for i in cleanup.leftovers(again) if i.kind == cleanup.PROJECT]


def test_an_unreachable_server_is_a_row_not_a_crash(local_aws_url: str) -> None:
    closed = f"http://127.0.0.1:{closed_port()}"
    settings = settings_for(label_studio_url=closed)
    aws = Aws(settings, boto3.session.Session(region_name=REGION), local_url=local_aws_url)
    ensure_bucket(aws.client("s3"), BUCKET, REGION, create=True)
    plan = cleanup.survey(settings, aws, studio=lambda s: token.client(s, {token.TOKEN_ENV: "t"}))
    (row,) = [i for i in plan.items if i.kind == cleanup.PROJECT]
    assert row.action == "keep" and "could not look" in row.note and closed in row.note


def test_ground_truth_backend_makes_no_project_rows(local_aws_url: str) -> None:
    settings = settings_for(labeling_backend="ground_truth")
    aws = Aws(settings, boto3.session.Session(region_name=REGION), local_url=local_aws_url)
    ensure_bucket(aws.client("s3"), BUCKET, REGION, create=True)

    def never(settings: Any) -> None:
        raise AssertionError("Label Studio asked with the Ground Truth backend")

    plan = cleanup.survey(settings, aws, studio=never)
    assert not [i for i in plan.items if i.kind == cleanup.PROJECT]
