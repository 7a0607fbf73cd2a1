"""Notebook 04 on the local AWS: after a real pipeline run, and with nothing to review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpers import costs, following, results, submission
from helpers.s3 import read_text
from helpers.settings import load
from tests.support import execute_notebook, notebook_outputs, prepare_run_inputs

REGION = "us-west-2"
BUCKET = "gt-review-tests"
PREFIX = "review-tests/demo"
GROUP = "review-test-labelers"
ROLE = "review-tests-execution"
NOTEBOOK = "04_review_results.ipynb"


@pytest.fixture(scope="module")
def finished_run(local_aws_url: str) -> dict[str, Any]:
    """Notebook 01's inputs, a workforce group of 3, and a pipeline run followed to its end."""
    found = prepare_run_inputs(BUCKET, PREFIX, ROLE, GROUP, ["review-a", "review-b", "review-c"])
    settings, aws, chosen = found["settings"], found["aws"], found["chosen"]
    submitted = submission.submit_or_resume(settings, aws)
    state = following.follow(aws, submitted.record, submitted.finished, poll_seconds=0.3)
    return {"settings": settings, "aws": aws, "chosen": chosen, "state": state}


def execute(out: Path, expect_error: bool = False, **parameters: Any) -> dict[str, Any]:
    """Run notebook 04 as `make demo` does and return the executed notebook."""
    return execute_notebook(NOTEBOOK, out, expect_error, bucket=BUCKET, **parameters)


def test_notebook_04_reviews_the_run(
    finished_run: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "demo-run"
    monkeypatch.setenv("WALKTHROUGH_RUN_DIR", str(run_dir))
    notebook = execute(tmp_path, prefix=PREFIX, public_workforce_task_price=0.024)
    outputs = notebook_outputs(notebook)
    assert not [o for o in outputs if o["output_type"] == "error"]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    # counts, confidence, class grid, review first, confusion, curves; the predictions' matrix
    # and grid
    assert len(pngs) >= 8
    html = "".join("".join(o["data"].get("text/html", "")) for o in outputs if "data" in o)
    assert html.count("<table") >= 10
    for header in ("median seconds", "final validation:accuracy", "public workforce task fees"):
        assert header in html
    assert "127.0.0.1" not in html and "X-Amz-Signature" not in html
    # the cost includes the training and transform instances, with their prices' source and date
    assert "price per instance-hour (USD)" in html and costs.TRAINING_PRICES_AS_OF in html
    assert ">ml.c5.xlarge<" in html and ">predictions<" in html
    printed = "".join("".join(o.get("text", "")) for o in outputs)
    assert costs.TRAINING_PRICES_SOURCE in printed and costs.TRANSFORM_PRICES_SOURCE in printed
    markdown = "".join("".join(o["data"].get("text/markdown", "")) for o in outputs if "data" in o)
    assert "**The run on AWS** (labeling, training and predictions)" in markdown
    assert "**Automated data labeling was off**" in markdown  # its section says so, nothing else
    # the model on the held-out images: the transform job completed, one prediction per image
    settings, s3 = finished_run["settings"], finished_run["aws"].client("s3")
    test_images = len(read_text(s3, settings.layout.test_labels).splitlines())
    assert f"{test_images} predictions for {test_images} test images" in markdown
    assert "Test accuracy: " in printed and "Ground Truth labels agree with Open Images" in html
    # the first table: each class once per job, not ten alike rows ending in <NA>
    first = next(
        "".join(o["data"]["text/html"])
        for o in outputs
        if "text/html" in o.get("data", {}) and "class_name" in "".join(o["data"]["text/html"])
    )
    assert "&lt;NA&gt;" not in first and "<NA>" not in first
    # (a class the consolidated labels never chose in one job's few objects shows once: the
    # labels come from the simulated workers, whose answers vary with the run's names)
    assert all(1 <= first.count(f">{name}<") <= 2 for name in finished_run["settings"].classes)
    text = "".join("".join(o.get("text", "")) for o in outputs)
    assert "agree with Open Images" in text and "0.024 USD per task" in text
    labeled = len(finished_run["chosen"])
    exported = (run_dir / "reviewed_dataset.csv").read_text().splitlines()
    assert len(exported) == labeled + 1
    assert {p.name for p in run_dir.glob("review_*.png")} >= {
        "review_label_counts.png",
        "review_confidence.png",
        "review_images_per_class.png",
        "review_learning_curves.png",
        "review_prediction_confusion_matrix.png",
        "review_predictions.png",
    }
    predicted = (run_dir / "predictions.csv").read_text().splitlines()
    assert len(predicted) == test_images + 1
    last = notebook["cells"][-2]["outputs"][0]["data"]["text/markdown"]
    done = "".join(last)
    assert done.startswith("**Done:**") and f"reviewed {labeled} objects" in done
    assert "test accuracy" in done


def test_jobs_named_in_the_settings_are_found_with_their_training_job(
    finished_run: dict[str, Any],
) -> None:
    names = finished_run["state"].labeling
    settings = load(
        {
            "bucket": BUCKET,
            "prefix": "no-record-here",
            "ground_truth_train_job_name": names["train"]["LabelingJobName"],
            "ground_truth_validation_job_name": names["validation"]["LabelingJobName"],
        },
        env={},
    )
    review = results.open_review(settings, finished_run["aws"])
    assert review.target.source == "the settings"
    assert review.training is not None
    assert review.training["TrainingJobName"] == finished_run["state"].training["TrainingJobName"]


@pytest.mark.usefixtures("local_aws_url")
def test_with_nothing_to_review_it_says_to_run_notebook_03_first(tmp_path: Path) -> None:
    notebook = execute(tmp_path, expect_error=True, prefix="review-tests/never-ran")
    (error,) = [o for o in notebook_outputs(notebook) if o["output_type"] == "error"]
    assert error["ename"] == "NothingToReview"
    assert "Run notebook 03_run_pipeline first" in error["evalue"]
    shown = "\n".join(error["traceback"])
    assert "Run notebook 03_run_pipeline first" in shown
    assert "Traceback" not in shown and "File " not in shown
