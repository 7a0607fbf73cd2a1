"""Notebook 04's helpers on Ground Truth output written by hand in the real format (offline)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError
from PIL import Image

from helpers import costs, plots, results
from helpers.settings import load

BASE = "s3://bucket/demo/output"
TRAIN = "demo-train-1a2b"
VALIDATION = "demo-validation-1a2b"
LABELS = ["Musical Instrument", "Fruit"]


def line(image: str, label: int | None = None, attribute: str = "category", **meta: Any) -> str:
    """One output manifest line; no label means a failed object."""
    out: dict[str, Any] = {"source-ref": f"s3://bucket/demo/images/{image}.jpg"}
    metadata = {"type": "groundtruth/image-classification", **meta}
    if label is not None:
        out[attribute] = label
    out[f"{attribute}-metadata"] = metadata
    return json.dumps(out)


def labeled_line(image: str, label: int, confidence: float, **extra: Any) -> str:
    return line(
        image,
        label,
        **{
            "confidence": confidence,
            "job-name": f"labeling-job/{TRAIN}",
            "class-name": LABELS[label],
            "human-annotated": "yes",
            "creation-date": "2026-01-01T10:00:00.123456",
            **extra,
        },
    )


def manifest(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# --- the output manifest --------------------------------------------------------------------------


def test_a_normal_three_worker_job() -> None:
    text = manifest(
        labeled_line("aaa", 0, 0.95),
        labeled_line("bbb", 1, 0.74),
        labeled_line("ccc", 1, 0.99),
    )
    table = results.parse_output_manifest(text, "category", "train", TRAIN)
    assert list(table.columns) == list(results.TABLE_COLUMNS)
    assert table["image_id"].tolist() == ["aaa", "bbb", "ccc"]
    assert table["label"].tolist() == [0, 1, 1]
    assert table["class_name"].tolist() == ["Musical Instrument", "Fruit", "Fruit"]
    assert table["confidence"].tolist() == [0.95, 0.74, 0.99]
    assert table["human_annotated"].all()
    assert (table["job"] == TRAIN).all() and (table["split"] == "train").all()
    assert table["failure_reason"].isna().all()
    assert table["creation_date"].iloc[0] == pd.Timestamp("2026-01-01T10:00:00.123456", tz="UTC")
    counts = results.label_counts(table)
    assert counts.loc["Fruit", "train"] == 2 and counts.loc["total", "total"] == 3
    by_class = results.confidence_by_class(table).set_index("class")
    assert by_class.loc["Fruit", "mean_confidence"] == pytest.approx(0.865, abs=0.01)
    assert results.lowest_confidence(table, 1)["image_id"].tolist() == ["bbb"]


def test_a_single_worker_job_reports_confidence_zero() -> None:
    text = manifest(labeled_line("aaa", 0, 0.0), labeled_line("bbb", 1, 0))
    table = results.parse_output_manifest(text, "category", "validation", VALIDATION)
    assert table["confidence"].tolist() == [0.0, 0.0]
    assert table["confidence"].between(0, 1).all()
    figure = plots.confidence_histogram(table, single_worker=True)
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert any("0.00" in t for t in texts)


def test_a_stopped_jobs_partial_manifest_has_only_the_objects_done() -> None:
    text = manifest(labeled_line("aaa", 0, 0.9), labeled_line("bbb", 1, 0.8))
    table = results.parse_output_manifest(text, "category", "train", TRAIN)
    review = make_review({"train": job_description(TRAIN, "Stopped", labeled=2, unlabeled=8)})
    assert table.groupby("split").size().to_dict() == results.objects_by_split(review)


def test_an_empty_manifest_gives_an_empty_table() -> None:
    table = results.parse_output_manifest("", "category", "train", TRAIN)
    assert table.empty and list(table.columns) == list(results.TABLE_COLUMNS)


def test_extra_input_keys_and_another_jobs_labels_pass_through() -> None:
    chained = json.loads(labeled_line("aaa", 1, 0.88))
    chained.update(
        {
            "note": "from the input manifest",
            "animal": 0,
            "animal-metadata": {
                "class-name": "Tiger",
                "confidence": 0.5,
                "job-name": "labeling-job/an-older-job",
                "creation-date": "2025-01-01T00:00:00",
            },
        }
    )
    table = results.parse_output_manifest(manifest(json.dumps(chained)), "category", "train", TRAIN)
    row = table.iloc[0]
    assert (row["label"], row["class_name"], row["confidence"]) == (1, "Fruit", 0.88)
    assert row["job"] == TRAIN
    assert "animal" not in table.columns and "note" not in table.columns


def test_the_metadata_key_follows_the_jobs_label_attribute() -> None:
    text = manifest(
        line(
            "aaa",
            1,
            attribute="species",
            **{"class-name": "Fruit", "confidence": 0.7, "job-name": TRAIN},
        ),
        labeled_line("bbb", 0, 0.9),  # a `category` label from some other job
    )
    table = results.parse_output_manifest(text, "species", "train", TRAIN)
    assert table["class_name"].tolist()[0] == "Fruit"
    assert table["label"].isna().tolist() == [False, True]


@pytest.mark.parametrize("job_name", [f"labeling-job/{TRAIN}", TRAIN])
def test_job_name_with_or_without_the_prefix(job_name: str) -> None:
    table = results.parse_output_manifest(
        manifest(labeled_line("aaa", 0, 0.9, **{"job-name": job_name})), "category", "train", "x"
    )
    assert table["job"].tolist() == [TRAIN]


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-01-01T10:00:00.123456",
        "2026-01-01T10:00:00",
        "2026-01-01T10:00:00.123Z",
        "2026-01-01T10:00:00Z",
    ],
)
def test_creation_dates_with_or_without_fractions_and_z(stamp: str) -> None:
    table = results.parse_output_manifest(
        manifest(labeled_line("aaa", 0, 0.9, **{"creation-date": stamp})), "category", "train", "j"
    )
    parsed = table["creation_date"].iloc[0]
    assert parsed.floor("s") == pd.Timestamp(datetime(2026, 1, 1, 10, tzinfo=UTC))


def test_mixed_timestamps_and_int_or_float_confidence_in_one_manifest() -> None:
    text = manifest(
        labeled_line("aaa", 0, 1, **{"creation-date": "2026-01-01T10:00:00Z"}),
        labeled_line("bbb", 1, 0.5, **{"creation-date": "2026-01-01T10:00:01.5"}),
    )
    table = results.parse_output_manifest(text, "category", "train", TRAIN)
    assert table["confidence"].tolist() == [1.0, 0.5]
    assert table["creation_date"].notna().all()


def test_a_failed_line_has_its_reason_and_no_label() -> None:
    text = manifest(
        labeled_line("aaa", 0, 0.9),
        line("bbb", None, **{"failure-reason": "ClientError: task expired", "job-name": TRAIN}),
    )
    table = results.parse_output_manifest(text, "category", "train", TRAIN)
    failed = table.iloc[1]
    assert failed["failure_reason"] == "ClientError: task expired"
    assert pd.isna(failed["label"]) and pd.isna(failed["class_name"])
    assert pd.isna(failed["confidence"]) and pd.isna(failed["creation_date"])
    assert len(results.labeled(table)) == 1
    assert results.label_counts(table).loc["(failed)", "train"] == 1


# --- agreement with Open Images -------------------------------------------------------------------


def open_images() -> tuple[pd.DataFrame, pd.DataFrame]:
    annotations = pd.DataFrame(
        {
            "ImageID": ["aaa", "bbb", "ccc", "ddd", "ddd"],
            "Source": ["verification"] * 5,
            "LabelName": ["/m/inst", "/m/fruit", "/m/fruit", "/m/inst", "/m/fruit"],
            "Confidence": [1, 1, 1, 1, 1],
        }
    )
    descriptions = pd.DataFrame(
        {"mid": ["/m/inst", "/m/fruit"], "name": ["Musical instrument", "Fruit"]}
    )
    return annotations, descriptions


def test_agreement_with_open_images() -> None:
    text = manifest(
        labeled_line("aaa", 0, 0.9),
        labeled_line("bbb", 1, 0.8),
        labeled_line("ccc", 0, 0.6),  # Open Images says Fruit
        labeled_line("ddd", 0, 0.7),  # shows both classes: no single truth
        labeled_line("eee", 1, 0.7),  # not in Open Images
    )
    table = results.parse_output_manifest(text, "category", "train", TRAIN)
    truth = results.open_images_truth(table, open_images(), LABELS)
    assert truth.tolist()[:3] == ["Musical Instrument", "Fruit", "Fruit"]
    assert truth.isna().tolist()[3:] == [True, True]
    reviewed = results.with_truth(table, truth)
    accuracy, matrix = results.agreement(reviewed)
    assert accuracy == pytest.approx(2 / 3)
    assert matrix.loc["Fruit", "Musical Instrument"] == 1
    assert matrix.to_numpy().sum() == 3
    assert results.disagreements(reviewed)["image_id"].tolist() == ["ccc"]


def test_thousands_of_disagreements_show_a_few_pictures_per_open_images_label() -> None:
    """At 5,000 objects hundreds disagree: the grid shows the 5 least confident per label."""
    rows = pd.DataFrame(
        {
            "image_id": [f"img{i:04d}" for i in range(300)],
            "image": [f"s3://b/img{i:04d}.jpg" for i in range(300)],
            "open_images_label": ["Fruit", "Tiger", "Cheetah"] * 100,
            "confidence": [round(0.5 + (i % 50) / 100, 2) for i in range(300)],
        }
    )
    shown = results.disagreement_sample(rows)
    assert shown.groupby("open_images_label").size().to_dict() == {
        "Cheetah": 5,
        "Fruit": 5,
        "Tiger": 5,
    }
    fruit = rows[rows["open_images_label"] == "Fruit"].sort_values(["confidence", "image_id"])[:5]
    assert set(shown.loc[shown["open_images_label"] == "Fruit", "image_id"]) == set(
        fruit["image_id"]
    )
    assert results.disagreement_title(rows).endswith("the 15 least confident of 300)")
    assert results.disagreement_title(rows.head(4)).endswith("(one row per Open Images label)")


def test_no_open_images_means_no_agreement() -> None:
    table = results.parse_output_manifest(
        manifest(labeled_line("aaa", 0, 0.9)), "category", "train", TRAIN
    )
    reviewed = results.with_truth(table, results.open_images_truth(table, None, LABELS))
    accuracy, matrix = results.agreement(reviewed)
    assert accuracy is None and matrix.empty
    assert results.disagreements(reviewed).empty
    other_classes = results.open_images_truth(table, open_images(), ["Cat", "Unicorn"])
    assert other_classes.isna().all()


# --- the workforce --------------------------------------------------------------------------------


def worker_file(job: str, index: int, stamp: str = "2026-01-01_10:00:00") -> str:
    return f"{BASE}/{job}/annotations/worker-response/iteration-1/{index}/{stamp}.json"


def answer(worker: str, label: str, seconds: float | None, millis: bool) -> dict[str, Any]:
    start, end = (
        ("2026-01-01T10:00:00.250Z", "2026-01-01T10:00:07.350Z")
        if millis
        else ("2026-01-01T10:00:00Z", "2026-01-01T10:00:07Z")
    )
    out: dict[str, Any] = {
        "answerContent": {"crowd-image-classifier": {"label": label}},
        "acceptanceTime": start,
        "submissionTime": end,
        "workerId": worker,
        "workerMetadata": {
            "identityData": {
                "identityProviderType": "Cognito",
                "issuer": "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_x",
                "sub": "abc",
            }
        },
    }
    if seconds is not None:
        out["timeSpentInSeconds"] = seconds
    return out


def consolidation(job: str, labels: dict[int, int]) -> tuple[str, str]:
    path = (
        f"{BASE}/{job}/annotations/consolidated-annotation/consolidation-response/"
        "iteration-1/2026-01-01_10:05:00.json"
    )
    body = [
        {
            "datasetObjectId": str(index),
            "consolidatedAnnotation": {
                "content": {
                    "category": label,
                    "category-metadata": {"class-name": LABELS[label], "confidence": 0.9},
                }
            },
        }
        for index, label in labels.items()
    ]
    return path, json.dumps(body)


def test_worker_responses_with_and_without_milliseconds() -> None:
    files = {
        worker_file(TRAIN, 0): json.dumps(
            {
                "answers": [
                    answer("private.us-west-2.a", "Fruit", 7.1, millis=True),
                    answer("private.us-west-2.b", "Fruit", 3.0, millis=False),
                    answer("private.us-west-2.c", "Musical Instrument", None, millis=False),
                ]
            }
        ),
        worker_file(TRAIN, 1): json.dumps(
            {"answers": [answer("private.us-west-2.a", "Musical Instrument", 5.0, millis=False)]}
        ),
        f"{BASE}/{TRAIN}/manifests/output/output.manifest": "not a worker response",
    }
    answers = results.parse_worker_responses(files)
    assert len(answers) == 4
    assert set(answers["object"]) == {0, 1} and (answers["job"] == TRAIN).all()
    assert answers["accepted"].notna().all() and answers["submitted"].notna().all()
    assert answers.loc[0, "accepted"] == pd.Timestamp("2026-01-01T10:00:00.250", tz="UTC")
    assert answers.loc[2, "seconds"] == pytest.approx(7.0)  # from the times when not given
    path, body = consolidation(TRAIN, {0: 1, 1: 0})
    consolidated = results.parse_consolidation_responses({path: body}, "category")
    merged = answers.merge(consolidated, on=["job", "iteration", "object"], how="left")
    summary = results.worker_summary(merged).set_index("worker")
    assert summary.loc["private.us-west-2.a", "tasks"] == 2
    assert summary.loc["private.us-west-2.a", "agreement"] == 1.0
    assert summary.loc["private.us-west-2.c", "agreement"] == 0.0
    assert summary.loc["private.us-west-2.a", "median seconds"] == pytest.approx(6.0, abs=0.1)


def test_no_worker_responses_give_an_empty_summary() -> None:
    answers = results.parse_worker_responses({})
    assert answers.empty
    assert list(results.worker_summary(answers).columns)[:2] == ["worker", "tasks"]


# --- the training job -----------------------------------------------------------------------------


def test_learning_curves_from_log_lines() -> None:
    log = [
        "[11/28/2026 12:00:00 INFO 140] Epoch[0] Batch [20]\tSpeed: 100 samples/sec\taccuracy=0.1",
        "[11/28/2026 12:00:01 INFO 140] Epoch[0] Train-accuracy=0.403125",
        "[11/28/2026 12:00:01 INFO 140] Epoch[0] Time cost=10.2",
        "[11/28/2026 12:00:02 INFO 140] Epoch[0] Validation-accuracy=0.375",
        "Epoch[1] Train-accuracy=0.6",
        "Epoch[1] Train-accuracy=0.65",  # repeated: the last one counts
        "Epoch[1] Validation-accuracy=0.7",
        "Epoch[2] Train-accuracy=8.5e-01",
    ]
    curves = results.parse_training_log(log)
    assert curves["epoch"].tolist() == [0, 1, 2]
    assert curves["train"].tolist() == [0.403125, 0.65, 0.85]
    assert curves["validation"].tolist()[:2] == [0.375, 0.7]
    assert pd.isna(curves["validation"].iloc[2])
    assert results.parse_training_log(["nothing here"]).empty
    png = plots.learning_curves(curves, "job")._repr_png_()
    assert png.startswith(b"\x89PNG")


class FakeLogs:
    """CloudWatch Logs with one job's stream, served a page at a time."""

    class exceptions:  # noqa: N801 - mirrors boto3's client.exceptions
        ResourceNotFoundException = KeyError

    def __init__(self, streams: dict[str, list[str]]) -> None:
        self.streams = streams

    def get_paginator(self, name: str) -> Any:
        streams = self.streams

        class Paginator:
            def paginate(self, logGroupName: str, logStreamNamePrefix: str) -> Any:  # noqa: N803
                names = [s for s in streams if s.startswith(logStreamNamePrefix)]
                return [{"logStreams": [{"logStreamName": n} for n in names]}]

        return Paginator()

    def get_log_events(self, **request: Any) -> dict[str, Any]:
        start = int(request.get("nextToken") or 0)
        lines = self.streams[request["logStreamName"]][start : start + 2]
        return {
            "events": [{"message": m} for m in lines],
            "nextForwardToken": str(start + len(lines)),
        }


