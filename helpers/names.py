"""Names of what one run creates: unique by default, the settings' names when given."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from helpers.settings import Settings
from helpers.tags import RUN_TAG

#: What `new_run_id` makes; a run id read from a record must match it (it becomes a file name).
RUN_ID = re.compile(r"^[0-9a-f]{8}$")
BASE_NAMES = {
    "team": "ground-truth-demo-team",
    "train_job": "mini-image-classification-demo-train",
    "validation_job": "mini-image-classification-demo-validation",
    "training_job": "mini-image-classification-training",
}


def new_run_id() -> str:
    """Return a short random run id (8 lower-case hex characters)."""
    return secrets.token_hex(4)


@dataclass(frozen=True)
class RunNames:
    """The workteam and job names of one run, and its id (also the tag value on everything)."""

    run_id: str
    team: str
    train_job: str
    validation_job: str
    training_job: str
    #: (stand-ins until the "inputs" branch is merged: its definitions win)
    model: str = ""
    transform_job: str = ""

    @property
    def tags(self) -> list[dict[str, str]]:
        """The tags every resource of the run carries."""
        return [{"Key": RUN_TAG, "Value": self.run_id}]


def run_names(settings: Settings, run_id: str) -> RunNames:
    """Names for a run: the settings' names where given, else the upstream names + run id."""
    given = {
        "team": settings.team_name,
        "train_job": settings.ground_truth_train_job_name,
        "validation_job": settings.ground_truth_validation_job_name,
        "training_job": None,
    }
    predictions = {
        "model": f"mini-image-classification-model-{run_id}",
        "transform_job": f"mini-image-classification-predictions-{run_id}",
    }
    return RunNames(
        run_id=run_id,
        **{key: given[key] or f"{BASE_NAMES[key]}-{run_id}" for key in BASE_NAMES},
        **(predictions if settings.predictions else {}),
    )
