"""Tests of the local stand-in for the built-in image-classification algorithm (offline).

The learning tests train on the walkthrough's own demo data: the generated Open Images mirror,
with the images notebook 01 selects (50 per class, 20% for validation, seed 42) and the
pipeline's hyperparameters.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import random
import re
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from helpers import openimages
from helpers.local.openimages import mirror
from helpers.local.standins import classifier as trainer
from helpers.local.standins.classifier import TrainingError
from helpers.settings import Settings

TRAIN_PER_CLASS = 40
VALIDATION_PER_CLASS = 30
EPOCH_LINE = re.compile(r"Epoch\[(\d+)\] (Train|Validation)-accuracy=(\d\.\d+)")
TWO_CLASSES = ["Musical Instrument", "Fruit"]
FIVE_CLASSES = ["Musical Instrument", "Fruit", "Cheetah", "Tiger", "Snowman"]

Records = list[tuple[bytes, int]]


@dataclass(frozen=True)
class Run:
    """One training run with everything the tests look at."""

    hp: trainer.Hyperparameters
    train: Records
    validation: Records
    result: trainer.TrainingResult
    logs: list[str]


@dataclass(frozen=True)
class Mirror:
    """A built image mirror and its two CSV files, read once."""

    folder: Path
    annotations: pd.DataFrame
    descriptions: pd.DataFrame

    def image(self, image_id: str) -> bytes:
        """Return the JPEG bytes of one picture."""
        return (self.folder / mirror.IMAGES_DIR / f"{image_id}.jpg").read_bytes()

    def walkthrough_split(self, classes: Sequence[str], seed: int) -> tuple[Records, Records]:
        """Select and split images as notebook 01 does; a label is its class's index."""
        demo = Settings()
        mids = openimages.resolve_classes(classes, self.descriptions)
        chosen = openimages.split(
            openimages.select_images(self.annotations, mids, demo.images_per_class, seed),
            demo.validation_fraction,
            seed,
        )
        records: dict[str, Records] = {"train": [], "validation": []}
        for row in chosen.itertuples():
            label = list(classes).index(row.class_name)
            records[row.split].append((self.image(row.image_id), label))
        return records["train"], records["validation"]


@pytest.fixture(scope="session")
def built_mirror(tmp_path_factory: pytest.TempPathFactory) -> Mirror:
    """The generated Open Images mirror (80 pictures per class; about 3 s to draw)."""
    folder = Path(mirror.build(tmp_path_factory.mktemp("mirror"), images_per_class=80))
    return Mirror(
        folder,
        openimages.read_annotations(folder / mirror.ANNOTATIONS_FILE),
        openimages.read_class_descriptions(folder / mirror.CLASS_DESCRIPTIONS_FILE),
    )


@pytest.fixture(scope="session")
def pictures(built_mirror: Mirror) -> dict[str, list[bytes]]:
    """Mirror pictures by class name, each showing that class and no other of the five."""
    positives: dict[str, set[str]] = {}
    path = built_mirror.folder / mirror.ANNOTATIONS_FILE
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Confidence"] == "1" and row["LabelName"] in mirror.CLASSES.values():
                positives.setdefault(row["ImageID"], set()).add(row["LabelName"])
    return {
        name: [
            built_mirror.image(image_id)
            for image_id in sorted(i for i, mids in positives.items() if mids == {mid})
        ]
        for name, mid in mirror.CLASSES.items()
    }


def split(pictures: dict[str, list[bytes]], classes: Sequence[str]) -> tuple[Records, Records]:
    """Return (train, validation) records: each class's first pictures train, the next validate."""
    train: Records = []
    validation: Records = []
    for label, name in enumerate(classes):
        images = pictures[name]
        assert len(images) >= TRAIN_PER_CLASS + VALIDATION_PER_CLASS
        train += [(data, label) for data in images[:TRAIN_PER_CLASS]]
        end = TRAIN_PER_CLASS + VALIDATION_PER_CLASS
        validation += [(data, label) for data in images[TRAIN_PER_CLASS:end]]
    return train, validation