def test_training_log_reads_every_page_of_the_jobs_streams_only() -> None:
    logs = FakeLogs(
        {
            "job-1/algo-1-1700000000": [f"Epoch[{i}] Train-accuracy=0.{i}" for i in range(5)],
            "job-10/algo-1-1700000000": ["Epoch[0] Train-accuracy=0.99"],
        }
    )
    lines = results.training_log(logs, "job-1")
    assert len(lines) == 5
    assert results.parse_training_log(lines)["train"].tolist() == [0.0, 0.1, 0.2, 0.3, 0.4]


def test_training_summary() -> None:
    start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    training = {
        "TrainingJobName": "train-1",
        "TrainingJobStatus": "Completed",
        "ResourceConfig": {"InstanceType": "ml.g4dn.xlarge"},
        "TrainingStartTime": start,
        "TrainingEndTime": start.replace(minute=7),
        "BillableTimeInSeconds": 400,
        "FinalMetricDataList": [
            {"MetricName": "train:accuracy", "Value": 0.9},
            {"MetricName": "validation:accuracy", "Value": 0.8},
        ],
        "ModelArtifacts": {"S3ModelArtifacts": "s3://b/out/train-1/output/model.tar.gz"},
    }
    summary = results.training_summary(training, 1234)["value"]
    assert summary["duration (s)"] == 420 and summary["billable seconds"] == 400
    assert summary["final validation:accuracy"] == 0.8
    assert summary["model size (bytes)"] == 1234
    assert "failure reason" not in summary


