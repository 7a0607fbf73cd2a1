"""Every notebook, run headlessly on the local AWS: as `make demo` runs it, and by nbval."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import papermill
import pytest

from helpers import local
from helpers.demo import notebooks
from helpers.paths import project_root
from helpers.settings import load
from tests.support import execute_notebook, notebook_outputs

NOTEBOOKS = project_root() / "notebooks"
NOTEBOOK_PREFIX = "notebook-tests/first-run"  # its own prefix: other tests stage the default one
WRITES = ("s3.CopyObject", "s3.PutObject", "s3.CreateBucket", "s3.PutBucketCors")


def writes(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k in WRITES and v}


@pytest.fixture(scope="module")
def first_run(local_aws_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    local.reset_request_counts(local_aws_url)
    notebook = execute_notebook(
        "01_prepare_dataset.ipynb", tmp_path_factory.mktemp("run1"), prefix=NOTEBOOK_PREFIX
    )
    return {"notebook": notebook, "counts": local.request_counts(local_aws_url)}


@pytest.fixture(scope="module")
def other_region_bucket(local_aws_url: str) -> str:
    """A bucket in eu-west-1, while the walkthrough's region is us-west-2."""
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="walkthrough-bucket-elsewhere",
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    return "walkthrough-bucket-elsewhere"


def test_notebooks_are_committed_clean() -> None:
    for path in notebooks(NOTEBOOKS):
        nb = json.loads(path.read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3", path.name
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name} needs exactly one parameters cell"
        assert "= None" in "".join(tagged[0]["source"])


def test_notebook_01_stages_images_and_shows_pictures_and_tables(first_run: dict[str, Any]) -> None:
    shown = notebook_outputs(first_run["notebook"])
    assert not [o for o in shown if o["output_type"] == "error"]
    pngs = [o for o in shown if "image/png" in o.get("data", {})]
    assert len(pngs) >= 2  # counts chart and the image grid
    html = "".join("".join(o["data"].get("text/html", "")) for o in shown if "data" in o)
    assert "gt-worker-preview" in html and "data:image/jpeg;base64" in html
    assert "127.0.0.1" not in html  # pictures are embedded, never local links
    assert html.count("<table") >= 3  # annotations, files written, every object
    # 2 classes x 50 images to label, one example image per class for the instructions, and
    # 2 x 10 held-out test images
    assert first_run["counts"].get("s3.CopyObject") == 122
    assert first_run["counts"].get("sagemaker.RenderUiTemplate") == 1
    text = "".join("".join(o.get("text", "")) for o in shown)
    assert "copied 122, already there 0" in text
    assert "test set: 20 images" in text and "20 test images of 2 classes" in text
    assert "Every object written: " in text and "objects.csv" in text
    assert "all classes" in html and html.count("<tr") < 40  # a summary, not 100 rows


def test_notebook_01s_instruction_examples_are_in_neither_manifest(
    first_run: dict[str, Any],
) -> None:
    """Workers are never shown, as an example, an image they will be asked to label."""
    s3 = boto3.client("s3")
    bucket = load({}, env={}).bucket

    def read(name: str) -> str:
        key = f"{NOTEBOOK_PREFIX}/{name}"
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()

    examples = set(
        re.findall(r'"(s3://[^"]+)" \| grant_read_access', read("instructions.template"))
    )
    assert len(examples) == 2  # one per class
    manifests = read("train.manifest") + read("validation.manifest")
    assert not [uri for uri in examples if uri in manifests]