@functools.cache
def pipeline_hyperparameters() -> tuple[tuple[str, str], ...]:
    """The hyperparameters the pipeline trains with (importing it loads kfp, so only once)."""
    from helpers.pipeline import DEFAULT_HYPERPARAMETERS

    return tuple(DEFAULT_HYPERPARAMETERS.items())


def demo_hyperparameters(num_classes: int, num_training_samples: int, **extra: str) -> dict:
    """Return the pipeline's hyperparameters (strings, as the SageMaker API carries them)."""
    return {
        **dict(pipeline_hyperparameters()),
        "num_classes": str(num_classes),
        "num_training_samples": str(num_training_samples),
        **extra,
    }


def run(train: Records, validation: Records, num_classes: int, seed: int = 0, **extra: str) -> Run:
    """Parse the demo hyperparameters and train, keeping the log lines."""
    hp = trainer.parse_hyperparameters(demo_hyperparameters(num_classes, len(train), **extra))
    logs: list[str] = []
    result = trainer.train(hp, train, validation, logs.append, seed=seed)
    return Run(hp, train, validation, result, logs)


def shuffle_labels(records: Records, seed: int) -> Records:
    """Return the records with their labels randomly permuted (seeded)."""
    labels = [label for _, label in records]
    random.Random(seed).shuffle(labels)
    return [(data, label) for (data, _), label in zip(records, labels, strict=True)]


def accuracy(predicted: Sequence[int], records: Records) -> float:
    """Return the fraction of records whose label was predicted."""
    return float(np.mean([p == label for p, (_, label) in zip(predicted, records, strict=True)]))


@pytest.fixture(scope="module")
def two_classes(built_mirror: Mirror) -> Run:
    """The walkthrough's demo: Musical Instrument (0) vs Fruit (1), as notebook 01 picks them."""
    train, validation = built_mirror.walkthrough_split(TWO_CLASSES, Settings().seed)
    return run(train, validation, 2)


# --------------------------------------------------------------------------------------------
# Learning
# --------------------------------------------------------------------------------------------


def test_the_demo_learns_instruments_from_fruit(two_classes: Run) -> None:
    """On the walkthrough's own 80 + 20 pictures the pipeline's training reaches 85%.

    The pictures are easy for a person, so a walkthrough user should see a model that clearly
    learned: at most 3 of the 20 validation pictures wrong.
    """
    result = two_classes.result
    print(f"demo: validation accuracies {result.validation_accuracies}")
    assert (len(two_classes.train), len(two_classes.validation)) == (80, 20)
    assert two_classes.hp.augmentation_type == "crop_color"  # the pipeline's, not the defaults
    assert result.validation_accuracy >= 0.85
    assert result.train_accuracy >= 0.9


def test_other_selections_of_two_classes_learn_too(built_mirror: Mirror) -> None:
    """Other seeds select and split other pictures; each still reaches 85% (no lucky split).

    Over seeds 1-30 this model scored 0.85-1.0 (mean 0.97) on the 20 validation pictures.
    """
    scores = []
    for seed in range(1, 6):
        train, validation = built_mirror.walkthrough_split(TWO_CLASSES, seed)
        scores.append(run(train, validation, 2).result.validation_accuracy)
    print(f"two classes, seeds 1-5: validation accuracies {scores}")
    assert min(scores) >= 0.85
    assert float(np.mean(scores)) >= 0.9


def test_five_classes_well_above_chance(built_mirror: Mirror) -> None:
    """All five drawn classes (50 pictures each, 10 validate): far above the 0.2 of guessing.

    Over seeds 1-30 this model scored 0.86-1.0 (mean 0.94) on the 50 validation pictures.
    """
    scores = []
    for seed in (Settings().seed, 1, 2):
        train, validation = built_mirror.walkthrough_split(FIVE_CLASSES, seed)
        assert (len(train), len(validation)) == (200, 50)
        scores.append(run(train, validation, 5).result.validation_accuracy)
    print(f"five classes: validation accuracies {scores}")
    assert min(scores) >= 0.8
    assert float(np.mean(scores)) >= 0.85