# --- costs ----------------------------------------------------------------------------------------


def test_cost_arithmetic() -> None:
    jobs = pd.DataFrame(
        {
            "job": ["train", "validation"],
            "split": ["train", "validation"],
            "objects": [80, 20],
            "workers_per_object": [3, 3],
        }
    )
    table = costs.labeling_costs(jobs, costs.prices()).set_index("job")
    assert table.loc["all jobs", "objects labeled"] == 100
    assert table.loc["all jobs", "Ground Truth fee, private workforce (USD)"] == pytest.approx(8.0)
    assert table.loc["all jobs", "public workforce task fees (USD)"] == pytest.approx(3.6)
    assert table.loc["train", "total with a public workforce (USD)"] == pytest.approx(
        80 * 0.08 + 80 * 3 * 0.012
    )
    cheaper = costs.labeling_costs(jobs, costs.prices(0.04, 0.024, 1)).set_index("job")
    assert cheaper.loc["all jobs", "total with a public workforce (USD)"] == pytest.approx(6.4)
    assert costs.ground_truth_fee(10, costs.prices()) == pytest.approx(0.8)
    assert costs.public_task_fee(10, 5, costs.prices()) == pytest.approx(0.6)
    assert costs.beyond_first_tier(50_001) and not costs.beyond_first_tier(50_000)
    with pytest.raises(ValueError):
        costs.prices(-1)
    with pytest.raises(ValueError):
        costs.prices(workers_per_object=10)


