"""The official Ground Truth program (1.1.2) with automated data labeling, against the local AWS.

Its source (tests/fixtures/official-1.1.2, see SOURCE.md) runs as the image runs it, under
Python 3.7 with the image's boto3 1.14, PyYAML and sagemaker SDK (.venv37, from
tests/official-image-requirements.txt). With `--enable_auto_labeling true` it reads
`LabelingJobOutput.FinalActiveLearningModelArn` once the job completes: the local Ground Truth
used to complete such jobs without it (MachineLabeled 0), and the program crashed with
`KeyError: 'FinalActiveLearningModelArn'`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from helpers import dataset, local
from helpers.paths import project_root
from helpers.settings import load
from tests.support import local_client as client
from tests.support import s3_execution_role, team_of_labelers
from tests.test_official_programs import OFFICIAL, PYTHON37, env37, needs_python37

REGION = "us-west-2"
BUCKET = "official-gt-tests"
PREFIX = "official-gt/demo"
BASE = f"s3://{BUCKET}/{PREFIX}"
PROGRAM = "ground_truth/src/sagemaker_ground_truth_component.py"
#: Runs the program as `python3 <program> FLAGS` does, polling every half second instead of its
#: 30 seconds (STATUS_POLL_INTERVAL, a class attribute; nothing else changes).
RUN_IT = """
import runpy, sys
sys.path.insert(0, ".")
from common.sagemaker_component import SageMakerComponent
SageMakerComponent.STATUS_POLL_INTERVAL = 0.5
program = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(program, run_name="__main__")
"""


def needs_the_image_s_packages() -> None:
    """Skip where .venv37 lacks what the image has besides boto3 (PyYAML, the sagemaker SDK)."""
    needs_python37()
    found = subprocess.run(
        [str(PYTHON37), "-c", "import yaml, sagemaker"], capture_output=True, check=False
    )
    if found.returncode != 0:
        pytest.skip(
            ".venv37 lacks PyYAML or the sagemaker SDK: `make test` installs "
            "tests/official-image-requirements.txt into it"
        )


def official_program(folder: Path) -> Path:
    """The 1.1.2 sources, as .py files, in a folder laid out as the image's."""
    target = folder / "official"
    shutil.copytree(OFFICIAL, target)
    for text in target.rglob("*.py.txt"):
        text.rename(text.with_suffix(""))
    for package in ("ground_truth", "ground_truth/src"):
        (target / package / "__init__.py").touch()
    return target


@pytest.fixture(scope="module")
def staged(local_aws_url: str) -> dict[str, Any]:
    """Notebook 01's inputs (a small job), an execution role and a team of three."""
    settings = load({"bucket": BUCKET, "prefix": PREFIX, "images_per_class": 8}, env={})
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    chosen = dataset.choose_images(settings, s3, dataset.load_annotations(settings, s3))
    dataset.stage_images(settings, s3, chosen)
    dataset.write_inputs(settings, s3, chosen)
    team = team_of_labelers(
        "official-gt-team", "official-gt-labelers", ["ogt-ana", "ogt-bo", "ogt-cy"]
    )
    role = s3_execution_role("official-gt-execution")
    return {"team": team, "role": role, "url": local_aws_url}


def test_the_official_ground_truth_program_completes_with_auto_labeling(
    staged: dict[str, Any], tmp_path: Path
) -> None:
    needs_the_image_s_packages()
    folder = official_program(tmp_path)
    outputs = tmp_path / "outputs"
    flags = {
        "region": REGION,
        "endpoint_url": staged["url"],
        "role": staged["role"],
        "job_name": "official-gt-auto",
        "label_attribute_name": "category",
        "manifest_location": f"{BASE}/train.manifest",
        "output_location": f"{BASE}/output",
        "task_type": "image classification",
        "worker_type": "private",
        "workteam_arn": staged["team"],
        "label_category_config": f"{BASE}/class_labels.json",
        "enable_auto_labeling": "True",
        "ui_template": f"{BASE}/instructions.template",
        "title": "Mini image classification",
        "description": "Choose the category",
        "num_workers_per_object": "3",
        "time_limit": "300",
        "task_availibility": "3600",
        "max_concurrent_tasks": "100",
        "output_manifest_location_output_path": str(outputs / "output_manifest_location"),
        "active_learning_model_arn_output_path": str(outputs / "active_learning_model_arn"),
    }
    args = [str(PYTHON37), "-c", RUN_IT, PROGRAM]
    for key, value in flags.items():
        args += [f"--{key}", value]
    local.drive_clock(staged["url"], speed=5_000)
    try:
        done = subprocess.run(
            args, cwd=folder, env=env37(), capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        local.drive_clock(staged["url"], speed=100)
    assert done.returncode == 0, done.stderr[-3000:]
    sm = client("sagemaker")
    job = sm.describe_labeling_job(LabelingJobName="official-gt-auto")
    assert job["LabelingJobAlgorithmsConfig"]["LabelingJobAlgorithmSpecificationArn"] == (
        f"arn:aws:sagemaker:{REGION}:027400017018:labeling-job-algorithm-specification/"
        "image-classification"
    )
    arn = (outputs / "active_learning_model_arn").read_text()
    assert arn == job["LabelingJobOutput"]["FinalActiveLearningModelArn"]
    assert sm.describe_model(ModelName=arn.rsplit("/", 1)[1])["ModelArn"] == arn
    manifest = (outputs / "output_manifest_location").read_text()
    assert manifest == job["LabelingJobOutput"]["OutputDatasetS3Uri"]


def test_the_image_s_requirements_are_what_the_program_needs() -> None:
    """make test installs them into .venv37: the program imports yaml and the sagemaker SDK."""
    wanted = (project_root() / "tests" / "official-image-requirements.txt").read_text()
    for pin in ("boto3>=1.14,<1.15", "pyyaml==5.4", "sagemaker==2.1.0"):
        assert pin in wanted
