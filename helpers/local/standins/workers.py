"""Simulated members of a Ground Truth private workforce, who answer image-classification tasks.

Workers answer with a personal accuracy; their mistakes prefer classes that look alike (a
Cheetah is taken for a Tiger far more often than for a Fruit). Their answers are consolidated
by :mod:`helpers.local.standins.dawid_skene`.

Everything here is pure: no AWS, no I/O, and all randomness comes from a seed or a
``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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
