"""A simulated Ground Truth private workforce: workers who answer, and answer consolidation.

Workers answer image-classification tasks with a personal accuracy; their mistakes prefer
classes that look alike (a Cheetah is taken for a Tiger far more often than for a Fruit).

Answers are consolidated as Ground Truth documents for image classification: "a variant of
Expectation Maximization" that "estimates parameters for each worker and uses Bayesian
inference" -- a Dawid-Skene model in which every worker has a confusion matrix (the probability
of each answer given each true class). With a single answer for an object, Ground Truth reports
a confidence of 0.00, and so does :func:`consolidate`.

Everything here is pure: no AWS, no I/O, and all randomness comes from a seed or a
``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

ObjectId = TypeVar("ObjectId", bound=Hashable)

#: Groups of classes that workers confuse with each other (matched case-insensitively).
SIMILAR_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"cheetah", "tiger", "leopard", "lion", "cat"}),
    frozenset({"fruit", "apple", "banana", "orange", "strawberry"}),
    frozenset({"musical instrument", "guitar", "piano", "drum", "violin"}),
)
#: How much more likely a mistake is to land on a similar class than on any other class.
SIMILAR_WEIGHT = 10.0
#: Spread of a worker's answer times (sigma of the log of the time).
TIME_SIGMA = 0.35
#: Shortest answer time, in seconds.
MIN_SECONDS = 1.0

#: Dawid-Skene set-up: initial confusion-matrix diagonal, and the Dirichlet pseudo-counts added
#: to every confusion-matrix cell and to every class of the prior at each M-step.
INITIAL_DIAGONAL = 0.7
SMOOTHING = 0.01
#: Two posteriors closer than this are a tie (the lower class index wins).
TIE = 1e-12


# --------------------------------------------------------------------------------------------
# Simulated workers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    """One simulated member of a private workteam."""

    worker_id: str
    username: str
    accuracy: float
    seconds_per_task: float


def worker_id(username: str, region: str) -> str:
    """Return the private worker id of a Cognito username: ``private.<region>.<24 hex digits>``."""
    digest = hashlib.sha256(username.encode("utf-8")).hexdigest()[:24]
    return f"private.{region}.{digest}"


def _username_rng(username: str, seed: int) -> np.random.Generator:
    """Return a generator that depends only on the seed and the username."""
    digest = int.from_bytes(hashlib.sha256(username.encode("utf-8")).digest()[:8], "big")
    return np.random.default_rng([seed % 2**64, digest])  # SeedSequence wants non-negatives


def make_workers(
    usernames: Sequence[str],
    region: str,
    seed: int,
    accuracy: tuple[float, float] = (0.85, 0.95),
    seconds: tuple[float, float] = (4.0, 12.0),
) -> list[Worker]:
    """Return one simulated worker per username, each the same whatever the order of the list."""
    if len(set(usernames)) != len(usernames):
        raise ValueError("usernames must be unique")
    _check_range("accuracy", accuracy, 0.0, 1.0)
    _check_range("seconds", seconds, 0.0, math.inf)
    workers = []
    for username in usernames:
        rng = _username_rng(username, seed)
        workers.append(
            Worker(
                worker_id=worker_id(username, region),
                username=username,
                accuracy=float(rng.uniform(*accuracy)),
                seconds_per_task=float(rng.uniform(*seconds)),
            )
        )
    return workers


def _check_range(name: str, bounds: tuple[float, float], low: float, high: float) -> None:
    """Raise ValueError unless low <= bounds[0] <= bounds[1] <= high."""
    if not low <= bounds[0] <= bounds[1] <= high:
        raise ValueError(f"{name} must be (low, high) with {low} <= low <= high <= {high}")


def similarity_matrix(class_names: Sequence[str]) -> np.ndarray:
    """Return n×n mistake weights: zero diagonal, rows sum to 1, similar classes weigh more."""
    names = [name.strip().casefold() for name in class_names]
    group = [
        next((g for g, members in enumerate(SIMILAR_GROUPS) if n in members), -1) for n in names
    ]
    groups = np.array(group)
    same = (groups[:, None] == groups[None, :]) & (groups[:, None] >= 0)
    weights = np.where(same, SIMILAR_WEIGHT, 1.0)
    np.fill_diagonal(weights, 0.0)
    sums = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, sums, out=np.zeros_like(weights), where=sums > 0)


def answer(
    worker: Worker,
    truth: int | None,
    n_classes: int,
    similarity: np.ndarray | None,
    rng: np.random.Generator,
) -> int:
    """Return the class a worker picks: the truth with its accuracy, else a similar wrong class."""
    if n_classes < 1:
        raise ValueError("n_classes must be at least 1")
    if truth is None:
        return int(rng.integers(n_classes))
    if not 0 <= truth < n_classes:
        raise ValueError(f"truth {truth} is not a class index below {n_classes}")
    if n_classes == 1 or rng.random() < worker.accuracy:
        return int(truth)
    return int(rng.choice(n_classes, p=_mistake_weights(truth, n_classes, similarity)))


def _mistake_weights(truth: int, n_classes: int, similarity: np.ndarray | None) -> np.ndarray:
    """Return the probabilities of each wrong answer for a true class (uniform without hints)."""
    weights = np.ones(n_classes) if similarity is None else np.array(similarity[truth], float)
    weights[truth] = 0.0
    if weights.sum() <= 0:
        weights = np.ones(n_classes)
        weights[truth] = 0.0
    return weights / weights.sum()


def answer_time(worker: Worker, rng: np.random.Generator) -> float:
    """Return how many seconds a worker spends on a task: lognormal around its median, >= 1."""
    seconds = worker.seconds_per_task * math.exp(TIME_SIGMA * rng.standard_normal())
    return max(MIN_SECONDS, float(seconds))


# --------------------------------------------------------------------------------------------
# Consolidation (modified Dawid-Skene expectation maximization)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consolidated:
    """The consolidated label of one object, with Ground Truth's confidence and the posterior."""

    label: int
    confidence: float
    posterior: tuple[float, ...]


