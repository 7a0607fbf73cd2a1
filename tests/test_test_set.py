"""Notebook 01's held-out test set: chosen apart from every labeling object, staged, read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from helpers import dataset, gt_inputs, openimages, planning
from helpers.errors import InputError
from helpers.local.openimages import mirror
from helpers.settings import load

BUCKET = "gt-test-set"


@pytest.fixture(scope="module")
def open_images(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The local mirror's annotations and class names (generated, no pictures drawn)."""
    folder = tmp_path_factory.mktemp("mirror")
    (folder / "a.csv").write_text(mirror.annotations_csv(mirror.plan()), encoding="utf-8")
    (folder / "c.csv").write_text(mirror.class_descriptions_csv(), encoding="utf-8")
    return (
        openimages.read_annotations(folder / "a.csv"),
        openimages.read_class_descriptions(folder / "c.csv"),
    )


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An in-process moto S3 with the Open Images bucket and the walkthrough's bucket."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=openimages.OPEN_IMAGES_BUCKET)
        client.create_bucket(Bucket=BUCKET)
        yield client


def _settings(**values: Any) -> Any:
    return load({"bucket": BUCKET, "prefix": "demo/test-set", **values}, env={})


def _stage(settings: Any, s3: Any, open_images: Any) -> dict[str, pd.DataFrame]:
    """Notebook 01's steps 2, 4 and 5 (the sources uploaded as small stand-in objects)."""
    chosen = dataset.choose_images(settings, s3, open_images)
    examples = dataset.choose_examples(settings, open_images, chosen)
    test = dataset.choose_test_images(settings, open_images, chosen, examples)
    for frame in (chosen, examples, test):
        for image_id in frame["image_id"]:
            s3.put_object(
                Bucket=openimages.OPEN_IMAGES_BUCKET, Key=f"test/{image_id}.jpg", Body=b"jpeg"
            )
    dataset.stage_images(settings, s3, chosen, examples, test)
    dataset.write_inputs(settings, s3, chosen, examples)
    dataset.write_test_labels(settings, s3, test)
    return {"chosen": chosen, "examples": examples, "test": test}


def _read(s3: Any, settings: Any, name: str) -> str:
    key = settings.layout.key(name)
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def test_a_held_out_image_is_in_no_manifest_and_no_instructions_example(
    s3: Any, open_images: Any
) -> None:
    """No worker is asked to label a test image or shown one, and the model never trains on one."""
    settings = _settings(images_per_class=20)
    staged = _stage(settings, s3, open_images)
    test = staged["test"]
    assert test.groupby("class_name").size().to_dict() == {"Musical Instrument": 10, "Fruit": 10}
    labeling_inputs = "".join(
        _read(s3, settings, name)
        for name in ("train.manifest", "validation.manifest", "instructions.template")
    )
    for image_id in test["image_id"]:
        assert image_id not in labeling_inputs
    assert all(uri.startswith(settings.layout.test_images) for uri in test["uri"])
    lines = gt_inputs.parse_test_labels(
        _read(s3, settings, "test/labels.jsonl"), list(settings.classes)
    )
    assert [(r["source-ref"], r["class-name"]) for r in lines] == list(
        zip(test["uri"], test["class_name"], strict=True)
    )
    outcome = dataset.verify(settings, s3)
    assert (outcome["test_images"], outcome["missing_test_objects"]) == (20, [])
    assert outcome["test_not_held_out"] == outcome["test_outside_input"] == []
    planning.require_test_set(settings, outcome)  # nothing to fix


def test_the_choice_is_reproducible_and_a_rerun_overwrites_nothing(
    s3: Any, open_images: Any
) -> None:
    settings = _settings(images_per_class=20, test_images_per_class=4)
    first = _stage(settings, s3, open_images)["test"]
    key = settings.layout.test_image_keys + openimages.image_file(first["image_id"][0])
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"the user's own object")
    chosen = dataset.choose_images(settings, s3, open_images)
    examples = dataset.choose_examples(settings, open_images, chosen)
    again = dataset.choose_test_images(settings, open_images, chosen, examples)
    pd.testing.assert_frame_equal(first, again)
    report = dataset.stage_images(settings, s3, chosen, examples, again)
    assert report.copied == 0 and report.skipped == 20 * 2 + 2 + 8
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"the user's own object"