def test_shuffled_labels_give_chance_accuracy(pictures: dict[str, list[bytes]]) -> None:
    """Trained on shuffled labels, the same model is no better than chance on validation.

    Uses 40 training and 30 validation pictures per class, so that chance is measured on 60
    pictures. One shuffle's score spreads widely (a random permutation still agrees with the
    true classes a little more or less than half the time, and a good model picks that up), so
    the bound is on the mean of five shuffles.
    """
    train, validation = split(pictures, ["Musical instrument", "Fruit"])
    scores, fits = [], []
    for seed in range(5):
        shuffled = shuffle_labels(train, seed)
        result = run(shuffled, validation, 2, seed=seed).result
        scores.append(result.validation_accuracy)
        fits.append(result.train_accuracy)
    print(f"shuffled labels: validation accuracies {scores}, train accuracies {fits}")
    assert float(np.mean(scores)) <= 0.5 + 0.10
    assert float(np.mean(fits)) >= 0.8  # it did learn the labels it was given: by heart


@pytest.mark.parametrize(
    ("optimizer", "learning_rate"), [("nag", "0.1"), ("adam", "0.01"), ("rmsprop", "0.01")]
)
def test_other_optimizers_learn(two_classes: Run, optimizer: str, learning_rate: str) -> None:
    """NAG, Adam and RMSprop train too, with learning rates usual for them."""
    result = run(
        two_classes.train,
        two_classes.validation,
        2,
        optimizer=optimizer,
        learning_rate=learning_rate,
    ).result
    assert result.validation_accuracy >= 0.8


def test_training_is_deterministic(two_classes: Run) -> None:
    """The same data, hyperparameters and seed give the same accuracies and weights."""
    again = run(two_classes.train, two_classes.validation, 2).result
    assert again.validation_accuracies == two_classes.result.validation_accuracies
    assert np.array_equal(again.model.weights, two_classes.result.model.weights)


