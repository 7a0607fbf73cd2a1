"""What notebook 03 shows of a run: each step's state and duration, told from SageMaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import plots
from helpers.following import RunState, step_states

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