# --- finding the jobs (fake AWS) ------------------------------------------------------------------


def no_such_key() -> ClientError:
    return ClientError({"Error": {"Code": "NoSuchKey", "Message": "missing"}}, "GetObject")


class FakeS3:
    """A few S3 objects by URI."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        uri = f"s3://{Bucket}/{Key}"
        if uri not in self.objects:
            raise no_such_key()
        return {"Body": io.BytesIO(self.objects[uri])}

    def get_paginator(self, name: str) -> Any:
        objects = self.objects

        class Paginator:
            def paginate(self, Bucket: str, Prefix: str) -> Any:  # noqa: N803
                keys = [u[len(f"s3://{Bucket}/") :] for u in objects]
                return [{"Contents": [{"Key": k} for k in keys if k.startswith(Prefix)]}]

        return Paginator()


class FakeSageMaker:
    def __init__(self, jobs: dict[str, dict[str, Any]], tags: list[dict[str, str]]) -> None:
        self.jobs, self.tags = jobs, tags

    def describe_labeling_job(self, LabelingJobName: str) -> dict[str, Any]:  # noqa: N803
        if LabelingJobName not in self.jobs:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFound", "Message": "no"}}, "DescribeLabelingJob"
            )
        return self.jobs[LabelingJobName]

    def describe_training_job(self, TrainingJobName: str) -> dict[str, Any]:  # noqa: N803
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": "not found"}},
            "DescribeTrainingJob",
        )

    def list_tags(self, ResourceArn: str) -> dict[str, Any]:  # noqa: N803
        return {"Tags": self.tags}


class FakeAws:
    def __init__(self, **clients: Any) -> None:
        self.clients = clients

    def client(self, name: str) -> Any:
        return self.clients[name]


def job_description(
    name: str, status: str, labeled: int = 2, failed: int = 0, unlabeled: int = 0
) -> dict[str, Any]:
    description: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelingJobArn": f"arn:aws:sagemaker:us-west-2:123456789012:labeling-job/{name}",
        "LabelingJobStatus": status,
        "LabelAttributeName": "category",
        "LabelCounters": {
            "TotalLabeled": labeled,
            "HumanLabeled": labeled,
            "MachineLabeled": 0,
            "FailedNonRetryableError": failed,
            "Unlabeled": unlabeled,
        },
        "OutputConfig": {"S3OutputPath": BASE},
        "HumanTaskConfig": {"NumberOfHumanWorkersPerDataObject": 3},
        "LabelCategoryConfigS3Uri": "s3://bucket/demo/class_labels.json",
    }
    if status in ("Completed", "Stopped"):
        description["LabelingJobOutput"] = {
            "OutputDatasetS3Uri": f"{BASE}/{name}/manifests/output/output.manifest"
        }
    if status == "Failed":
        description["FailureReason"] = "ClientError: access denied"
    return description


def make_review(labeling: dict[str, dict[str, Any]]) -> results.Review:
    target = results.Target({s: j["LabelingJobName"] for s, j in labeling.items()}, None, "r", "x")
    return results.Review(target, labeling, None, LABELS)


def fake_aws(jobs: list[dict[str, Any]], objects: dict[str, bytes]) -> FakeAws:
    labels = {
        "s3://bucket/demo/class_labels.json": json.dumps(
            {"document-version": "2018-11-28", "labels": [{"label": x} for x in LABELS]}
        ).encode()
    }
    return FakeAws(
        s3=FakeS3({**labels, **objects}),
        sagemaker=FakeSageMaker(
            {j["LabelingJobName"]: j for j in jobs}, [{"Key": "walkthrough-run", "Value": "1a2b"}]
        ),
    )


def named_settings() -> Any:
    return load(
        {"ground_truth_train_job_name": TRAIN, "ground_truth_validation_job_name": VALIDATION},
        env={},
    )


def test_nothing_recorded_says_to_run_notebook_03_without_a_stack_trace() -> None:
    settings = load({}, env={})
    with pytest.raises(results.NothingToReview) as err:
        results.find_target(settings, FakeS3({}))
    shown = err.value._render_traceback_()
    assert len(shown) == 1 and "03_run_pipeline first" in shown[0]


def test_jobs_named_in_the_settings_are_reviewed_with_their_runs_training_job() -> None:
    output = f"{BASE}/{TRAIN}/manifests/output/output.manifest"
    consolidated, consolidated_body = consolidation(TRAIN, {0: 0})
    stopped = f"{BASE}/{VALIDATION}/manifests/output/output.manifest"
    aws = fake_aws(
        [
            job_description(TRAIN, "Completed", labeled=1, failed=1),
            job_description(VALIDATION, "Stopped", labeled=1, unlabeled=3),
        ],
        {
            output: manifest(
                labeled_line("aaa", 0, 0.9),
                line("bbb", None, **{"failure-reason": "expired", "job-name": TRAIN}),
            ).encode(),
            stopped: manifest(labeled_line("ccc", 1, 0.6)).encode(),
            worker_file(TRAIN, 0): json.dumps(
                {"answers": [answer("w1", "Musical Instrument", 4.0, millis=True)]}
            ).encode(),
            consolidated: consolidated_body.encode(),
        },
    )
    review = results.open_review(named_settings(), aws)
    assert review.target.source == "the settings"
    assert review.target.training_job == "mini-image-classification-training-1a2b"
    assert review.training is None  # the training job is gone
    assert review.labels == LABELS
    assert any("Stopped" in note for note in review.notes)
    table = results.load_labels(aws.client("s3"), review)
    assert table.groupby("split").size().to_dict() == results.objects_by_split(review)
    answers = results.load_answers(aws.client("s3"), review)
    assert results.worker_summary(answers).loc[0, "agreement"] == 1.0
    inputs = results.cost_inputs(table, review)
    assert inputs["objects"].tolist() == [1, 1]  # failed objects are not charged


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("InProgress", "InProgress"), "Let notebook 03_run_pipeline follow the run"),
        (("Failed", "Failed"), "access denied"),
        ((None, None), "do not exist"),
    ],
)
def test_nothing_ready_stops_with_a_clear_message(
    statuses: tuple[str | None, str | None], expected: str
) -> None:
    jobs = [
        job_description(name, status)
        for name, status in zip((TRAIN, VALIDATION), statuses, strict=True)
        if status
    ]
    with pytest.raises(results.NothingToReview, match=expected):
        results.open_review(named_settings(), fake_aws(jobs, {}))


# --- export and figures ---------------------------------------------------------------------------


def jpeg(color: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_export_writes_the_csv_and_the_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALKTHROUGH_RUN_DIR", str(tmp_path / "demo-run"))
    folder = results.review_folder("abc")
    assert folder == tmp_path / "demo-run"
    monkeypatch.delenv("WALKTHROUGH_RUN_DIR")
    assert results.review_folder("abc").parts[-2:] == ("review", "abc")
    table = results.parse_output_manifest(
        manifest(labeled_line("aaa", 0, 0.9), labeled_line("bbb", 1, 0.4)), "category", "train", "j"
    )
    reviewed = results.with_truth(table, results.open_images_truth(table, open_images(), LABELS))
    _, matrix = results.agreement(reviewed)
    grid = plots.image_rows(
        {"Fruit": [("Fruit (0.40)", jpeg("red"))], "Musical Instrument": [("x", jpeg("blue"))] * 6}
    )
    written = results.export(
        folder,
        reviewed,
        {
            "counts": plots.labeled_counts_chart(table),
            "grid": grid,
            "confusion": plots.confusion_matrix_chart(matrix, 1.0),
            "none": None,
        },
    )
    assert set(written) == {"reviewed dataset", "figure counts", "figure grid", "figure confusion"}
    exported = pd.read_csv(written["reviewed dataset"])
    assert exported["open_images_label"].tolist() == ["Musical Instrument", "Fruit"]
    assert all(
        p.read_bytes()[:4] == b"\x89PNG" for k, p in written.items() if k != "reviewed dataset"
    )
    assert results.review_first_title(results.lowest_confidence(table, 2)).endswith(
        "(0.40 to 0.90)"
    )


def test_when_every_object_failed_it_says_why_and_what_to_check() -> None:
    output = f"{BASE}/{TRAIN}/manifests/output/output.manifest"
    expired = line("aaa", None, **{"failure-reason": "ClientError: the task expired"})
    aws = fake_aws(
        [job_description(TRAIN, "Completed", labeled=0, failed=2)],
        {output: manifest(expired, expired.replace("aaa", "bbb")).encode()},
    )
    settings = load({"ground_truth_train_job_name": TRAIN}, env={})
    review = results.open_review(settings, aws)
    with pytest.raises(results.NothingToReview, match="all 2 objects failed.*task expired"):
        results.load_labels(aws.client("s3"), review)


def test_without_the_label_config_the_classes_come_from_the_labels() -> None:
    output = f"{BASE}/{TRAIN}/manifests/output/output.manifest"
    aws = fake_aws(
        [job_description(TRAIN, "Completed")],
        {output: manifest(labeled_line("aaa", 1, 0.9), labeled_line("bbb", 0, 0.8)).encode()},
    )
    del aws.client("s3").objects["s3://bucket/demo/class_labels.json"]
    review = results.open_review(load({"ground_truth_train_job_name": TRAIN}, env={}), aws)
    assert review.labels == []
    results.load_labels(aws.client("s3"), review)
    assert review.labels == ["Fruit", "Musical Instrument"]


def test_the_training_instance_is_in_the_cost_with_its_price_source_and_date() -> None:
    """Billable seconds x instances x the type's hourly price, and where that price comes from."""
    training = {
        "TrainingJobName": "train-1",
        "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 2},
        "BillableTimeInSeconds": 600,
    }
    row = costs.training_cost(training).iloc[0]
    hourly = costs.TRAINING_PRICE_PER_HOUR["ml.p3.2xlarge"]
    assert row["training cost (USD)"] == pytest.approx(600 * 2 * hourly / 3600)
    assert row["price as of"] == costs.TRAINING_PRICES_AS_OF
    assert costs.TRAINING_PRICES_SOURCE.startswith("https://aws.amazon.com/sagemaker/pricing/")
    jobs = pd.DataFrame(
        {"job": ["t"], "split": ["train"], "objects": [10], "workers_per_object": [3]}
    )
    labeling = costs.labeling_costs(jobs, costs.prices())
    total = costs.run_total(labeling, costs.training_cost(training))
    assert total["private workforce (USD)"] == pytest.approx(10 * 0.08 + 600 * 2 * hourly / 3600)
    assert "and training" in costs.total_line(labeling, costs.training_cost(training))
    # a type with no price on file: no cost is made up, and the table says where to look
    unknown = costs.training_cost({**training, "ResourceConfig": {"InstanceType": "ml.x9.huge"}})
    assert pd.isna(unknown.iloc[0]["training cost (USD)"])
    assert unknown.iloc[0]["price as of"] == "no price on file"
    assert costs.run_total(labeling, unknown)["private workforce (USD)"] is None