def picture(background: str) -> bytes:
    """A red apple-like disc with a thin dark stalk, on a flat or a two-colour background."""
    img = Image.new("RGB", (160, 160), (70, 110, 200))
    draw = ImageDraw.Draw(img)
    if background == "sky and grass":
        draw.rectangle((0, 0, 159, 89), fill=(150, 200, 240))
        draw.rectangle((0, 90, 159, 159), fill=(60, 150, 60))
    draw.ellipse((50, 55, 110, 115), fill=(210, 30, 30))
    draw.line((80, 35, 80, 60), fill=(60, 40, 20), width=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def feature_group(features: np.ndarray, name: str) -> np.ndarray:
    """Return the part of feature rows that FEATURE_GROUPS calls ``name``."""
    start = 0
    for group, size in trainer.FEATURE_GROUPS:
        if group == name:
            return features[..., start : start + size]
        start += size
    raise KeyError(name)


def test_foreground_colours_ignore_the_background() -> None:
    """The same red fruit on a blue or a sky-and-grass background has the same foreground colours.

    The feature holds square roots of the histogram (as all the stand-in's histograms do);
    squared back, it says which share of the foreground pixels has each hue.
    """
    features = trainer.extract_features([picture("flat"), picture("sky and grass")])
    assert features.shape == (2, trainer.FEATURE_SIZE)
    assert sum(size for _, size in trainer.FEATURE_GROUPS) == trainer.FEATURE_SIZE
    shares = feature_group(features, "foreground hue histogram") ** 2
    print(f"foreground hue shares: {np.round(shares, 3)}")
    assert shares.sum(axis=1) == pytest.approx([1.0, 1.0])
    red = 1  # hue bin 0 (red), light half
    assert min(shares[:, red]) >= 0.75  # the rest is the rim, blended with the background
    assert 0.5 * np.abs(shares[0] - shares[1]).sum() < 0.15


# --------------------------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------------------------


def test_logs_one_train_and_one_validation_line_per_epoch(two_classes: Run) -> None:
    """Each epoch logs MXNet-style accuracy lines, numbered from 0, matching the results."""
    logs = two_classes.logs
    assert logs[0] == "Training on 80 records, 20 validation records, 2 classes"
    matches = [m for m in map(EPOCH_LINE.fullmatch, logs) if m]
    for kind, accuracies in (
        ("Train", two_classes.result.train_accuracies),
        ("Validation", two_classes.result.validation_accuracies),
    ):
        lines = [m for m in matches if m.group(2) == kind]
        assert [int(m.group(1)) for m in lines] == list(range(two_classes.hp.epochs))
        assert [float(m.group(3)) for m in lines] == pytest.approx(accuracies, abs=1e-6)
    assert "Epoch[0] Train-accuracy=" in "\n".join(logs)


def test_notes_what_local_mode_does_not_use(two_classes: Run) -> None:
    """Hyperparameters the stand-in ignores are named in the log, not silently dropped."""
    logs: list[str] = []
    hp = trainer.parse_hyperparameters(
        demo_hyperparameters(2, 4, epochs="1", top_k="2", augmentation_type="crop")
    )
    records = two_classes.train[:2] + two_classes.train[-2:]
    trainer.train(hp, records, two_classes.validation[:2], logs.append)
    assert hp.ignored == ("top_k",)
    assert any("top_k" in line for line in logs)
    assert any("augmentation_type=crop" in line for line in logs)


def test_early_stopping_ends_training_early(two_classes: Run) -> None:
    """early_stopping=True stops once validation accuracy stops improving."""
    result = run(
        two_classes.train,
        two_classes.validation,
        2,
        epochs="40",
        early_stopping="True",
        early_stopping_min_epochs="3",
        early_stopping_patience="2",
    )
    epochs_run = len(result.result.validation_accuracies)
    assert 3 <= epochs_run < 40
    assert any(line.startswith("Early stopping") for line in result.logs)


# --------------------------------------------------------------------------------------------
# Hyperparameters and data checks
# --------------------------------------------------------------------------------------------


def test_defaults_are_the_algorithms() -> None:
    """Only the two required hyperparameters: the rest take the algorithm's defaults."""
    hp = trainer.parse_hyperparameters({"num_classes": "2", "num_training_samples": "10"})
    assert (hp.num_classes, hp.num_training_samples) == (2, 10)
    assert (hp.epochs, hp.learning_rate, hp.mini_batch_size) == (30, 0.1, 32)
    assert (hp.image_shape, hp.num_layers, hp.use_pretrained_model) == ((3, 224, 224), 152, 0)
    assert (hp.optimizer, hp.momentum, hp.weight_decay) == ("sgd", 0.9, 0.0001)
    assert (hp.augmentation_type, hp.early_stopping, hp.resize) == (None, False, None)
    assert hp.ignored == ()


def test_parses_every_value_from_strings() -> None:
    """Values arrive as strings and are parsed to their types."""
    hp = trainer.parse_hyperparameters(
        {
            "num_classes": "5",
            "num_training_samples": "200",
            "image_shape": "3, 128, 96",
            "num_layers": "18",
            "optimizer": "adam",
            "early_stopping": "True",
            "lr_scheduler_step": "10,20",
            "lr_scheduler_factor": "0.5",
            "resize": "256",
        }
    )
    assert hp.image_shape == (3, 128, 96)
    assert (hp.num_layers, hp.optimizer, hp.early_stopping, hp.resize) == (18, "adam", True, 256)
    assert [hp.learning_rate_at(e) for e in (0, 9, 10, 19, 20)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025]
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_classes": None}, "Missing required hyperparameter: num_classes"),
        ({"num_training_samples": None}, "Missing required hyperparameter: num_training_samples"),
        ({"num_classes": "x"}, "num_classes must be an integer >= 2, got 'x'"),
        ({"num_classes": "1"}, "num_classes must be an integer >= 2, got '1'"),
        ({"epochs": "2.5"}, "epochs must be an integer >= 1, got '2.5'"),
        ({"learning_rate": "0"}, "learning_rate must be a number in (0, 1], got '0'"),
        ({"momentum": "1.5"}, "momentum must be a number in [0, 1], got '1.5'"),
        ({"optimizer": "lbfgs"}, "optimizer must be one of sgd, adam, rmsprop, nag"),
        ({"num_layers": "17"}, "num_layers must be one of 18, 34, 50"),
        ({"image_shape": "224,224"}, "image_shape must be 'num_channels,height,width'"),
        ({"early_stopping": "yes"}, "early_stopping must be True or False, got 'yes'"),
        ({"augmentation_type": "flip"}, "augmentation_type must be one of crop, crop_color"),
        ({"use_pretrained_model": "2"}, "use_pretrained_model must be one of 0, 1"),
        ({"lr_scheduler_step": "20,10"}, "lr_scheduler_step must be epochs in increasing order"),
    ],
)
def test_bad_hyperparameters_are_named(changes: dict, message: str) -> None:
    """A missing or invalid hyperparameter fails with a message naming it and its value."""
    raw = demo_hyperparameters(2, 80)
    for name, value in changes.items():
        if value is None:
            del raw[name]
        else:
            raw[name] = value
    with pytest.raises(TrainingError) as caught:
        trainer.parse_hyperparameters(raw)
    assert message in str(caught.value)
    assert caught.value.failure_reason.startswith("ClientError: ")


