"""Notebook 04's predictions section: the model on held-out test images (offline).

S3 and CloudWatch Logs are moto's; DescribeTransformJob is answered through botocore's Stubber,
which checks both the request and the answer against SageMaker's model. (Switch these to the
local SageMaker's transform jobs once it has them.)
"""

from __future__ import annotations

import ast
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber
from IPython.display import Markdown
from moto import mock_aws
from PIL import Image

from helpers import costs, plots, results
from helpers.paths import project_root
from helpers.settings import load

REGION = "us-west-2"
BUCKET = "bucket"
PREFIX = "demo"
RUN_ID = "1a2b3c4d"
JOB = f"mini-image-classification-predictions-{RUN_ID}"
#: The settings' order, which is the class index: deliberately not alphabetical.
CLASSES = ["Tiger", "Cheetah", "Apple"]
IMAGES = f"s3://{BUCKET}/{PREFIX}/test/images/"
OUTPUT = f"s3://{BUCKET}/{PREFIX}/predictions/{RUN_ID}/"
START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class Aws:
    """The clients notebook 04 asks for: moto's S3 and Logs, a stubbed SageMaker."""

    def __init__(self, stubber: Stubber, **clients: Any) -> None:
        self.stubber, self.clients = stubber, clients

    def client(self, name: str) -> Any:
        return self.clients[name]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        with Stubber(sagemaker) as stubber:
            logs = boto3.client("logs", region_name=REGION)
            yield Aws(stubber, s3=s3, logs=logs, sagemaker=sagemaker)
            stubber.assert_no_pending_responses()


def settings(**overrides: Any) -> Any:
    return load({"bucket": BUCKET, "prefix": PREFIX, "classes": CLASSES, **overrides}, env={})


def review(transform_job: str | None = JOB) -> results.Review:
    target = results.Target({}, None, RUN_ID, f"run {RUN_ID}", transform_job)
    return results.Review(target, {}, None, list(CLASSES))


def jpeg(color: str, size: tuple[int, int] = (640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG")
    return buffer.getvalue()


def put(s3: Any, uri: str, body: bytes | str) -> None:
    key = uri.removeprefix(f"s3://{BUCKET}/")
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)


def stage(s3: Any, cases: dict[str, tuple[str, list[float] | None]]) -> None:
    """Notebook 01's class list and test labels, the test images, and the transform's `.out`s.

    `cases`: image id -> (Open Images class, probabilities in class index order or None).
    """
    put(
        s3,
        f"s3://{BUCKET}/{PREFIX}/class_labels.json",
        json.dumps({"document-version": "2018-11-28", "labels": [{"label": c} for c in CLASSES]}),
    )
    lines = [
        json.dumps({"source-ref": f"{IMAGES}{image}.jpg", "class-name": truth})
        for image, (truth, _) in cases.items()
    ]
    put(s3, f"s3://{BUCKET}/{PREFIX}/test/labels.jsonl", "\n".join(lines) + "\n")
    for image, (_, probabilities) in cases.items():
        put(s3, f"{IMAGES}{image}.jpg", jpeg("green"))
        if probabilities is not None:
            put(s3, f"{OUTPUT}{image}.jpg.out", json.dumps({"prediction": probabilities}))


def transform_job(status: str, **extra: Any) -> dict[str, Any]:
    """A DescribeTransformJob answer as the pipeline's predict step makes the job."""
    return {
        "TransformJobName": JOB,
        "TransformJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:transform-job/{JOB}",
        "TransformJobStatus": status,
        "ModelName": f"mini-image-classification-model-{RUN_ID}",
        "MaxPayloadInMB": 6,
        "BatchStrategy": "SingleRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": IMAGES}},
            "ContentType": "application/x-image",
            "SplitType": "None",
        },
        "TransformOutput": {"S3OutputPath": OUTPUT},
        "TransformResources": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
        "CreationTime": START - timedelta(minutes=1),
        **extra,
    }


def answer(aws: Aws, job: dict[str, Any]) -> None:
    aws.stubber.add_response("describe_transform_job", job, {"TransformJobName": JOB})


