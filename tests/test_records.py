"""Run records are input: every field read from one is checked; written paths stay in runs/."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from helpers import cleanup, records, results
from helpers.errors import InputError, WalkthroughError
from helpers.names import run_names
from helpers.settings import load

SETTINGS = load({"bucket": "gt-records", "prefix": "records/demo"}, env={})
BASE = SETTINGS.s3_prefix_uri


def _record(**changes: Any) -> dict[str, Any]:
    names = run_names(SETTINGS, "0a1b2c3d")
    record = {
        "run_id": "0a1b2c3d",
        "mode": "local",
        "component_set": "python",
        "names": {
            "team": names.team,
            "train_job": names.train_job,
            "validation_job": names.validation_job,
            "training_job": names.training_job,
        },
        "arguments": {
            "ground_truth_output_location": f"{BASE}/output",
            "training_input_location": f"{BASE}/training-input/0a1b2c3d",
        },
        "submitted_at": "2026-11-30T00:00:00+00:00",
    }
    record.update(changes)
    return record


class _Bucket:
    """An S3 client holding one object: runs/latest.json under the prefix."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.body = json.dumps(record).encode()

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        assert (Bucket, Key) == ("gt-records", "records/demo/runs/latest.json")
        return {"Body": io.BytesIO(self.body)}


@pytest.fixture(autouse=True)
def _runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WALKTHROUGH_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def test_a_valid_record_is_read() -> None:
    record = records.latest_record(_Bucket(_record()), SETTINGS)
    assert record is not None and record.run_id == "0a1b2c3d"


def test_a_label_studio_record_gives_its_url_and_project_titles() -> None:
    projects = {"train": "mini-train-0a1b2c3d", "validation": "mini-validation-0a1b2c3d"}
    studio = {"url": "http://127.0.0.1:8080", "projects": projects}
    body = _record(labeling="label_studio", extra={"label_studio": studio, "pid": 12})
    record = records.latest_record(_Bucket(body), SETTINGS)
    assert record is not None and record.labeling == "label_studio"
    assert record.label_studio == studio
    older = records.latest_record(_Bucket(_record()), SETTINGS)  # before Label Studio
    assert older is not None and older.labeling == "ground_truth" and older.label_studio is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"run_id": "../../../../tmp/x"}, "run_id"),
        ({"run_id": "0A1B2C3D"}, "run_id"),
        (
            {
                "names": {
                    "team": "t",
                    "train_job": "../x",
                    "validation_job": "v",
                    "training_job": "f",
                }
            },
            "names.train_job",
        ),
        ({"names": {"team": "t"}}, "names"),
        (
            {"arguments": {"ground_truth_output_location": "s3://elsewhere/output"}},
            "arguments.ground_truth_output_location",
        ),
        (
            {"arguments": {"training_output_location": f"{BASE}-other/x"}},
            "arguments.training_output_location",
        ),
        ({"mode": "prod"}, "mode"),
        ({"kfp_run_id": "x; rm -rf /"}, "kfp_run_id"),
        ({"extra": {"pid": "1"}}, "extra"),
        ({"ui_link": "javascript:alert(1)"}, "ui_link"),
        ({"surprise": 1}, "surprise"),
        ({"labeling": "labelbox"}, "labeling"),
        ({"labeling": "label_studio"}, "extra.label_studio"),
        (
            {
                "labeling": "label_studio",
                "extra": {"label_studio": {"url": "javascript:x", "projects": {}}},
            },
            "extra.label_studio",
        ),
    ],
)
def test_a_bad_field_stops_before_it_is_used(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError, match="Fix:") as caught:
        records.latest_record(_Bucket(_record(**changes)), SETTINGS)
    assert caught.value.setting.endswith(f": {field}")
    assert "runs/latest.json" in caught.value.setting


def test_notebook_04_never_writes_where_a_record_points(tmp_path: Path) -> None:
    bucket = _Bucket(_record(run_id="../../../../tmp/x"))
    with pytest.raises(InputError, match="run_id"):
        results.find_target(SETTINGS, bucket)
    with pytest.raises(WalkthroughError, match="refusing to write outside"):
        results.review_folder("../../../../tmp/x")
    assert results.review_folder("0a1b2c3d").parent.parent == tmp_path / "runs"


def test_clean_up_ignores_a_record_it_cannot_trust(_runs_dir: Path) -> None:
    folder = _runs_dir / "records"
    folder.mkdir(parents=True)
    (folder / "0a1b2c3d.json").write_text(json.dumps(_record()))
    (folder / "evil.json").write_text(json.dumps(_record(run_id="../../x")))
    found = list(cleanup._local_records(SETTINGS))
    assert [r.run_id for r in found] == ["0a1b2c3d"]
