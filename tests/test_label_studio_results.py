"""Notebook 04 with labeling_backend=label_studio: jobs from the step's job.json (offline)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from helpers import results
from helpers.settings import load
from tests.test_results import (
    BASE,
    LABELS,
    TRAIN,
    VALIDATION,
    FakeAws,
    FakeS3,
    answer,
    consolidation,
    job_description,
    labeled_line,
    line,
    manifest,
    worker_file,
)


class NoSageMaker:
    """Label Studio's jobs are no SageMaker resources: any SageMaker call is a mistake."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"SageMaker {name} called for a Label Studio job")


def label_studio_job(name: str, status: str, **counts: int) -> dict[str, Any]:
    """A job.json as Label Studio's labeling step writes it (DescribeLabelingJob's shape)."""
    job = job_description(name, status, **counts)
    del job["LabelingJobArn"]  # no SageMaker resource
    job["LabelStudio"] = {"url": "http://127.0.0.1:8080", "project_id": 7, "title": name}
    return job


def settings(**values: Any) -> Any:
    return load(
        {
            "bucket": "bucket",
            "prefix": "demo",
            "labeling_backend": "label_studio",
            "ground_truth_train_job_name": TRAIN,
            "ground_truth_validation_job_name": VALIDATION,
            **values,
        },
        env={},
    )


def aws_with(objects: dict[str, bytes]) -> FakeAws:
    labels = json.dumps(
        {"document-version": "2018-11-28", "labels": [{"label": x} for x in LABELS]}
    )
    store = {"s3://bucket/demo/class_labels.json": labels.encode(), **objects}
    return FakeAws(s3=FakeS3(store), sagemaker=NoSageMaker())


def test_job_json_is_where_the_step_writes_it() -> None:
    assert settings().layout.labeling_output == BASE
    uri = results.job_description_uri(BASE, TRAIN)
    assert uri == f"{BASE}/{TRAIN}/label-studio/job.json"


def test_notebook_04s_tables_from_label_studio_jobs() -> None:
    train_manifest = f"{BASE}/{TRAIN}/manifests/output/output.manifest"
    validation_manifest = f"{BASE}/{VALIDATION}/manifests/output/output.manifest"
    consolidated, consolidated_body = consolidation(TRAIN, {0: 0})
    aws = aws_with(
        {
            results.job_description_uri(BASE, TRAIN): json.dumps(
                label_studio_job(TRAIN, "Completed", labeled=1, failed=1)
            ).encode(),
            results.job_description_uri(BASE, VALIDATION): json.dumps(
                label_studio_job(VALIDATION, "Completed", labeled=1)
            ).encode(),
            train_manifest: manifest(
                labeled_line("aaa", 0, 0.9),
                line("bbb", None, **{"failure-reason": "expired", "job-name": TRAIN}),
            ).encode(),
            validation_manifest: manifest(labeled_line("ccc", 1, 0.6)).encode(),
            worker_file(TRAIN, 0): json.dumps(
                {"answers": [answer("labelstudio.3", "Musical Instrument", 4.0, millis=True)]}
            ).encode(),
            consolidated: consolidated_body.encode(),
        }
    )
    review = results.open_review(settings(), aws)
    assert review.labels == LABELS
    assert review.training is None  # named jobs without a run: no training job to look up
    jobs = results.jobs_table(review)
    assert jobs["status"].tolist() == ["Completed", "Completed"]
    assert jobs["output manifest"].tolist() == [train_manifest, validation_manifest]
    table = results.load_labels(aws.client("s3"), review)
    assert table.groupby("split").size().to_dict() == {"train": 2, "validation": 1}
    counts = results.label_counts(table)
    assert counts.loc["(failed)", "total"] == 1 and counts.loc["total", "total"] == 3
    answers = results.load_answers(aws.client("s3"), review)
    assert answers["worker"].tolist() == ["labelstudio.3"]


def test_a_run_without_job_json_says_where_it_looked() -> None:
    with pytest.raises(results.NothingToReview) as err:
        results.open_review(settings(), aws_with({}))
    assert "job.json" in str(err.value) and BASE in str(err.value)


def test_ground_truth_backend_still_asks_sagemaker() -> None:
    ground_truth = settings(labeling_backend="ground_truth")
    with pytest.raises(AssertionError, match="describe_labeling_job"):
        results.open_review(ground_truth, aws_with({}))


def test_a_runs_recorded_backend_wins_over_the_settings() -> None:
    """A run recorded as labeled by Label Studio is read from job.json, whatever the setting."""
    job = label_studio_job(TRAIN, "Completed")
    aws = aws_with({results.job_description_uri(BASE, TRAIN): json.dumps(job).encode()})
    ground_truth = settings(labeling_backend="ground_truth")
    found = results.describe_labeling_jobs(ground_truth, aws, {"train": TRAIN}, "label_studio")
    assert found["train"]["LabelStudio"]["project_id"] == 7