#: Six test images: two mistakes, four right answers of varying sureness.
CASES: dict[str, tuple[str, list[float] | None]] = {
    "t-sure": ("Tiger", [0.97, 0.02, 0.01]),
    "t-unsure": ("Tiger", [0.51, 0.48, 0.01]),
    "t-as-cheetah": ("Tiger", [0.30, 0.65, 0.05]),
    "c-sure": ("Cheetah", [0.05, 0.90, 0.05]),
    "c-as-apple": ("Cheetah", [0.10, 0.15, 0.75]),
    "a-sure": ("Apple", [0.01, 0.01, 0.98]),
}


def completed(aws: Aws) -> results.Predictions:
    stage(aws.client("s3"), CASES)
    answer(aws, transform_job("Completed", TransformStartTime=START, TransformEndTime=START))
    return results.open_predictions(settings(), aws, review())


def test_accuracy_and_the_confusion_matrix_in_the_settings_class_order(aws: Aws) -> None:
    predictions = completed(aws)
    assert predictions.state == "done" and not predictions.notes
    table = predictions.table.set_index("image_id")
    assert list(predictions.table.columns) == list(results.PREDICTION_COLUMNS)
    assert table.loc["t-as-cheetah", "predicted_class"] == "Cheetah"
    assert table.loc["t-as-cheetah", "probability"] == pytest.approx(0.65)
    assert table.loc["t-as-cheetah", "truth_probability"] == pytest.approx(0.30)
    assert table.loc["t-as-cheetah", "image"] == f"{IMAGES}t-as-cheetah.jpg"
    assert table["correct"].tolist().count(False) == 2
    accuracy, matrix = results.prediction_accuracy(predictions.table, predictions.classes)
    assert accuracy == pytest.approx(4 / 6)
    assert list(matrix.index) == CLASSES and list(matrix.columns) == CLASSES
    assert matrix.to_numpy().tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    chart = plots.prediction_matrix_chart(matrix, accuracy)
    ax = chart.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == CLASSES
    assert [t.get_text() for t in ax.texts] == ["2", "1", "0", "0", "1", "1", "0", "0", "1"]
    assert "67%" in ax.get_title()
    shown = results.predictions_status(predictions, settings())
    assert "Completed" in shown and "6 predictions for 6 test images" in shown


def test_the_grid_shows_mistakes_first_then_the_least_sure_as_thumbnails(aws: Aws) -> None:
    predictions = completed(aws)
    order = results.review_order(predictions.table)["image_id"].tolist()
    assert order == ["t-as-cheetah", "c-as-apple", "t-unsure", "c-sure", "t-sure", "a-sure"]
    images, title = results.prediction_images(aws.client("s3"), predictions.table, count=4)
    captions = [caption for caption, _ in images]
    assert captions[0] == "✗ Cheetah (0.65)\nOpen Images: Tiger"
    assert captions[1] == "✗ Apple (0.75)\nOpen Images: Cheetah"
    assert captions[2] == "✓ Tiger (0.51)\nt-unsure"
    assert len(images) == 4 and title.startswith("Predictions on 4 of 6 test images: the 2 mis")
    with Image.open(io.BytesIO(images[0][1])) as thumbnail:
        assert max(thumbnail.size) <= 192  # read from S3 at 640x480, shown small
    grid = plots.captioned_grid(images, columns=4, title=title)
    titles = [ax.get_title() for ax in grid.axes if ax.get_title()]
    assert titles == captions
    assert grid.axes[0].title.get_color() == plots.MISTAKE