def test_a_class_with_too_few_images_left_is_named(open_images: Any) -> None:
    settings = _settings(images_per_class=70, test_images_per_class=20)
    chosen = dataset.choose_images(settings, None, open_images)
    examples = dataset.choose_examples(settings, open_images, chosen)
    test = dataset.choose_test_images(settings, open_images, chosen, examples)
    notes = dataset.test_set_notes(settings, open_images, test)
    assert 0 < len(test) < 40 and notes
    assert "'Fruit' has only" in " ".join(notes) and "lower images_per_class" in notes[0]


def test_too_few_local_pictures_says_how_to_generate_more(open_images: Any) -> None:
    """5 classes x 1,000 in local mode: the default mirror's 80 per class are too few; the fix
    names the local AWS's variable for up to 2,000 per class."""
    settings = _settings(images_per_class=1000, classes=list(mirror.CLASSES))
    with pytest.raises(InputError, match="images_per_class") as err:
        dataset.choose_images(settings, None, open_images)
    assert "WALKTHROUGH_LOCAL_OPENIMAGES_PER_CLASS=1015 (up to 2000 per class)" in err.value.fix
    assert "lower images_per_class to 76" in err.value.fix


def test_no_test_set_for_own_images_or_when_turned_off(open_images: Any) -> None:
    chosen = pd.DataFrame({"image_id": ["a"], "class_name": [None]})
    own = _settings(source="s3://mine/photos/")
    none = dataset.choose_test_images(own, None, chosen, chosen)
    assert none.empty and "no known classes" in dataset.test_set_notes(own, None, none)[0]
    off = _settings(test_images_per_class=0)
    assert not off.predictions
    assert dataset.choose_test_images(off, open_images, chosen, chosen.iloc[:0]).empty
    assert "no predictions" in dataset.test_set_notes(off, open_images, none)[0]


def test_notebook_03_stops_when_the_test_set_is_missing_or_not_held_out(
    s3: Any, open_images: Any
) -> None:
    settings = _settings(images_per_class=20, test_images_per_class=2)
    staged = _stage(settings, s3, open_images)
    labels_key = settings.layout.key("test", "labels.jsonl")
    good = _read(s3, settings, "test/labels.jsonl")
    elsewhere = gt_inputs.test_labels([(staged["chosen"]["uri"][0], "Fruit")])
    s3.put_object(Bucket=BUCKET, Key=labels_key, Body=elsewhere.encode())
    with pytest.raises(InputError, match="must be under s3://gt-test-set/demo/test-set/test/"):
        planning.require_inputs(settings, s3)
    s3.put_object(Bucket=BUCKET, Key=labels_key, Body=good.encode())
    manifest = _read(s3, settings, "train.manifest") + gt_inputs.manifest(staged["test"]["uri"])
    s3.put_object(Bucket=BUCKET, Key=settings.layout.key("train.manifest"), Body=manifest.encode())
    with pytest.raises(InputError, match="a test image is also a labeling object"):
        planning.require_inputs(settings, s3)
    s3.delete_object(Bucket=BUCKET, Key=labels_key)
    with pytest.raises(InputError, match="run notebook 01_prepare_dataset again") as err:
        planning.require_inputs(settings, s3)
    assert err.value.setting == settings.layout.test_labels
    planning.require_inputs(_settings(images_per_class=20, test_images_per_class=0), s3)


def test_exports_and_summary_show_the_test_images(
    s3: Any, open_images: Any, tmp_path: Path
) -> None:
    settings = _settings(images_per_class=20, test_images_per_class=3)
    staged = _stage(settings, s3, open_images)
    table = dataset.objects_summary(staged["chosen"], staged["examples"], staged["test"])
    assert table.loc["Fruit", "test (held out)"] == 3
    assert table.loc["all classes", "test (held out)"] == 6
    assert table.loc["all classes", "total"] == 40  # labeling objects only
    path = dataset.export_objects(tmp_path, staged["chosen"], staged["examples"], staged["test"])
    rows = pd.read_csv(path)
    assert (rows["split"] == "test").sum() == 6
    assert set(rows.loc[rows["split"] == "test", "uri"]) == set(staged["test"]["uri"])


def test_test_labels_name_a_bad_class() -> None:
    text = json.dumps({"source-ref": "s3://b/p/test/images/x.jpg", "class-name": "Tiger"}) + "\n"
    with pytest.raises(InputError, match="must be one of the classes"):
        gt_inputs.parse_test_labels(text, ["Fruit", "Musical Instrument"])