def test_smoke_prices_training_from_the_one_price_table() -> None:
    """The smoke run's training estimate reads costs.py's table (its one home)."""
    from helpers import smoke

    assert not hasattr(smoke, "TRAINING_PRICE_PER_HOUR")
    assert "costs.TRAINING_PRICE_PER_HOUR" in Path(smoke.__file__).read_text()


def test_the_confusion_matrix_follows_the_settings_order_not_the_alphabet() -> None:
    """Rows and columns are in the class index's order (class_labels.json), as settings give it."""
    reviewed = pd.DataFrame(
        {
            "open_images_label": ["Tiger", "Cheetah", "Apple", "Tiger"],
            "class_name": ["Tiger", "Cheetah", "Apple", "Cheetah"],
            "agrees": [True, True, True, False],
        }
    )
    _, matrix = results.agreement(reviewed, ["Tiger", "Cheetah", "Apple"])
    assert list(matrix.index) == ["Tiger", "Cheetah", "Apple"]
    assert list(matrix.columns) == ["Tiger", "Cheetah", "Apple"]


def test_the_first_table_shows_one_object_per_class_and_split() -> None:
    """Not ten alike rows: each class once per job, in the settings' order, with its index."""
    lines = [labeled_line(f"t{i}", i % 2, 0.9) for i in range(10)]
    train = results.parse_output_manifest(manifest(*lines), "category", "train", TRAIN)
    validation = results.parse_output_manifest(
        manifest(*lines[:4]), "category", "validation", TRAIN
    )
    table = pd.concat([train, validation], ignore_index=True)
    shown = results.one_per_class(table, list(reversed(LABELS)))
    assert list(zip(shown["split"], shown["class_name"], strict=True)) == [
        ("train", LABELS[1]),
        ("train", LABELS[0]),
        ("validation", LABELS[1]),
        ("validation", LABELS[0]),
    ]
    assert shown["label"].tolist() == [1, 0, 1, 0]
    assert "failure_reason" not in shown.columns