def test_a_failed_job_shows_its_reason_and_the_data_log_line_naming_the_object(aws: Aws) -> None:
    logs = aws.client("logs")
    logs.create_log_group(logGroupName=results.TRANSFORM_LOG_GROUP)
    bad = f"{IMAGES}notes.txt"
    streams = {
        f"{JOB}/i-0abc-1764489600/data-log": [
            *(f"[sagemaker logs]: {IMAGES}image-{i:02d}.jpg: ok" for i in range(30)),
            f"[sagemaker logs]: {bad}: ClientError: 415: Unsupported Media Type: cannot "
            "identify image file",
        ],
        f"{JOB}/i-0abc-1764489600": ["container: loading model", "container: serving"],
        f"{JOB}-other/i-0abc-1764489600/data-log": ["another job's line"],
    }
    for stream, lines in streams.items():
        logs.create_log_stream(logGroupName=results.TRANSFORM_LOG_GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=results.TRANSFORM_LOG_GROUP,
            logStreamName=stream,
            logEvents=[
                {"timestamp": int(START.timestamp() * 1000) + i, "message": line}
                for i, line in enumerate(lines)
            ],
        )
    answer(
        aws,
        transform_job(
            "Failed",
            FailureReason="ClientError: See job logs for more information",
            TransformStartTime=START,
            TransformEndTime=START + timedelta(seconds=90),
        ),
    )
    predictions = results.open_predictions(settings(), aws, review())
    assert predictions.state == "failed" and predictions.table.empty
    shown = results.predictions_status(predictions, settings())
    assert "failed:** ClientError: See job logs for more information" in shown
    assert f"{bad}: ClientError: 415" in shown
    assert f"{JOB}/i-0abc-1764489600/data-log" in shown
    assert "image-29.jpg: ok" in shown and "image-00.jpg" not in shown  # the last lines only
    assert len(predictions.log_lines) == 20 and predictions.log_lines[-1].startswith("[sag")
    assert "container: serving" not in shown and "another job's line" not in shown


def test_a_failed_job_without_a_log_yet_says_so(aws: Aws) -> None:
    answer(aws, transform_job("Failed", FailureReason="CapacityError: no ml.c5.xlarge"))
    predictions = results.open_predictions(settings(), aws, review())
    shown = results.predictions_status(predictions, settings())
    assert "CapacityError: no ml.c5.xlarge" in shown and "no data log" in shown


def test_a_job_still_running_or_not_started_is_said_not_raised(aws: Aws) -> None:
    answer(aws, transform_job("InProgress", TransformStartTime=START))
    running = results.open_predictions(settings(), aws, review())
    assert running.state == "running"
    assert "is InProgress" in results.predictions_status(running, settings())
    assert costs.transform_cost(running.job)["transform cost (USD)"].isna().all()
    aws.stubber.add_client_error(
        "describe_transform_job",
        service_error_code="ValidationException",
        service_message=f"Could not find requested job with name {JOB}",
        expected_params={"TransformJobName": JOB},
    )
    missing = results.open_predictions(settings(), aws, review())
    assert missing.state == "not started"
    assert "does not exist" in results.predictions_status(missing, settings())


def test_predictions_off_say_how_to_turn_them_on_without_asking_sagemaker(aws: Aws) -> None:
    off = settings(test_images_per_class=0)
    predictions = results.open_predictions(off, aws, review())
    assert predictions.state == "off"
    shown = results.predictions_status(predictions, off)
    assert "Predictions are off" in shown and "`test_images_per_class` is 0" in shown
    assert "test_images_per_class" in shown and "new_run=True" in shown
    older = results.open_predictions(settings(), aws, review(transform_job=None))
    assert "names no transform job" in results.predictions_status(older, settings())


def test_an_image_without_a_prediction_is_noted(aws: Aws) -> None:
    stage(aws.client("s3"), {**CASES, "x-lost": ("Apple", None)})
    answer(aws, transform_job("Stopped"))
    predictions = results.open_predictions(settings(), aws, review())
    assert predictions.state == "done"
    assert predictions.notes == [f"1 test image(s) have no prediction under {OUTPUT}"]
    accuracy, _ = results.prediction_accuracy(predictions.table, CLASSES)
    assert accuracy == pytest.approx(4 / 6)  # measured on the images that have a prediction
    assert "x-lost" not in results.review_order(predictions.table)["image_id"].tolist()


