"""Submission through the real kfp.Client, against a strict loopback stand-in of the KFP API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import pipeline, planning, records, submission
from helpers.errors import InputError
from helpers.names import run_names
from helpers.settings import load
from tests.kfp_fake import KfpServer


@pytest.fixture
def kfp_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[KfpServer]:
    monkeypatch.setenv("HOME", str(tmp_path))  # the client's context file, not the user's
    monkeypatch.setenv("WALKTHROUGH_RUNS_DIR", str(tmp_path / "runs"))
    with KfpServer() as server:
        yield server


@pytest.fixture
def multi_user_kfp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[KfpServer]:
    """A multi-user Kubeflow's KFP API: pipelines live in profile namespaces."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WALKTHROUGH_RUNS_DIR", str(tmp_path / "runs"))
    with KfpServer(multi_user=True) as server:
        yield server


def aws_settings(url: str, **extra: Any) -> Any:
    return load(
        {
            "mode": "aws",
            "bucket": "my-team-gt-bucket",
            "kfp_host": url,
            "role_arn": "arn:aws:iam::111122223333:role/sagemaker-execution",
            "confirm_submit": True,
            **extra,
        },
        env={},
    )


def record_for(settings: Any, run_id: str) -> records.RunRecord:
    names = run_names(settings, run_id)
    return records.RunRecord(
        run_id=run_id,
        mode="aws",
        component_set=settings.component_set,
        names={
            "team": names.team,
            "train_job": names.train_job,
            "validation_job": names.validation_job,
            "training_job": names.training_job,
        },
        arguments={
            "region": settings.region,
            "role_arn": settings.role_arn,
            "team_name": names.team,
            "tags": {"walkthrough-run": run_id},
            "ground_truth_num_workers_per_object": 3,
            "training_hyperparameters": dict(pipeline.DEFAULT_HYPERPARAMETERS),
        },
        submitted_at="2026-11-28T00:00:00+00:00",
    )


def test_submission_uploads_the_pipeline_creates_the_run_and_follows_it(
    multi_user_kfp: KfpServer,
) -> None:
    kfp_api = multi_user_kfp
    settings = aws_settings(
        kfp_api.url, kfp_namespace="team-a", kfp_service_account="default-editor"
    )
    record = record_for(settings, "run00001")
    finished = submission.KfpRunner(settings).start(record)
    fake = kfp_api.fake
    assert fake.errors == []
    (pipeline_entry,) = fake.pipelines.values()
    assert pipeline_entry["display_name"] == pipeline.PIPELINE_NAME
    assert pipeline_entry["namespace"] == "team-a"
    (experiment,) = fake.experiments.values()
    assert (experiment["display_name"], experiment["namespace"]) == (
        "ground-truth-walkthrough",
        "team-a",
    )
    (run,) = fake.runs.values()
    sent = run["run"]
    assert sent.runtime_config.parameters == record.arguments
    assert sent.pipeline_version_reference.pipeline_id == pipeline_entry["pipeline_id"]
    version = fake.versions[sent.pipeline_version_reference.pipeline_version_id]
    assert version["display_name"] == f"{pipeline.PIPELINE_NAME}-run00001"
    assert version["spec"]["pipelineInfo"]["name"] == pipeline.PIPELINE_NAME
    assert len(version["spec"]["root"]["dag"]["tasks"]) == 2  # the exit handler's group, its step
    assert sent.experiment_id == experiment["experiment_id"]
    assert record.kfp_run_id in fake.runs
    assert record.ui_link == f"{kfp_api.url}/#/runs/details/{record.kfp_run_id}"
    assert finished() is None
    run["state"] = "SUCCEEDED"
    assert finished() is True


def test_a_second_submission_adds_a_version_and_reuses_the_experiment(kfp_api: KfpServer) -> None:
    settings = aws_settings(kfp_api.url)
    submission.KfpRunner(settings).start(record_for(settings, "run00001"))
    second = record_for(settings, "run00002")
    finished = submission.KfpRunner(settings).start(second)
    fake = kfp_api.fake
    assert fake.errors == []
    assert len(fake.pipelines) == 1 and len(fake.experiments) == 1 and len(fake.runs) == 2
    names = sorted(v["display_name"] for v in fake.versions.values())
    assert f"{pipeline.PIPELINE_NAME}-run00002" in names
    fake.runs[second.kfp_run_id]["state"] = "FAILED"
    assert finished() is False
    # standalone KFP (pipeline-runner): no namespace is sent
    assert all(e["namespace"] == "" for e in fake.experiments.values())


def test_a_second_submission_in_a_profile_namespace_finds_the_first_upload(
    multi_user_kfp: KfpServer,
) -> None:
    """kfp.Client.get_pipeline_id looks among shared pipelines only; ours is in the profile's."""
    settings = aws_settings(
        multi_user_kfp.url, kfp_namespace="team-a", kfp_service_account="default-editor"
    )
    submission.KfpRunner(settings).start(record_for(settings, "run00001"))
    second = record_for(settings, "run00002")
    submission.KfpRunner(settings).start(second)
    fake = multi_user_kfp.fake
    assert fake.errors == []
    (entry,) = fake.pipelines.values()  # no second upload, no "already exists"
    assert entry["namespace"] == "team-a"
    assert len(fake.runs) == 2 and second.kfp_run_id in fake.runs
    versions = [v for v in fake.versions.values() if v["pipeline_id"] == entry["pipeline_id"]]
    assert f"{pipeline.PIPELINE_NAME}-run00002" in {v["display_name"] for v in versions}


def test_a_shared_pipeline_of_the_same_name_is_not_the_profiles(multi_user_kfp: KfpServer) -> None:
    import kfp

    other = kfp.Client(host=multi_user_kfp.url)
    shared = other.upload_pipeline(
        str(submission.compile_package(aws_settings(multi_user_kfp.url))),
        pipeline_name=pipeline.PIPELINE_NAME,
    )
    settings = aws_settings(
        multi_user_kfp.url, kfp_namespace="team-a", kfp_service_account="default-editor"
    )
    record = record_for(settings, "run00001")
    submission.KfpRunner(settings).start(record)
    fake = multi_user_kfp.fake
    assert fake.errors == []
    ours = [p for p in fake.pipelines.values() if p["namespace"] == "team-a"]
    assert len(ours) == 1 and ours[0]["pipeline_id"] != shared.pipeline_id
    sent = fake.runs[record.kfp_run_id]["run"]
    assert sent.pipeline_version_reference.pipeline_id == ours[0]["pipeline_id"]


def test_the_official_components_are_what_a_cluster_gets_by_default(kfp_api: KfpServer) -> None:
    settings = aws_settings(kfp_api.url)
    submission.KfpRunner(settings).start(record_for(settings, "run00001"))
    spec = next(iter(kfp_api.fake.versions.values()))["spec"]
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
    assert "public.ecr.aws/kubeflow-on-aws/aws-sagemaker-kfp-components:1.1.2" in images


def test_aws_mode_needs_confirmation_before_it_creates_labeling_work() -> None:
    settings = load({"mode": "aws", "bucket": "my-team-gt-bucket"}, env={})
    with pytest.raises(InputError) as err:
        planning.confirm_cost(settings)
    assert err.value.setting == "confirm_submit" and "cost" in str(err.value)
    planning.confirm_cost(
        load({"mode": "aws", "bucket": "my-team-gt-bucket", "confirm_submit": True}, env={})
    )
