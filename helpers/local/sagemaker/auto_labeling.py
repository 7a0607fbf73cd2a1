"""Automated data labeling in the local Ground Truth: the service's active-learning loop.

What the service does (AWS, "Automate data labeling",
https://docs.aws.amazon.com/sagemaker/latest/dg/sms-automated-labeling.html, and the API
reference of LabelingJobAlgorithmsConfig,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_LabelingJobAlgorithmsConfig.html):
humans first label a random sample of the objects, which becomes the validation set (20% of the
objects below 5,000 objects, 10% above); a model is trained on human labels and run on the
validation set to choose a confidence threshold at which machine labels are expected to be 95%
accurate; unlabeled objects the model scores at or above it are machine-labeled (their output
lines say `human-annotated: no`, with the model's confidence); the rest go to humans in later
iterations (active learning picks the ones the model is least sure of), and the model is trained
again on every human label so far. The service runs training, batch transform and model jobs for
this as the job's execution role; at the end `LabelingJobOutput.FinalActiveLearningModelArn`
names the last model.

Here the model is the stand-in classifier (`standins.classifier`: the same features and softmax
the local training jobs use), trained on the simulated workers' answers (never the Open Images
truth) and run on the pictures. A classifier that cannot reach the target accuracy on the
validation set labels nothing (`MachineLabeled` 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from helpers.local.standins import classifier

#: At and above this many objects the validation set is 10% of them, below it 20%.
LARGE_JOB_OBJECTS = 5_000
#: The share of the objects humans label first as the validation set (below / from 5,000).
VALIDATION_SHARE = (0.2, 0.1)
#: The accuracy the machine labels are expected to reach (the threshold is set for it).
TARGET_ACCURACY = 0.95
#: Validation objects at or above the threshold needed before trusting it (fewer: no machine
#: labels), so that a weak model is not trusted on a lucky handful.
MIN_VALIDATION_ABOVE = 10
#: Machine-labeling rounds before every object left goes to humans.
MAX_ROUNDS = 3
#: Simulated seconds one round of training and batch inference takes the service.
ROUND_SECONDS = 600.0
#: The stand-in trainer's settings for the auto-labeling model.
HYPERPARAMETERS = {"epochs": "12", "mini_batch_size": "32", "optimizer": "adam"}
HYPERPARAMETERS_LEARNING_RATE = "0.01"

#: Plans one object for humans, starting no earlier than the given simulated second; answers
#: when it is done (simulated seconds) and the label its human answers known now agree on
#: (None: none known now, e.g. all its tasks wait for person labelers).
HumanPlanner = Callable[[int, float], tuple[float, int | None]]
#: The stand-in classifier's feature rows of the given objects (NaN rows: unreadable pictures).
FeatureReader = Callable[[Sequence[int]], np.ndarray]


@dataclass(frozen=True)
class MachineLabel:
    """An object the model labeled: its class index, confidence, round and when it was done."""

    label: int
    confidence: float
    round: int
    done_at: float


@dataclass(frozen=True)
class Round:
    """One round: the threshold found (None: none reaches the target) and what it labeled."""

    number: int
    threshold: float | None
    validation_accuracy: float
    machine_labeled: int
    sent_to_humans: int


@dataclass
class Outcome:
    """What the loop did: machine labels by object index, its rounds and the final model."""

    machine: dict[int, MachineLabel] = field(default_factory=dict)
    rounds: list[Round] = field(default_factory=list)
    result: classifier.TrainingResult | None = None
    hyperparameters: classifier.Hyperparameters | None = None
    validation: list[int] = field(default_factory=list)


def validation_share(objects: int) -> float:
    """The share of a job's objects humans label first as the validation set."""
    below, above = VALIDATION_SHARE
    return below if objects < LARGE_JOB_OBJECTS else above


def threshold(confidences: np.ndarray, correct: np.ndarray) -> float | None:
    """The lowest confidence at which the validation objects scored at or above it are
    TARGET_ACCURACY accurate (and there are at least MIN_VALIDATION_ABOVE of them); None when
    no confidence is."""
    order = np.argsort(-confidences, kind="stable")
    hits = np.cumsum(correct[order].astype(float))
    counts = np.arange(1, len(order) + 1)
    good = np.nonzero((hits / counts >= TARGET_ACCURACY) & (counts >= MIN_VALIDATION_ABOVE))[0]
    if not len(good):
        return None
    return float(confidences[order][good[-1]])


