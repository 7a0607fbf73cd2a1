"""What notebook 03 shows of a run: each step's state and duration, told from SageMaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from helpers import plots
from helpers.following import RunState, observe, step_states
from helpers.names import RunNames

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
TASKS = {
    "create-workteam": [],
    "ground-truth": ["create-workteam"],
    "ground-truth-2": ["create-workteam"],
    "prepare-training": ["ground-truth", "ground-truth-2"],
    "train": ["prepare-training"],
    "stop-run-jobs": ["train"],
}
LABELS = {
    "create-workteam": "create-workteam",
    "ground-truth": "label-train",
    "ground-truth-2": "label-validation",
    "prepare-training": "prepare-training",
    "train": "train",
    "stop-run-jobs": "stop-run-jobs\n(when the run ends)",
}


def _labeling(status: str, seconds: float) -> dict[str, object]:
    return {
        "LabelingJobStatus": status,
        "CreationTime": T0,
        "LastModifiedTime": T0 + timedelta(seconds=seconds),
    }


def test_a_finished_run_shows_each_steps_state_and_its_jobs_durations() -> None:
    """Job steps get their jobs' times; steps without a job get their state and no duration."""
    state = RunState(
        workteam_arn="arn:aws:sagemaker:us-west-2:1:workteam/private-crowd/t",
        labeling={"train": _labeling("Completed", 75), "validation": _labeling("Completed", 20)},
        training={
            "TrainingJobStatus": "Completed",
            "TrainingStartTime": T0 + timedelta(minutes=2),
            "TrainingEndTime": T0 + timedelta(minutes=13, seconds=5),
        },
    )
    assert step_states(state, ended=True) == {
        "create-workteam": "succeeded",
        "label-train": "succeeded in 1 min 15 s",
        "label-validation": "succeeded in 20 s",
        "prepare-training": "succeeded",
        "train": "succeeded in 11 min 5 s",
        "stop-run-jobs": "done",
    }


def test_a_failed_run_says_which_step_failed_and_which_never_ran() -> None:
    """A failed labeling job: its step failed, training never ran; no duration is made up."""
    running = {"LabelingJobStatus": "InProgress", "CreationTime": T0, "LastModifiedTime": T0}
    state = RunState(
        workteam_arn="arn:team",
        labeling={"train": _labeling("Failed", 30), "validation": running},
    )
    steps = step_states(state, ended=False)
    assert steps["label-train"] == "failed in 30 s"
    assert steps["label-validation"] == "running"  # no end time yet: no duration
    assert steps["prepare-training"] == "not run" and steps["train"] == "not run"
    assert step_states(RunState(), ended=None)["train"] == "pending"


def test_the_pipeline_picture_has_a_title_and_after_a_run_each_steps_state() -> None:
    """The graph is titled; with states, each box carries its step's state under its name."""
    before = plots.pipeline_graph(TASKS, LABELS, title="the steps")
    assert before.axes[0].get_title() == "the steps"
    steps = {name.split("\n")[0]: "succeeded in 3 s" for name in LABELS.values()}
    after = plots.pipeline_graph(TASKS, LABELS, title="Run x", states=steps)
    boxes = [text.get_text() for text in after.axes[0].texts]
    assert "label-train\nsucceeded in 3 s" in boxes
    assert "stop-run-jobs\n(when the run ends)\nsucceeded in 3 s" in boxes


def _trained() -> dict[str, object]:
    return {
        "TrainingJobName": "t",
        "TrainingJobStatus": "Completed",
        "TrainingStartTime": T0,
        "TrainingEndTime": T0 + timedelta(minutes=5),
    }


def test_a_run_with_predictions_shows_the_model_predict_and_evaluate_steps() -> None:
    """Predict takes the transform job's times; create-model and evaluate their state only."""
    labeled = {"train": _labeling("Completed", 5), "validation": _labeling("Completed", 5)}
    transform = {
        "TransformJobName": "p",
        "TransformJobStatus": "Completed",
        "TransformStartTime": T0 + timedelta(minutes=6),
        "TransformEndTime": T0 + timedelta(minutes=9, seconds=30),
    }
    done = RunState(
        workteam_arn="arn:team",
        labeling=labeled,
        training=_trained(),
        predictions=True,
        model={"ModelName": "m"},
        transform=transform,
    )
    steps = step_states(done, ended=True)
    assert list(steps)[-4:] == ["create-model", "predict", "evaluate", "stop-run-jobs"]
    assert steps["create-model"] == "succeeded" and steps["evaluate"] == "succeeded"
    assert steps["predict"] == "succeeded in 3 min 30 s"
    assert step_states(done, ended=None)["evaluate"] == "running"  # reading the predictions
    assert done.over and not RunState(training=_trained(), predictions=True).over
    without = step_states(RunState(workteam_arn="a", labeling=labeled, training=_trained()), True)
    assert "predict" not in without  # a run without predictions (or recorded before them)


def test_a_failed_transform_job_is_the_runs_failure() -> None:
    failed = {
        "TransformJobName": "p",
        "TransformJobStatus": "Failed",
        "FailureReason": "ClientError",
    }
    state = RunState(
        training=_trained(), predictions=True, model={"ModelName": "m"}, transform=failed
    )
    assert state.failure() == "transform job p failed: ClientError"
    steps = step_states(state, ended=False)
    assert (steps["predict"], steps["evaluate"]) == ("failed", "not run")
    waiting = step_states(RunState(training=_trained(), predictions=True), ended=False)
    assert (waiting["create-model"], waiting["predict"]) == ("failed", "not run")


class _SageMaker:
    """A trained run whose model exists and whose transform job is not created yet."""

    def __init__(self) -> None:
        self.described: list[str] = []

    def describe_workteam(self, **_: Any) -> Any:
        return {"Workteam": {"WorkteamArn": "arn:team"}}

    def describe_labeling_job(self, LabelingJobName: str) -> Any:  # noqa: N803 - boto3's names
        return _labeling("Completed", 5) | {"LabelingJobName": LabelingJobName}

    def describe_training_job(self, **_: Any) -> Any:
        return _trained()

    def list_models(self, NameContains: str, **_: Any) -> Any:  # noqa: N803
        return {"Models": [{"ModelName": NameContains}]}

    def describe_model(self, ModelName: str) -> Any:  # noqa: N803
        self.described.append(ModelName)
        return {"ModelName": ModelName}

    def list_transform_jobs(self, **_: Any) -> Any:
        return {"TransformJobSummaries": []}

    def describe_transform_job(self, **_: Any) -> Any:
        raise AssertionError("a transform job that is not listed is not described")


def test_observe_describes_the_model_and_transform_job_only_once_listed() -> None:
    sagemaker = _SageMaker()
    aws = SimpleNamespace(client=lambda service: sagemaker)
    names = RunNames("0a1b2c3d", "team", "tr", "va", "training", "model-x", "predict-x")
    state = observe(aws, names)
    assert state.predictions and state.model == {"ModelName": "model-x"}
    assert state.transform is None and not state.over
    assert step_states(state, ended=None)["predict"] == "running"
    older = observe(aws, RunNames("0a1b2c3d", "team", "tr", "va", "training"))
    assert not older.predictions and older.model is None and older.over