@dataclass(frozen=True)
class ConsolidationStats:
    """How the expectation maximization went: M-steps run, convergence, final log-likelihood."""

    rounds: int
    converged: bool
    log_likelihood: float


@dataclass(frozen=True)
class _Answers:
    """Answers as index arrays: object, worker and label of each answer."""

    objects: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    n_objects: int
    n_workers: int
    n_classes: int


def consolidate(
    answers: Sequence[tuple[ObjectId, Hashable, int]],
    n_classes: int,
    max_rounds: int = 20,
    tol: float = 1e-8,
) -> dict[ObjectId, Consolidated]:
    """Consolidate (object id, worker id, label) answers into one label per object."""
    return consolidate_with_stats(answers, n_classes, max_rounds, tol)[0]


def consolidate_with_stats(
    answers: Sequence[tuple[ObjectId, Hashable, int]],
    n_classes: int,
    max_rounds: int = 20,
    tol: float = 1e-8,
) -> tuple[dict[ObjectId, Consolidated], ConsolidationStats]:
    """Consolidate answers like :func:`consolidate`, also returning how the EM converged."""
    if max_rounds < 0:
        raise ValueError("max_rounds must be >= 0")
    object_ids, data = _index(answers, n_classes)
    if not object_ids:
        return {}, ConsolidationStats(rounds=0, converged=True, log_likelihood=0.0)
    posterior, stats = _expectation_maximization(data, max_rounds, tol)
    results = dict(zip(object_ids, _results(data, posterior), strict=True))
    return results, stats


def _index(
    answers: Sequence[tuple[ObjectId, Hashable, int]], n_classes: int
) -> tuple[list[ObjectId], _Answers]:
    """Number objects and workers in order of appearance, and check the labels."""
    if n_classes < 1:
        raise ValueError("n_classes must be at least 1")
    object_index: dict[ObjectId, int] = {}
    worker_index: dict[Hashable, int] = {}
    objects, workers, labels = [], [], []
    for object_id, worker, label in answers:
        if not 0 <= int(label) < n_classes:
            raise ValueError(
                f"label {label} of {object_id!r} is not a class index below {n_classes}"
            )
        objects.append(object_index.setdefault(object_id, len(object_index)))
        workers.append(worker_index.setdefault(worker, len(worker_index)))
        labels.append(int(label))
    data = _Answers(
        objects=np.array(objects, dtype=np.intp),
        workers=np.array(workers, dtype=np.intp),
        labels=np.array(labels, dtype=np.intp),
        n_objects=len(object_index),
        n_workers=len(worker_index),
        n_classes=n_classes,
    )
    return list(object_index), data


