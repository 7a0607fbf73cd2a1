"""Tests of the local stand-in for the built-in image-classification algorithm (offline)."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.local import trainer
from helpers.local.trainer import TrainingError

TRAIN_PER_CLASS = 40
VALIDATION_PER_CLASS = 30
EPOCH_LINE = re.compile(r"Epoch\[(\d+)\] (Train|Validation)-accuracy=(\d\.\d+)")

Records = list[tuple[bytes, int]]


@dataclass(frozen=True)
class Run:
    """One training run with everything the tests look at."""

    hp: trainer.Hyperparameters
    train: Records
    validation: Records
    result: trainer.TrainingResult
    logs: list[str]


@pytest.fixture(scope="session")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[bytes]]:
    """Mirror pictures by class name, each showing that class and no other of the five."""
    from helpers.local import mirror

    folder = Path(mirror.build(tmp_path_factory.mktemp("mirror"), images_per_class=80))
    positives: dict[str, set[str]] = {}
    with (folder / mirror.ANNOTATIONS_FILE).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Confidence"] == "1" and row["LabelName"] in mirror.CLASSES.values():
                positives.setdefault(row["ImageID"], set()).add(row["LabelName"])
    return {
        name: [
            (folder / mirror.IMAGES_DIR / f"{image_id}.jpg").read_bytes()
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


def demo_hyperparameters(num_classes: int, num_training_samples: int, **extra: str) -> dict:
    """Return the demo's hyperparameters (strings, as the SageMaker API carries them)."""
    return {
        "num_classes": str(num_classes),
        "num_training_samples": str(num_training_samples),
        "epochs": "10",
        "learning_rate": "0.1",
        "mini_batch_size": "8",
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
def two_classes(pictures: dict[str, list[bytes]]) -> Run:
    """Musical instrument (0) vs Fruit (1), true labels, the demo's hyperparameters."""
    train, validation = split(pictures, ["Musical instrument", "Fruit"])
    return run(train, validation, 2)


# --------------------------------------------------------------------------------------------
# Learning
# --------------------------------------------------------------------------------------------


def test_two_classes_learn_from_true_labels(two_classes: Run) -> None:
    """With true labels the classifier separates instruments from fruit."""
    result = two_classes.result
    print(f"two classes: validation accuracies {result.validation_accuracies}")
    assert len(two_classes.validation) == 2 * VALIDATION_PER_CLASS
    assert result.validation_accuracy >= 0.8
    assert result.train_accuracy >= 0.9


def test_shuffled_labels_give_chance_accuracy(two_classes: Run) -> None:
    """Trained on shuffled labels, the same model is no better than chance on validation.

    One shuffle's score spreads widely (about 0.37-0.68 over 20 seeds: a random permutation
    still agrees with the true classes a little more or less than half the time, and a good
    model picks that up), so the bound is on the mean of five shuffles.
    """
    scores, fits = [], []
    for seed in range(5):
        shuffled = shuffle_labels(two_classes.train, seed)
        result = run(shuffled, two_classes.validation, 2, seed=seed).result
        scores.append(result.validation_accuracy)
        fits.append(result.train_accuracy)
    print(f"shuffled labels: validation accuracies {scores}, train accuracies {fits}")
    assert float(np.mean(scores)) <= 0.5 + 0.10
    assert float(np.mean(fits)) >= 0.8  # it did learn the labels it was given: by heart


def test_five_classes_well_above_chance(pictures: dict[str, list[bytes]]) -> None:
    """All five drawn classes with true labels: far above the 0.2 of guessing."""
    from helpers.local import mirror

    train, validation = split(pictures, list(mirror.CLASSES))
    result = run(train, validation, 5).result
    print(f"five classes: validation accuracies {result.validation_accuracies}")
    assert result.validation_accuracy >= 0.6


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
    assert result.validation_accuracy >= 0.75


def test_training_is_deterministic(two_classes: Run) -> None:
    """The same data, hyperparameters and seed give the same accuracies and weights."""
    again = run(two_classes.train, two_classes.validation, 2).result
    assert again.validation_accuracies == two_classes.result.validation_accuracies
    assert np.array_equal(again.model.weights, two_classes.result.model.weights)


# --------------------------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------------------------


def test_logs_one_train_and_one_validation_line_per_epoch(two_classes: Run) -> None:
    """Each epoch logs MXNet-style accuracy lines, numbered from 0, matching the results."""
    logs = two_classes.logs
    assert logs[0] == "Training on 80 records, 60 validation records, 2 classes"
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