def test_num_training_samples_must_match_the_data() -> None:
    """The message gives the right value to set."""
    hp = trainer.parse_hyperparameters(demo_hyperparameters(2, 100))
    with pytest.raises(TrainingError, match="set num_training_samples to 80"):
        trainer.check_data(hp, [0, 1] * 40, [0, 1])


@pytest.mark.parametrize(
    ("train_labels", "validation_labels", "message"),
    [
        ([0, 1, 2, 1], [0, 1], "Record 2 of the train channel has label 2"),
        ([0, 1, -1, 1], [0, 1], "Record 2 of the train channel has label -1"),
        ([0, 1, 0.5, 1], [0, 1], "Record 2 of the train channel has label 0.5"),
        ([0, 1, 0, 1], [0, 3], "Record 1 of the validation channel has label 3"),
        ([0, 1, 0, 1], [], "The validation channel has no records"),
    ],
)
def test_labels_must_fit_num_classes(
    train_labels: list, validation_labels: list, message: str
) -> None:
    """Labels outside 0..num_classes-1, or an empty validation channel, fail the job."""
    hp = trainer.parse_hyperparameters(demo_hyperparameters(2, 4))
    with pytest.raises(TrainingError) as caught:
        trainer.check_data(hp, train_labels, validation_labels)
    assert message in str(caught.value)


def test_train_checks_the_data_first(two_classes: Run) -> None:
    """train() refuses a label >= num_classes before any work."""
    hp = trainer.parse_hyperparameters(demo_hyperparameters(2, 2))
    records = [(two_classes.train[0][0], 0), (two_classes.train[1][0], 2)]
    with pytest.raises(TrainingError, match="label 2"):
        trainer.train(hp, records, two_classes.validation[:1], lambda line: None)


def test_unreadable_picture_is_named(two_classes: Run) -> None:
    """A record that is not an image fails the job, naming the record."""
    hp = trainer.parse_hyperparameters(demo_hyperparameters(2, 2))
    records = [two_classes.train[0], (b"not an image", 1)]
    with pytest.raises(TrainingError, match="Record 1 of the train channel is not a readable"):
        trainer.train(hp, records, two_classes.validation[:1], lambda line: None)


def test_png_and_grey_pictures_are_read() -> None:
    """PNG, greyscale and tiny pictures give a full feature vector."""
    blobs = []
    for mode, size, fmt in (
        ("L", (40, 30), "PNG"),
        ("RGBA", (8, 8), "PNG"),
        ("RGB", (90, 60), "JPEG"),
    ):
        buf = io.BytesIO()
        Image.new(mode, size).save(buf, format=fmt)
        blobs.append(buf.getvalue())
    assert trainer.extract_features(blobs).shape == (3, trainer.FEATURE_SIZE)
    assert trainer.extract_features([]).shape == (0, trainer.FEATURE_SIZE)


# --------------------------------------------------------------------------------------------
# model.tar.gz
# --------------------------------------------------------------------------------------------