def _expectation_maximization(
    data: _Answers, max_rounds: int, tol: float
) -> tuple[np.ndarray, ConsolidationStats]:
    """Run Dawid-Skene EM; return the objects × classes posterior and the run's statistics."""
    prior = _initial_prior(data)
    confusion = _initial_confusion(data)
    posterior, log_likelihood = _e_step(data, prior, confusion)
    rounds, converged = 0, False
    while rounds < max_rounds and not converged:
        prior, confusion = _m_step(data, posterior)
        posterior, new_log_likelihood = _e_step(data, prior, confusion)
        change = abs(new_log_likelihood - log_likelihood)
        converged = change <= tol * max(abs(log_likelihood), np.finfo(float).tiny)
        log_likelihood = new_log_likelihood
        rounds += 1
    return posterior, ConsolidationStats(rounds, converged, float(log_likelihood))


def _initial_prior(data: _Answers) -> np.ndarray:
    """Return the class prior from the answers' marginal distribution, add-one smoothed."""
    counts = np.bincount(data.labels, minlength=data.n_classes) + 1.0
    return counts / counts.sum()


def _initial_confusion(data: _Answers) -> np.ndarray:
    """Return workers × true class × answer matrices: 0.7 diagonal, the rest spread evenly."""
    k = data.n_classes
    if k == 1:
        return np.ones((data.n_workers, 1, 1))
    matrix = np.full((k, k), (1.0 - INITIAL_DIAGONAL) / (k - 1))
    np.fill_diagonal(matrix, INITIAL_DIAGONAL)
    return np.broadcast_to(matrix, (data.n_workers, k, k)).copy()


def _e_step(data: _Answers, prior: np.ndarray, confusion: np.ndarray) -> tuple[np.ndarray, float]:
    """Return each object's posterior over the true class, and the data's log-likelihood."""
    # log P(answer | true class k) for every answer: answers × classes
    per_answer = np.log(confusion)[data.workers, :, data.labels]
    joint = np.tile(np.log(prior), (data.n_objects, 1))
    for k in range(data.n_classes):
        joint[:, k] += np.bincount(data.objects, per_answer[:, k], minlength=data.n_objects)
    top = joint.max(axis=1, keepdims=True)
    normalizer = top + np.log(np.exp(joint - top).sum(axis=1, keepdims=True))
    return np.exp(joint - normalizer), float(normalizer.sum())


def _m_step(data: _Answers, posterior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Re-estimate the class prior and every worker's confusion matrix, Dirichlet smoothed."""
    k = data.n_classes
    prior = posterior.sum(axis=0) + SMOOTHING
    prior /= prior.sum()
    cell = data.workers * k + data.labels  # (worker, answer) of every answer
    confusion = np.empty((data.n_workers, k, k))
    for true in range(k):
        weights = posterior[data.objects, true]
        counts = np.bincount(cell, weights, minlength=data.n_workers * k)
        confusion[:, true, :] = counts.reshape(data.n_workers, k)
    confusion += SMOOTHING
    confusion /= confusion.sum(axis=2, keepdims=True)
    return prior, confusion


def _results(data: _Answers, posterior: np.ndarray) -> list[Consolidated]:
    """Turn posteriors into labels and confidences; one answer gives its label, confidence 0.0."""
    best = posterior.max(axis=1)
    labels = np.argmax(posterior >= best[:, None] - TIE, axis=1)  # ties: the lowest class
    confidences = [round(b, 2) for b in best.tolist()]
    alone = np.bincount(data.objects, minlength=data.n_objects)[data.objects] == 1
    labels[data.objects[alone]] = data.labels[alone]
    for i in data.objects[alone].tolist():
        confidences[i] = 0.0
    return [
        Consolidated(label=label, confidence=confidence, posterior=tuple(row))
        for label, confidence, row in zip(
            labels.tolist(), confidences, posterior.tolist(), strict=True
        )
    ]