def test_the_labels_agreement_sits_beside_the_models_accuracy() -> None:
    reviewed = pd.DataFrame(
        {
            "open_images_label": ["Tiger", "Cheetah", "Apple", "Tiger"],
            "class_name": ["Tiger", "Cheetah", "Apple", "Cheetah"],
            "agrees": [True, True, True, False],
        }
    )
    label_accuracy, label_matrix = results.agreement(reviewed, CLASSES)
    training = {"FinalMetricDataList": [{"MetricName": "validation:accuracy", "Value": 0.8125}]}
    test_matrix = pd.DataFrame([[2, 1, 0], [0, 1, 1], [0, 0, 1]], index=CLASSES, columns=CLASSES)
    table = results.what_the_labels_were_worth(
        label_accuracy, label_matrix, training, 4 / 6, test_matrix
    )
    assert table["accuracy"].tolist() == [0.75, 0.812, 0.667]
    assert table["images"].tolist()[::2] == [4, 6]
    assert table.index[0] == "Ground Truth labels agree with Open Images"
    assert "held-out" in table.loc["model: test accuracy", "measured against"]


def test_the_transform_instance_joins_the_cost_table() -> None:
    job = transform_job(
        "Completed", TransformStartTime=START, TransformEndTime=START + timedelta(seconds=150)
    )
    transform = costs.transform_cost(job)
    hourly = costs.TRANSFORM_PRICE_PER_HOUR["ml.c5.xlarge"]
    assert transform.iloc[0]["transform cost (USD)"] == pytest.approx(150 * hourly / 3600)
    assert transform.iloc[0]["price as of"] == costs.TRANSFORM_PRICES_AS_OF
    training = costs.training_cost(
        {
            "TrainingJobName": "train-1",
            "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1},
            "BillableTimeInSeconds": 600,
        }
    )
    table = costs.instance_costs(training, transform).set_index("step")
    assert list(table.index) == ["training", "predictions"]
    assert table.loc["predictions", "job"] == JOB
    assert table.loc["predictions", "instance type"] == "ml.c5.xlarge"
    assert table.loc["predictions", "billed seconds"] == 150
    trained = 600 * costs.TRAINING_PRICE_PER_HOUR["ml.p3.2xlarge"] / 3600
    assert table.loc["predictions", "cost (USD)"] == pytest.approx(150 * hourly / 3600)
    jobs = pd.DataFrame(
        {"job": ["t"], "split": ["train"], "objects": [10], "workers_per_object": [3]}
    )
    labeling = costs.labeling_costs(jobs, costs.prices())
    total = costs.run_total(labeling, training, transform)
    assert total["private workforce (USD)"] == pytest.approx(
        10 * 0.08 + trained + 150 * hourly / 3600, abs=1e-4
    )
    line = costs.total_line(labeling, training, transform)
    assert line.startswith("**The run on AWS** (labeling, training and predictions):")
    running = costs.transform_cost(transform_job("InProgress", TransformStartTime=START))
    assert costs.run_total(labeling, training, running)["private workforce (USD)"] is None
    assert "no predictions price or time on file" in costs.total_line(labeling, training, running)


# --- notebook 04's own cells, on the same objects (no kernel, no pipeline run) -------------------