def test_archive_is_a_pickle_free_tarball(two_classes: Run) -> None:
    """model.tar.gz holds JSON and an .npz that loads with allow_pickle=False."""
    archive = trainer.model_archive(two_classes.result, two_classes.hp)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        names = sorted(tar.getnames())
        files = {name: tar.extractfile(name).read() for name in names}  # type: ignore[union-attr]
    assert names == ["hyperparams.json", "model-info.json", "model-shapes.json", "model.npz"]
    assert not any(name.endswith((".pkl", ".pickle")) for name in names)
    with np.load(io.BytesIO(files["model.npz"]), allow_pickle=False) as npz:
        assert npz["weights"].shape == (trainer.FEATURE_SIZE, 2)
        assert npz["bias"].shape == (2,)
    shapes = json.loads(files["model-shapes.json"])
    assert shapes == [{"shape": [1, 3, 224, 224], "name": "data"}]
    assert json.loads(files["hyperparams.json"])["num_classes"] == 2
    info = json.loads(files["model-info.json"])
    assert info["validation_accuracy"] == two_classes.result.validation_accuracy
    assert archive == trainer.model_archive(two_classes.result, two_classes.hp)  # reproducible


def test_loaded_model_reproduces_validation_accuracy(two_classes: Run) -> None:
    """The archived model predicts the validation pictures exactly as training measured."""
    model = trainer.load_model(trainer.model_archive(two_classes.result, two_classes.hp))
    images = [data for data, _ in two_classes.validation]
    predicted = model.predict(images)
    assert accuracy(predicted, two_classes.validation) == two_classes.result.validation_accuracy
    probabilities = model.probabilities(images[:3])
    assert probabilities.shape == (3, 2)
    assert probabilities.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    assert list(np.argmax(probabilities, axis=1)) == predicted[:3]


def test_load_model_rejects_other_archives(two_classes: Run) -> None:
    """Garbage, or a tarball that is not ours, fails with a TrainingError."""
    with pytest.raises(TrainingError, match="cannot read the model archive"):
        trainer.load_model(b"not a tarball")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b'{"format": "mxnet"}'
        info = tarfile.TarInfo("model-info.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(TrainingError, match="not a local-mode image classifier"):
        trainer.load_model(buf.getvalue())


def test_load_model_never_unpickles(two_classes: Run) -> None:
    """An archive whose .npz holds a pickled object array is refused, not unpickled."""
    good = trainer.model_archive(two_classes.result, two_classes.hp)
    with tarfile.open(fileobj=io.BytesIO(good), mode="r:gz") as tar:
        info = tar.extractfile(trainer.INFO_FILE).read()  # type: ignore[union-attr]
    weights = io.BytesIO()
    np.savez(weights, mean=np.array([object()], dtype=object), scale=0, weights=0, bias=0)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in ((trainer.INFO_FILE, info), (trainer.WEIGHTS_FILE, weights.getvalue())):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    with pytest.raises(TrainingError, match="cannot read the model archive"):
        trainer.load_model(buf.getvalue())


def test_load_model_rejects_an_earlier_version(two_classes: Run) -> None:
    """A model.tar.gz of an earlier version (other features) is refused with the fix."""
    good = trainer.model_archive(two_classes.result, two_classes.hp)
    buf = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(good), mode="r:gz") as source,
        tarfile.open(fileobj=buf, mode="w:gz") as tar,
    ):
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == trainer.INFO_FILE:
                data = json.dumps({**json.loads(data), "version": 1}).encode()
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    with pytest.raises(TrainingError, match="retrain it with this version of the walkthrough"):
        trainer.load_model(buf.getvalue())


def test_many_pictures_share_out_among_processes_with_the_same_features(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At a large job's size the features come from several processes, row for row the same."""
    pictures = [mirror.render(img) for img in mirror.plan(5)[::4]][:6]
    alone = trainer.extract_features(pictures, "train")
    monkeypatch.setattr(trainer, "PARALLEL_MIN", 4)
    monkeypatch.setattr(trainer.os, "cpu_count", lambda: 2)
    assert np.array_equal(trainer.extract_features(pictures, "train"), alone)
    with pytest.raises(TrainingError, match="Record 5 of the train channel is not a readable"):
        trainer.extract_features([*pictures[:5], b"not a picture"], "train")
