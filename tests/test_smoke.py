"""`make aws-smoke`'s plan: real accounts only, the smallest run, its cost shown up front."""

from __future__ import annotations

import pytest

from helpers import smoke
from helpers.errors import InputError
from helpers.settings import load


def aws_settings(**extra: object) -> object:
    return load(
        {"mode": "aws", "bucket": "my-team-gt-bucket", "user_groups": "maintainers", **extra},
        env={},
    )


def test_the_smoke_run_is_for_aws_mode_only() -> None:
    with pytest.raises(InputError) as err:
        smoke.plan(load({}, env={}), "20261130-000000")
    assert err.value.setting == "mode" and "make demo" in err.value.fix


def test_the_smoke_run_needs_the_maintainers_group() -> None:
    with pytest.raises(InputError) as err:
        smoke.plan(load({"mode": "aws", "bucket": "my-team-gt-bucket"}, env={}), "x")
    assert err.value.setting == "user_groups"


def test_the_smoke_run_is_small_and_its_cost_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALKTHROUGH_MODE", "aws")
    monkeypatch.setenv("WALKTHROUGH_BUCKET", "my-team-gt-bucket")
    planned = smoke.plan(aws_settings(training_instance_type="ml.p3.2xlarge"), "20261130-000000")
    assert planned.prefix == "mini-image-classification/ground-truth-demo/aws-smoke-20261130-000000"
    assert planned.objects == 10 and planned.parameters["ground_truth_num_workers_per_object"] == 1
    assert planned.labeling_usd == 0.8 and planned.training_usd == 1.91
    text = planned.estimate()
    assert "0.80 USD" in text and "at most 1.91 USD (ml.p3.2xlarge" in text
    # 0.204 USD an hour for at most 15 minutes: 4 held-out images predicted on ml.c5.xlarge
    assert planned.parameters["test_images_per_class"] == 2 and planned.transform_usd == 0.05
    assert "predictions: at most 0.05 USD (4 test images on ml.c5.xlarge" in text


def test_nothing_runs_when_the_cost_is_not_confirmed(
    tmp_path: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALKTHROUGH_MODE", "aws")
    monkeypatch.setenv("WALKTHROUGH_BUCKET", "my-team-gt-bucket")
    planned = smoke.plan(aws_settings(), "20261130-000000")
    asked = []
    assert smoke.run(planned, tmp_path, lambda q: asked.append(q) or False) == 1  # type: ignore[arg-type]
    assert asked and "costs money" in asked[0]
    assert "Nothing was created." in capsys.readouterr().out