def notebook_section(first: str, end: str) -> list[str]:
    """The code cells of notebook 04 from the markdown cell starting `first` to the one `end`."""
    cells = json.loads((project_root() / "notebooks" / "04_review_results.ipynb").read_text())
    code, inside = [], False
    for cell in cells["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and text.startswith(("## ", "### ")):
            inside = text.startswith(first) or (inside and not text.startswith(end))
        elif inside and cell["cell_type"] == "code":
            code.append(text)
    return code


def run_cells(cells: list[str], namespace: dict[str, Any]) -> list[Any]:
    """Run cells as the kernel does; return what each shows (display calls, last expression)."""
    shown: list[Any] = []
    namespace["display"] = shown.append
    for text in cells:
        tree = ast.parse(text)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the notebook's own cells
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307
            if value is not None:
                shown.append(value)
    return shown


def notebook_namespace(aws: Aws) -> dict[str, Any]:
    """What notebook 04 has defined when it reaches step 8 (labels reviewed, training done)."""
    labeling = {
        "LabelingJobName": "demo-train",
        "LabelCounters": {"TotalLabeled": 4},
        "HumanTaskConfig": {"NumberOfHumanWorkersPerDataObject": 3},
    }
    reviewed = pd.DataFrame(
        {
            "open_images_label": ["Tiger", "Cheetah", "Apple", "Tiger"],
            "class_name": ["Tiger", "Cheetah", "Apple", "Cheetah"],
            "agrees": [True, True, True, False],
            "label": [0, 1, 2, 1],
            "split": ["train"] * 4,
            "human_annotated": pd.array([True] * 4, dtype="boolean"),
            "confidence": [0.9, 0.8, 0.95, 0.6],
        }
    )
    accuracy, matrix = results.agreement(reviewed, CLASSES)
    chosen = review()
    chosen.labeling["train"] = labeling
    return {
        "Markdown": Markdown,
        "results": results,
        "plots": plots,
        "costs": costs,
        "settings": settings(),
        "aws": aws,
        "s3": aws.client("s3"),
        "review": chosen,
        "table": reviewed,
        "reviewed": reviewed,
        "accuracy": accuracy,
        "matrix": matrix,
        "training": {
            "TrainingJobName": "train-1",
            "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1},
            "BillableTimeInSeconds": 600,
            "FinalMetricDataList": [{"MetricName": "validation:accuracy", "Value": 0.8125}],
        },
        "prices": costs.prices(),
    }


def test_notebook_04_shows_the_predictions_and_their_cost(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    stage(aws.client("s3"), CASES)
    end = START + timedelta(seconds=150)
    answer(aws, transform_job("Completed", TransformStartTime=START, TransformEndTime=end))
    namespace = notebook_namespace(aws)
    shown = run_cells(notebook_section("## Step 8", "## Step 9"), namespace)
    job, status, chart, first, grid, worth = shown
    assert job.loc["status", "value"] == "Completed" and job.loc["duration (s)", "value"] == 150
    assert job.loc["instance type", "value"] == "ml.c5.xlarge"
    assert "6 predictions for 6 test images" in status.data
    assert "Test accuracy: 67% of 6 held-out images" in capsys.readouterr().out
    assert [t.get_text() for t in chart.axes[0].get_yticklabels()] == CLASSES
    assert first["image_id"].tolist()[:2] == ["t-as-cheetah", "c-as-apple"]
    assert grid.axes[0].get_title() == "✗ Cheetah (0.65)\nOpen Images: Tiger"
    assert worth["accuracy"].tolist() == [0.75, 0.812, 0.667]
    shown = run_cells(notebook_section("## Step 9", "### Automated data labeling"), namespace)
    instances = next(s for s in shown if isinstance(s, pd.DataFrame) and "step" in s.columns)
    row = instances.set_index("step").loc["predictions"]
    assert (row["instance type"], row["billed seconds"]) == ("ml.c5.xlarge", 150)
    assert row["cost (USD)"] == pytest.approx(150 * 0.204 / 3600)
    assert "(labeling, training and predictions)" in shown[-1].data
    assert costs.TRANSFORM_PRICES_SOURCE in capsys.readouterr().out


def test_the_predictions_are_exported_beside_the_reviewed_dataset(aws: Aws, tmp_path: Path) -> None:
    predictions = completed(aws)
    written = results.export(tmp_path, pd.DataFrame({"image": []}), {}, predictions.table)
    exported = pd.read_csv(written["predictions"])
    assert list(exported.columns) == list(results.PREDICTION_COLUMNS) and len(exported) == 6
    assert "predictions" not in results.export(tmp_path, pd.DataFrame(), {}, None)


def test_notebook_04_shows_a_failed_transform_and_goes_on(aws: Aws) -> None:
    answer(aws, transform_job("Failed", FailureReason="ClientError: See job logs"))
    namespace = notebook_namespace(aws)
    shown = run_cells(notebook_section("## Step 8", "## Step 9"), namespace)
    job, status, worth = shown
    assert job.loc["failure reason", "value"] == "ClientError: See job logs"
    assert "failed:** ClientError: See job logs" in status.data
    assert namespace["prediction_chart"] is None and namespace["prediction_grid"] is None
    assert pd.isna(worth.loc["model: test accuracy", "accuracy"])
    shown = run_cells(notebook_section("## Step 9", "### Automated data labeling"), namespace)
    assert "no predictions price or time on file" in shown[-1].data
