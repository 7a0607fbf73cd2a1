"""A run with predictions: its names, its record and the pipeline arguments it passes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from helpers import planning
from helpers.errors import InputError
from helpers.names import RunNames, run_names
from helpers.records import parse_record
from helpers.settings import load

SETTINGS = load({"bucket": "gt-plan", "prefix": "plan/demo"}, env={})
OFF = load({"bucket": "gt-plan", "prefix": "plan/demo", "test_images_per_class": 0}, env={})
RUN = "0a1b2c3d"


class _SageMaker:
    """Answers the look-ups of `names_taken`; `existing` names are taken."""

    def __init__(self, existing: set[str]) -> None:
        self.existing = existing
        self.calls: list[str] = []

    def describe_workteam(self, WorkteamName: str) -> Any:  # noqa: N803 - boto3's names
        self.calls.append("DescribeWorkteam")
        return {"Workteam": {"WorkteamArn": "arn"}} if WorkteamName in self.existing else None

    def list_labeling_jobs(self, NameContains: str, **_: Any) -> Any:  # noqa: N803
        self.calls.append("ListLabelingJobs")
        return {"LabelingJobSummaryList": []}

    def list_training_jobs(self, NameContains: str, **_: Any) -> Any:  # noqa: N803
        self.calls.append("ListTrainingJobs")
        return {"TrainingJobSummaries": []}

    def list_models(self, NameContains: str, **_: Any) -> Any:  # noqa: N803
        self.calls.append("ListModels")
        found = [n for n in self.existing if NameContains in n]
        return {"Models": [{"ModelName": n} for n in found]}

    def list_transform_jobs(self, NameContains: str, **_: Any) -> Any:  # noqa: N803
        self.calls.append("ListTransformJobs")
        found = [n for n in self.existing if NameContains in n]
        return {"TransformJobSummaries": [{"TransformJobName": n} for n in found]}


class _Aws:
    def __init__(self, existing: frozenset[str] = frozenset()) -> None:
        self.sagemaker = _SageMaker(set(existing))

    def client(self, service: str) -> Any:
        assert service == "sagemaker"
        return self.sagemaker


def test_a_run_with_predictions_names_its_model_and_transform_job() -> None:
    names = run_names(SETTINGS, RUN)
    assert names.model == f"mini-image-classification-model-{RUN}"
    assert names.transform_job == f"mini-image-classification-predictions-{RUN}"
    off = run_names(OFF, RUN)
    assert (off.model, off.transform_job) == ("", "")


def test_the_prediction_arguments_point_at_the_test_set_and_the_runs_predictions() -> None:
    names = run_names(SETTINGS, RUN)
    given = planning.prediction_arguments(SETTINGS, names)
    assert given == {
        "model_name": names.model,
        "transform_job_name": names.transform_job,
        "transform_input_location": "s3://gt-plan/plan/demo/test/images/",
        "transform_output_location": f"s3://gt-plan/plan/demo/predictions/{RUN}/",
        "transform_instance_type": "ml.c5.xlarge",
        "test_labels_location": "s3://gt-plan/plan/demo/test/labels.jsonl",
    }
    assert planning.prediction_arguments(OFF, run_names(OFF, RUN)) == {}


def test_a_taken_model_or_transform_job_name_is_found_before_submission() -> None:
    names = run_names(SETTINGS, RUN)
    aws = _Aws({names.model, names.transform_job})
    assert planning.names_taken(aws, names) == [
        f"model {names.model}",
        f"transform job {names.transform_job}",
    ]
    quiet = _Aws()
    assert planning.names_taken(quiet, run_names(OFF, RUN)) == []
    assert "ListModels" not in quiet.sagemaker.calls  # no predictions: nothing to look up


def _record(names: dict[str, str]) -> bytes:
    return json.dumps(
        {
            "run_id": RUN,
            "mode": "local",
            "component_set": "python",
            "names": names,
            "arguments": {
                "transform_output_location": f"s3://gt-plan/plan/demo/predictions/{RUN}/"
            },
            "submitted_at": "2026-11-30T00:00:00+00:00",
        }
    ).encode()


def test_records_name_the_model_and_transform_job_and_older_records_still_parse() -> None:
    names = run_names(SETTINGS, RUN)
    base = {k: getattr(names, k) for k in ("team", "train_job", "validation_job", "training_job")}
    full = {**base, "model": names.model, "transform_job": names.transform_job}
    assert parse_record(_record(full), SETTINGS, "x").run_names == names
    older = parse_record(_record(base), SETTINGS, "x").run_names
    assert older == RunNames(run_id=RUN, **base) and older.model == ""
    assert parse_record(_record({**base, "model": "", "transform_job": ""}), SETTINGS, "x")


@pytest.mark.parametrize(
    ("names", "field"),
    [({"model": "bad_name"}, "names.model"), ({"transform_job": "x" * 64}, "names.transform_job")],
)
def test_a_records_bad_model_or_transform_job_name_is_refused(
    names: dict[str, str], field: str
) -> None:
    base = run_names(SETTINGS, RUN)
    given = {k: getattr(base, k) for k in ("team", "train_job", "validation_job", "training_job")}
    with pytest.raises(InputError) as err:
        parse_record(_record({**given, **names}), SETTINGS, "x")
    assert err.value.setting.endswith(field)


def test_the_cost_confirmation_names_the_transform_instance() -> None:
    aws = {"mode": "aws", "bucket": "my-team-gt-bucket"}
    with pytest.raises(InputError, match="batch transform job on ml.c5.xlarge"):
        planning.confirm_cost(load(aws, env={}))
    with pytest.raises(InputError) as err:
        planning.confirm_cost(load({**aws, "test_images_per_class": 0}, env={}))
    assert "transform" not in str(err.value)
