"""Ground Truth's answer consolidation for image classification: Dawid-Skene EM.

Ground Truth documents it as "a variant of Expectation Maximization" that "estimates parameters
for each worker and uses Bayesian inference" -- a Dawid-Skene model in which every worker has a
confusion matrix (the probability of each answer given each true class). With a single answer
for an object, Ground Truth reports a confidence of 0.00, and so does :func:`consolidate`.

Pure: no AWS, no I/O, no randomness.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

ObjectId = TypeVar("ObjectId", bound=Hashable)

#: Dawid-Skene set-up: initial confusion-matrix diagonal, and the Dirichlet pseudo-counts added
#: to every confusion-matrix cell and to every class of the prior at each M-step.
INITIAL_DIAGONAL = 0.7
SMOOTHING = 0.01
#: Two posteriors closer than this are a tie (the lower class index wins).
TIE = 1e-12


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