def _majority(labels: dict[int, int], indices: Sequence[int]) -> tuple[list[int], list[int]]:
    known = [i for i in indices if i in labels]
    return known, [labels[i] for i in known]


def run(
    objects: int, num_classes: int, seed: int, human: HumanPlanner, features: FeatureReader
) -> Outcome:
    """Run the loop over a job's objects (indices 0..objects-1); plan the human ones through
    `human`, score the others with the stand-in classifier."""
    rng = np.random.default_rng(seed)
    order = [int(i) for i in rng.permutation(objects)]
    batch = max(1, round(validation_share(objects) * objects))
    outcome = Outcome(validation=sorted(order[:batch]))
    labels: dict[int, int] = {}
    clock = 0.0

    def ask_humans(indices: Sequence[int], not_before: float) -> float:
        last = not_before
        for index in sorted(indices):
            done, label = human(index, not_before)
            if label is not None:
                labels[index] = label
            last = max(last, done)
        return last

    clock = ask_humans(order[: 2 * batch], clock)
    remaining = sorted(order[2 * batch :])
    hp = classifier.parse_hyperparameters(
        {
            "num_classes": str(num_classes),
            "num_training_samples": str(objects),
            "learning_rate": HYPERPARAMETERS_LEARNING_RATE,
            **HYPERPARAMETERS,
        }
    )
    outcome.hyperparameters = hp
    for number in range(1, MAX_ROUNDS + 1):
        if not remaining:
            break
        clock += ROUND_SECONDS
        val_ids, val_y = _majority(labels, outcome.validation)
        result = _train(hp, labels, outcome.validation, features, seed)
        if result is None:
            outcome.rounds.append(Round(number, None, 0.0, 0, 0))
            break
        outcome.result = result
        v = features(val_ids)
        v_probs = result.model.feature_probabilities(np.nan_to_num(v))
        v_conf = v_probs.max(axis=1)
        v_conf[np.isnan(v).any(axis=1)] = 0.0
        cut = threshold(v_conf, v_probs.argmax(axis=1) == np.array(val_y))
        scores = features(remaining)
        unreadable = np.isnan(scores).any(axis=1)
        probs = result.model.feature_probabilities(np.nan_to_num(scores))
        conf = np.where(unreadable, 0.0, probs.max(axis=1))
        chosen = set()
        if cut is not None:
            for index, c, label in zip(remaining, conf, probs.argmax(axis=1), strict=True):
                if c >= cut:
                    rounded = math.floor(float(c) * 100) / 100
                    outcome.machine[index] = MachineLabel(int(label), rounded, number, clock)
                    chosen.add(index)
        left = [(c, i) for i, c in zip(remaining, conf, strict=True) if i not in chosen]
        sent = [] if number == MAX_ROUNDS else [i for _, i in sorted(left)[:batch]]
        outcome.rounds.append(
            Round(number, cut, result.validation_accuracy, len(chosen), len(sent))
        )
        clock = ask_humans(sent, clock)
        remaining = sorted({i for _, i in left} - set(sent))
    ask_humans(remaining, clock)
    final = _train(hp, labels, outcome.validation, features, seed)  # on every human label
    outcome.result = final or outcome.result
    return outcome


def _train(
    hp: classifier.Hyperparameters,
    labels: dict[int, int],
    validation: Sequence[int],
    features: FeatureReader,
    seed: int,
) -> classifier.TrainingResult | None:
    """The stand-in classifier trained on the human labels outside the validation set."""
    held_out = set(validation)
    train_ids, train_y = _majority(labels, [i for i in labels if i not in held_out])
    val_ids, val_y = _majority(labels, validation)
    if not train_ids or not val_ids:
        return None
    x, v = features(train_ids), features(val_ids)
    keep = ~np.isnan(x).any(axis=1)
    if not keep.any():
        return None
    return classifier.train_features(
        hp,
        (x[keep], np.array(train_y, dtype=np.intp)[keep]),
        (np.nan_to_num(v), np.array(val_y, dtype=np.intp)),
        lambda _line: None,
        seed=seed,
    )