def test_rerunning_notebook_01_copies_nothing(
    first_run: dict[str, Any], local_aws_url: str, tmp_path: Path
) -> None:
    local.reset_request_counts(local_aws_url)
    notebook = execute_notebook("01_prepare_dataset.ipynb", tmp_path, prefix=NOTEBOOK_PREFIX)
    counts = local.request_counts(local_aws_url)
    assert counts.get("s3.CopyObject", 0) == 0
    assert counts.get("s3.CreateBucket", 0) == 0
    text = "".join("".join(o.get("text", "")) for o in notebook_outputs(notebook))
    assert "copied 0, already there 122" in text


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"classes": ["Fruit", "Unicorn"]}, "Unicorn"),
        ({"images_per_class": 500}, "images_per_class"),
        ({"bucket": "Not_A_Bucket"}, "S3 bucket names"),
        ({"bucket": "walkthrough-bucket-elsewhere"}, "is in eu-west-1"),
    ],
    ids=["unknown-class", "too-few-images", "bad-bucket-name", "bucket-in-other-region"],
)
@pytest.mark.usefixtures("other_region_bucket")
def test_bad_input_stops_before_anything_is_written(
    parameters: dict[str, Any], expected: str, local_aws_url: str, tmp_path: Path
) -> None:
    local.reset_request_counts(local_aws_url)
    with pytest.raises(papermill.PapermillExecutionError) as err:
        execute_notebook("01_prepare_dataset.ipynb", tmp_path, prefix="bad-input-run", **parameters)
    assert expected in str(err.value)
    assert "Fix:" in str(err.value)
    assert writes(local.request_counts(local_aws_url)) == {}


def test_every_notebook_passes_nbval(local_aws_url: str) -> None:
    # a small run of its own (other tests run the defaults' sizes): every cell must pass
    env = dict(
        os.environ,
        WALKTHROUGH_PREFIX="notebook-tests/nbval",
        WALKTHROUGH_IMAGES_PER_CLASS="5",
        WALKTHROUGH_TEST_IMAGES_PER_CLASS="0",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            str(NOTEBOOKS),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=project_root(),
        check=False,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


PIPELINE_PREFIX = "notebook-tests/pipeline-run"


@pytest.fixture(scope="module")
def pipeline_run(local_aws_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Notebooks 01, 02 and 03 in order under their own prefix, as a user runs them."""
    out = tmp_path_factory.mktemp("pipeline")
    for name in ("01_prepare_dataset.ipynb", "02_check_aws_setup.ipynb"):
        execute_notebook(name, out, prefix=PIPELINE_PREFIX, images_per_class=10)
    return {"notebook": execute_notebook("03_run_pipeline.ipynb", out, prefix=PIPELINE_PREFIX)}


def test_notebook_03_runs_the_pipeline_to_a_trained_model(pipeline_run: dict[str, Any]) -> None:
    shown = notebook_outputs(pipeline_run["notebook"])
    assert not [o for o in shown if o["output_type"] == "error"]
    assert [o for o in shown if "image/png" in o.get("data", {})]  # the pipeline graph
    text = "".join("".join(o.get("text", "")) for o in shown)
    assert "Submitted run" in text and "objects labeled" in text
    # one progress bar, its total (both manifests: 2 classes x 10 images) known from the start,
    # ending once; then each step's state and duration, drawn on the pipeline's picture
    totals = {int(total) for _, total in re.findall(r"(\d+)/(\d+) \[", text)}
    assert totals == {20}, totals
    shown_lines = [line.split("\r")[-1] for line in text.split("\n")]
    assert len([line for line in shown_lines if line.startswith("objects labeled")]) == 1
    assert re.search(r"^label-train: succeeded in \d", text, re.MULTILINE), text
    assert re.search(r"^train: succeeded in \d", text, re.MULTILINE), text
    assert len([o for o in shown if "image/png" in o.get("data", {})]) >= 2  # before and after
    html = "".join("".join(o["data"].get("text/html", "")) for o in shown if "data" in o)
    assert "model.tar.gz" in html and "workteam/private-crowd/" in html
    done = [o for o in shown if "text/markdown" in o.get("data", {})]
    assert "trained mini-image-classification-training-" in "".join(
        done[-1]["data"]["text/markdown"]
    )


def test_rerunning_notebook_03_follows_the_run_instead_of_submitting(
    pipeline_run: dict[str, Any], local_aws_url: str, tmp_path: Path
) -> None:
    local.reset_request_counts(local_aws_url)
    notebook = execute_notebook("03_run_pipeline.ipynb", tmp_path, prefix=PIPELINE_PREFIX)
    text = "".join("".join(o.get("text", "")) for o in notebook_outputs(notebook))
    assert "Following the run submitted at" in text
    counts = local.request_counts(local_aws_url)
    assert not [k for k in counts if k.startswith("sagemaker.Create")], counts
