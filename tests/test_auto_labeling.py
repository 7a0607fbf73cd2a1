"""Automated data labeling: the loop's rules, and a 1,500-object job through the local AWS."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest

from helpers import dataset, local, regions
from helpers.local.sagemaker import auto_labeling
from helpers.settings import load
from tests.support import checked_sagemaker as checked
from tests.support import (
    labeling_job_request,
    s3_execution_role,
    team_of_labelers,
)
from tests.support import local_client as client

REGION = "us-west-2"
BUCKET = "gt-auto-labeling-tests"
PREFIX = "auto/demo"
BASE = f"s3://{BUCKET}/{PREFIX}"
OBJECTS = 1_500


# --- the loop's rules, offline --------------------------------------------------------------------


def test_the_algorithm_arn_is_the_documented_one() -> None:
    assert regions.auto_labeling_algorithm_arn("eu-west-1") == (
        "arn:aws:sagemaker:eu-west-1:027400017018:labeling-job-algorithm-specification/"
        "image-classification"
    )


def test_the_validation_set_is_20_percent_below_5000_objects_and_10_percent_above() -> None:
    assert auto_labeling.validation_share(1_250) == 0.2
    assert auto_labeling.validation_share(4_999) == 0.2
    assert auto_labeling.validation_share(5_000) == 0.1


def test_the_threshold_is_where_validation_accuracy_reaches_95_percent() -> None:
    confidences = np.linspace(1.0, 0.01, 100)
    correct = np.ones(100, dtype=bool)
    correct[40::2] = False  # right down to 0.61, half wrong below
    cut = auto_labeling.threshold(confidences, correct)
    assert cut is not None
    above = confidences >= cut
    assert correct[above].mean() >= 0.95  # the machine labels' expected accuracy
    one_more = confidences >= confidences[above.sum()]
    assert correct[one_more].mean() < 0.95  # the lowest threshold that reaches it
    # a lucky handful of right answers at the top is not trusted
    few = np.zeros(100, dtype=bool)
    few[:5] = True
    assert auto_labeling.threshold(confidences, few) is None


def fake_job(features: np.ndarray, truth: np.ndarray) -> tuple[auto_labeling.Outcome, list[int]]:
    """Run the loop with humans who answer the truth in 10 simulated seconds."""
    asked: list[int] = []

    def human(index: int, not_before: float) -> tuple[float, int | None]:
        asked.append(index)
        return not_before + 10.0, int(truth[index])

    outcome = auto_labeling.run(
        len(truth), 3, 7, human, lambda ids: features[np.array(ids, dtype=int)]
    )
    return outcome, asked


def test_a_good_classifier_labels_most_objects_and_humans_label_the_rest() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, 1_300)
    features = rng.normal(size=(1_300, 20))
    features[np.arange(1_300), truth] += 6.0  # the class shows in the pixels' features
    outcome, asked = fake_job(features, truth)
    machine = outcome.machine
    assert len(machine) > 500
    assert sorted(set(asked) | set(machine)) == list(range(1_300))  # each object once
    assert not set(asked) & set(machine)
    assert all(0 <= m.confidence <= 1 for m in machine.values())
    right = np.mean([m.label == truth[i] for i, m in machine.items()])
    assert right >= 0.95
    assert len(outcome.validation) == 260  # 20% of 1,300, all labeled by humans
    assert set(outcome.validation) <= set(asked)


def test_a_weak_classifier_labels_nothing() -> None:
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 3, 1_300)
    outcome, asked = fake_job(rng.normal(size=(1_300, 20)), truth)  # features say nothing
    assert outcome.machine == {}
    assert sorted(asked) == list(range(1_300))
    assert all(r.threshold is None for r in outcome.rounds)


# --- a 1,500-object job through the local AWS -----------------------------------------------------


@pytest.fixture(scope="module")
def staged(local_aws_url: str) -> dict[str, Any]:
    """Mirror images (300, staged once), a manifest of 1,500 objects cycling them, a team of 3."""
    settings = load({"bucket": BUCKET, "prefix": PREFIX, "images_per_class": 60}, env={})
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    chosen = dataset.choose_images(settings, s3, dataset.load_annotations(settings, s3))
    dataset.stage_images(settings, s3, chosen)
    dataset.write_inputs(settings, s3, chosen)
    refs = list(chosen["uri"])
    lines = [json.dumps({"source-ref": refs[i % len(refs)]}) for i in range(OBJECTS)]
    s3.put_object(
        Bucket=BUCKET, Key=f"{PREFIX}/big.manifest", Body=("\n".join(lines) + "\n").encode()
    )
    team = team_of_labelers("auto-tests-team", "auto-tests-labelers", ["al-ana", "al-bo", "al-cy"])
    role = s3_execution_role("auto-tests-execution")
    truth = dict(zip(chosen["uri"], chosen["class_name"], strict=True))
    return {"team": team, "role": role, "url": local_aws_url, "truth": truth}


def auto_request(staged: dict[str, Any], name: str) -> dict[str, Any]:
    request = labeling_job_request(name, BASE, staged["role"], staged["team"], split="big")
    request["LabelingJobAlgorithmsConfig"] = {
        "LabelingJobAlgorithmSpecificationArn": regions.auto_labeling_algorithm_arn(REGION)
    }
    return request


def wait(name: str, timeout: float = 120) -> dict[str, Any]:
    sm = client("sagemaker")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = checked("DescribeLabelingJob", sm.describe_labeling_job(LabelingJobName=name))
        if answer["LabelingJobStatus"] in ("Completed", "Failed", "Stopped"):
            return answer
        time.sleep(0.2)
    raise AssertionError(f"labeling job {name} did not finish")


def read_lines(uri: str) -> list[dict[str, Any]]:
    bucket, _, key = uri[5:].partition("/")
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def test_a_1500_object_job_labels_by_machine_what_its_model_is_sure_of(
    staged: dict[str, Any],
) -> None:
    sm = client("sagemaker")
    local.drive_clock(staged["url"], speed=20_000)
    try:
        checked("CreateLabelingJob", sm.create_labeling_job(**auto_request(staged, "auto-1500")))
        job = wait("auto-1500")
    finally:
        local.drive_clock(staged["url"], speed=100)
    assert job["LabelingJobStatus"] == "Completed", job.get("FailureReason")
    counters = job["LabelCounters"]
    lines = read_lines(job["LabelingJobOutput"]["OutputDatasetS3Uri"])
    assert len(lines) == OBJECTS
    meta = [line["category-metadata"] for line in lines]
    machine = [m for m in meta if m["human-annotated"] == "no"]
    human = [m for m in meta if m["human-annotated"] == "yes"]
    assert counters["MachineLabeled"] == len(machine) > 0
    assert counters["HumanLabeled"] == len(human) >= 0.4 * OBJECTS  # validation + first sample
    assert counters["TotalLabeled"] == OBJECTS and counters["Unlabeled"] == 0
    assert all(0 < m["confidence"] <= 1 for m in machine)
    # the machine labels are the model's, and mostly agree with Open Images
    by_machine = [line for line in lines if line["category-metadata"]["human-annotated"] == "no"]
    agree = np.mean(
        [
            staged["truth"][x["source-ref"]] == x["category-metadata"]["class-name"]
            for x in by_machine
        ]
    )
    assert agree >= 0.9
    arn = job["LabelingJobOutput"]["FinalActiveLearningModelArn"]
    model = checked("DescribeModel", sm.describe_model(ModelName=arn.rsplit("/", 1)[1]))
    assert model["ModelArn"] == arn
    assert model["ExecutionRoleArn"] == staged["role"]
    assert model["PrimaryContainer"]["ModelDataUrl"].endswith("model.tar.gz")


# --- the setting ---------------------------------------------------------------------------------

FIVE = ["Musical instrument", "Fruit", "Cheetah", "Tiger", "Snowman"]


def test_auto_labeling_is_off_by_default_and_refused_below_1250_objects_per_job() -> None:
    from helpers.errors import InputError

    assert load({}, env={}).enable_auto_labeling is False
    with pytest.raises(InputError) as refused:
        load({"enable_auto_labeling": True, "images_per_class": 1000, "classes": FIVE}, env={})
    message = str(refused.value)
    assert "at least 1,250 objects per labeling job (AWS recommends 5,000)" in message
    assert "the validation job would have 1,000" in message
    ok = load(
        {
            "enable_auto_labeling": True,
            "images_per_class": 1000,
            "classes": FIVE,
            "validation_fraction": 0.5,
        },
        env={},
    )
    assert ok.enable_auto_labeling


def test_the_pipeline_passes_auto_labeling_to_both_labeling_jobs(tmp_path: Any) -> None:
    import yaml

    from helpers import components, pipeline

    for parts in (components.python(), components.official()):
        package = pipeline.compile_pipeline(parts, tmp_path / "p.yaml")
        compiled = yaml.safe_load(package.read_text())
        root = compiled["root"]
        assert (
            root["inputDefinitions"]["parameters"]["ground_truth_enable_auto_labeling"][
                "defaultValue"
            ]
            is False
        )
        tasks = {
            name: task
            for component in [root, *compiled["components"].values()]
            for name, task in component.get("dag", {}).get("tasks", {}).items()
        }
        labeling = [
            t for t in tasks.values() if "enable_auto_labeling" in t["inputs"]["parameters"]
        ]
        assert len(labeling) == 2
        for task in labeling:
            given = task["inputs"]["parameters"]["enable_auto_labeling"]
            assert given["componentInputParameter"].endswith("ground_truth_enable_auto_labeling")


def test_the_aws_confirmation_states_the_estimated_cost_in_dollars() -> None:
    from helpers import planning
    from helpers.errors import InputError

    aws = {"mode": "aws", "bucket": "my-team-gt-bucket"}
    with pytest.raises(InputError) as unconfirmed:
        planning.confirm_cost(load(aws, env={}))
    assert "about 8.00 USD for labeling (100 objects x 0.08 USD per object" in str(
        unconfirmed.value
    )
    big = {
        **aws,
        "confirm_submit": True,
        "enable_auto_labeling": True,
        "images_per_class": 1000,
        "validation_fraction": 0.5,
        "classes": FIVE,
    }
    said = planning.confirm_cost(load(big, env={}))
    assert "about 400.00 USD for labeling (5,000 objects x 0.08 USD per object" in said
    assert "plus about 7.65 USD of instances for automated data labeling" in said


def test_automated_labeling_saves_worker_hours_and_public_fees_but_costs_instances() -> None:
    import pandas as pd

    from helpers import costs

    jobs = pd.DataFrame(
        {
            "job": ["train", "validation"],
            "machine_labeled": [900, 0],
            "workers_per_object": [3, 3],
            "seconds_per_task": [8.0, 8.0],
        }
    )
    table = costs.auto_labeling_effect(jobs, costs.prices())
    train, total = table.iloc[0], table.iloc[-1]
    assert train["worker-hours saved"] == 6.0  # 900 objects x 3 workers x 8 s
    assert train["public workforce task fees saved (USD)"] == pytest.approx(32.4)
    assert train["net, private workforce (USD)"] == -3.825  # paid by the hour: only the cost
    assert train["net, public workforce (USD)"] == pytest.approx(32.4 - 3.825)
    assert total["instance cost added (USD, estimate)"] == pytest.approx(7.65)


# --- notebook 04's machine and human labels -----------------------------------------------------


def test_notebook_04_separates_machine_and_human_labels() -> None:
    import pandas as pd

    from helpers import costs, results

    lines = [
        {"source-ref": f"s3://b/{i}.jpg", "category": i % 2, "category-metadata": meta}
        for i, meta in enumerate(
            [
                {"class-name": "Fruit", "confidence": 0.97, "human-annotated": "no"},
                {"class-name": "Tiger", "confidence": 0.99, "human-annotated": "no"},
                {"class-name": "Tiger", "confidence": 0.8, "human-annotated": "yes"},
                {"class-name": "Tiger", "confidence": 0.6, "human-annotated": "yes"},
            ]
        )
    ]
    text = "\n".join(json.dumps(line) for line in lines)
    table = results.parse_output_manifest(text, "category", "train", "job-a")
    truth = pd.Series(["Fruit", "Fruit", "Tiger", "Fruit"], dtype="string")
    reviewed = results.with_truth(table, truth)
    mix = results.machine_and_human(reviewed).set_index("labeled by")
    assert mix.loc["machine", "objects"] == 2 and mix.loc["human", "objects"] == 2
    assert mix.loc["machine", "agreement with Open Images"] == 0.5
    assert mix.loc["human", "agreement with Open Images"] == 0.5
    assert mix.loc["machine", "mean confidence"] == 0.98
    job = {
        "LabelingJobName": "job-a",
        "LabelCounters": {"MachineLabeled": 2},
        "HumanTaskConfig": {"NumberOfHumanWorkersPerDataObject": 3},
        "LabelingJobAlgorithmsConfig": {},
        "LabelingJobOutput": {"FinalActiveLearningModelArn": "arn:aws:sagemaker:r:1:model/m"},
    }
    review = results.Review(
        target=None,  # type: ignore[arg-type]
        labeling={"train": job},
        training=None,
        labels=["Fruit", "Tiger"],
    )
    answers = pd.DataFrame({"split": ["train"] * 6, "seconds": [10.0] * 6})
    jobs = results.auto_labeling_jobs(review, table, answers)
    assert jobs.loc[0, "machine_labeled"] == jobs.loc[0, "counted_by_ground_truth"] == 2
    effect = costs.auto_labeling_effect(jobs, costs.prices())
    line = results.auto_labeling_line(review, results.machine_and_human(reviewed), effect)
    assert "labeled 2 objects by machine and workers 2" in line
    assert "net -3.83 USD with a private workforce" in line
    assert results.final_models(review) == {"train": "arn:aws:sagemaker:r:1:model/m"}
    off = results.Review(target=None, labeling={"train": {}}, training=None, labels=[])  # type: ignore[arg-type]
    assert results.auto_labeling_line(off, mix, None).startswith(
        "**Automated data labeling was off**"
    )


def test_person_labelers_get_only_the_objects_left_to_humans(staged: dict[str, Any]) -> None:
    """With person labelers (the local portal), the machine-labeled objects are no one's task."""
    sm, url = client("sagemaker"), staged["url"]
    request = auto_request(staged, "auto-persons")
    local.set_person_labelers(url, ["al-ana"])
    local.drive_clock(url, speed=20_000)
    try:
        sm.create_labeling_job(**request)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = sm.describe_labeling_job(LabelingJobName="auto-persons")
            counters = job["LabelCounters"]
            if job["LabelingJobStatus"] == "InProgress" and counters["MachineLabeled"]:
                break
            time.sleep(0.2)
        waiting = {
            p["username"]: p["tasks_waiting"]
            for p in local.labeling_pending(url, REGION)
            if p["job_name"] == "auto-persons"
        }
        assert job["LabelingJobStatus"] == "InProgress"  # waiting for the person's answers
        assert counters["MachineLabeled"] > 0
        assert waiting["al-ana"] + counters["MachineLabeled"] == OBJECTS
    finally:
        local.set_person_labelers(url, [])
        local.drive_clock(url, speed=100)
        sm.stop_labeling_job(LabelingJobName="auto-persons")
