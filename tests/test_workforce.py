"""Tests for the simulated private workforce and Dawid-Skene consolidation (offline, pure)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
import pytest

from helpers.local.standins import dawid_skene as ds
from helpers.local.standins import workers as wf

REGION = "us-west-2"
FIVE = ("Musical instrument", "Fruit", "Cheetah", "Tiger", "Snowman")
Answer = tuple[Hashable, Hashable, int]


def _worker(name: str, accuracy: float, seconds: float = 6.0) -> wf.Worker:
    """Return a worker with a chosen accuracy and median answer time."""
    return wf.Worker(wf.worker_id(name, REGION), name, accuracy, seconds)


def _majority(answers: Sequence[Answer]) -> dict[Hashable, int]:
    """Return the plain majority vote per object (ties go to the lowest class)."""
    votes: dict[Hashable, Counter[int]] = {}
    for object_id, _, label in answers:
        votes.setdefault(object_id, Counter())[label] += 1
    result = {}
    for object_id, counter in votes.items():
        most = max(counter.values())
        result[object_id] = min(label for label, n in counter.items() if n == most)
    return result


def _simulate(
    workers: Sequence[wf.Worker],
    truths: Sequence[int],
    n_classes: int,
    similarity: np.ndarray | None,
    rng: np.random.Generator,
) -> list[Answer]:
    """Return every worker's answer to every object."""
    return [
        (index, w.worker_id, wf.answer(w, truth, n_classes, similarity, rng))
        for index, truth in enumerate(truths)
        for w in workers
    ]


# --------------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------------


def test_worker_ids_look_like_private_worker_ids_and_follow_the_username() -> None:
    workers = wf.make_workers(["alice", "bob"], REGION, seed=1)
    pattern = re.compile(r"^private\.us-west-2\.[0-9a-f]{24}$")
    assert all(pattern.match(w.worker_id) for w in workers)
    assert workers[0].worker_id != workers[1].worker_id
    assert wf.make_workers(["alice"], REGION, seed=99)[0].worker_id == workers[0].worker_id
    assert wf.make_workers(["alice"], "eu-west-1", seed=1)[0].worker_id.startswith(
        "private.eu-west-1."
    )


def test_make_workers_is_deterministic_and_independent_of_the_order() -> None:
    names = ["alice", "bob", "carol", "dave"]
    first = wf.make_workers(names, REGION, seed=7)
    again = wf.make_workers(names, REGION, seed=7)
    reordered = wf.make_workers(list(reversed(names)), REGION, seed=7)
    subset = wf.make_workers(["carol"], REGION, seed=7)
    assert first == again
    assert {w.username: w for w in first} == {w.username: w for w in reordered}
    assert subset[0] == first[2]
    assert wf.make_workers(names, REGION, seed=8) != first


def test_make_workers_draws_within_the_ranges() -> None:
    names = [f"user{i}" for i in range(50)]
    workers = wf.make_workers(names, REGION, seed=3, accuracy=(0.6, 0.7), seconds=(2.0, 3.0))
    assert [w.username for w in workers] == names
    assert all(0.6 <= w.accuracy <= 0.7 for w in workers)
    assert all(2.0 <= w.seconds_per_task <= 3.0 for w in workers)
    assert len({w.accuracy for w in workers}) == len(workers)
    assert wf.make_workers([], REGION, seed=3) == []


@pytest.mark.parametrize(
    ("names", "options"),
    [
        (["alice", "alice"], {}),
        (["alice"], {"accuracy": (0.9, 0.8)}),
        (["alice"], {"accuracy": (0.9, 1.2)}),
        (["alice"], {"seconds": (-1.0, 3.0)}),
    ],
)
def test_make_workers_rejects_bad_input(names: list[str], options: dict) -> None:
    with pytest.raises(ValueError):
        wf.make_workers(names, REGION, seed=1, **options)


def test_answers_are_deterministic_with_a_seed() -> None:
    worker = _worker("alice", 0.7)
    similarity = wf.similarity_matrix(FIVE)

    def run(seed: int) -> list[int]:
        rng = np.random.default_rng(seed)
        return [wf.answer(worker, t % 5, 5, similarity, rng) for t in range(200)]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_a_90_percent_worker_is_right_about_90_percent_of_the_time() -> None:
    worker = _worker("alice", 0.9)
    rng = np.random.default_rng(2024)
    truths = rng.integers(5, size=2000)
    similarity = wf.similarity_matrix(FIVE)
    right = sum(wf.answer(worker, int(t), 5, similarity, rng) == t for t in truths)
    assert 0.88 <= right / len(truths) <= 0.92


def test_mistakes_prefer_similar_classes() -> None:
    worker = _worker("sloppy", 0.0)  # always wrong, to count the mistakes
    rng = np.random.default_rng(5)
    similarity = wf.similarity_matrix(FIVE)
    cheetah, tiger, fruit = FIVE.index("Cheetah"), FIVE.index("Tiger"), FIVE.index("Fruit")
    mistakes = Counter(wf.answer(worker, cheetah, 5, similarity, rng) for _ in range(2000))
    assert mistakes[cheetah] == 0
    assert mistakes[tiger] > 5 * mistakes[fruit]
    assert mistakes[tiger] > sum(mistakes.values()) / 2


def test_mistakes_without_similarity_are_uniform_and_unknown_truth_is_random() -> None:
    rng = np.random.default_rng(6)
    wrong = Counter(wf.answer(_worker("w", 0.0), 0, 4, None, rng) for _ in range(3000))
    assert wrong[0] == 0
    assert all(900 <= wrong[k] <= 1100 for k in (1, 2, 3))
    guesses = Counter(wf.answer(_worker("w", 1.0), None, 4, None, rng) for _ in range(4000))
    assert all(900 <= guesses[k] <= 1100 for k in range(4))


def test_answer_rejects_a_truth_outside_the_classes() -> None:
    with pytest.raises(ValueError):
        wf.answer(_worker("w", 0.9), 5, 5, None, np.random.default_rng(0))


def test_similarity_matrix_weighs_similar_classes_case_insensitively() -> None:
    names = ["musical instrument", "FRUIT", "Cheetah", "tiger", "Snowman", "Apple"]
    matrix = wf.similarity_matrix(names)
    assert matrix.shape == (6, 6)
    assert np.allclose(np.diag(matrix), 0.0)
    assert np.allclose(matrix.sum(axis=1), 1.0)
    cheetah, tiger, fruit, apple = 2, 3, 1, 5
    assert matrix[cheetah, tiger] > 5 * matrix[cheetah, fruit]
    assert matrix[fruit, apple] > 5 * matrix[fruit, tiger]
    snowman = matrix[4]
    assert np.allclose(snowman[snowman > 0], 1 / 5)  # no similar class: uniform


def test_similarity_matrix_of_unrelated_or_single_classes() -> None:
    matrix = wf.similarity_matrix(["a", "b", "c"])
    assert np.allclose(matrix, (np.ones((3, 3)) - np.eye(3)) / 2)
    assert np.array_equal(wf.similarity_matrix(["only"]), np.zeros((1, 1)))


def test_answer_time_is_lognormal_around_the_median_and_at_least_a_second() -> None:
    rng = np.random.default_rng(8)
    times = np.array([wf.answer_time(_worker("w", 0.9, 8.0), rng) for _ in range(2000)])
    assert 7.0 <= np.median(times) <= 9.0
    assert times.std() > 1.0
    fast = [wf.answer_time(_worker("w", 0.9, 0.5), rng) for _ in range(200)]
    assert min(fast) >= 1.0


# --------------------------------------------------------------------------------------------
# Consolidation
# --------------------------------------------------------------------------------------------


def _biased_dataset(seed: int) -> tuple[list[Answer], np.ndarray, dict[str, wf.Worker]]:
    """Return ~300 objects answered by one reliable and two sloppy workers biased to class 0.

    The sloppy workers answer the truth half the time, otherwise class 0, so they often agree
    with each other on the same wrong class; the reliable worker is right 95% of the time.
    """
    n_classes = 5
    rng = np.random.default_rng(seed)
    team = {
        "reliable": _worker("reliable", 0.95),
        "sloppy1": _worker("sloppy1", 0.5),
        "sloppy2": _worker("sloppy2", 0.5),
    }
    towards_zero = np.zeros((n_classes, n_classes))
    towards_zero[:, 0] = 1.0
    towards_zero[0, 1:] = 1.0  # a true 0 is mistaken uniformly
    truths = rng.integers(n_classes, size=300)
    answers = _simulate(list(team.values()), truths.tolist(), n_classes, towards_zero, rng)
    return answers, truths, team


def test_dawid_skene_trusts_the_reliable_worker_over_a_sloppy_majority() -> None:
    answers, truths, team = _biased_dataset(seed=7)
    by_object: dict[Hashable, dict[Hashable, int]] = {}
    for object_id, worker, label in answers:
        by_object.setdefault(object_id, {})[worker] = label
    reliable, s1, s2 = (team[n].worker_id for n in ("reliable", "sloppy1", "sloppy2"))
    contested = [o for o, a in by_object.items() if a[s1] == a[s2] == 0 and a[reliable] != 0]
    assert len(contested) >= 20

    consolidated = ds.consolidate(answers, 5)
    majority = _majority(answers)
    for object_id in contested:
        assert majority[object_id] == 0
        assert consolidated[object_id].label == by_object[object_id][reliable]

    ds_right = sum(consolidated[i].label == t for i, t in enumerate(truths))
    mv_right = sum(majority[i] == t for i, t in enumerate(truths))
    assert ds_right > mv_right + 20


def test_dawid_skene_beats_majority_vote_on_realistic_workers() -> None:
    team = [_worker("good", 0.92), _worker("poor1", 0.55), _worker("poor2", 0.55)]
    ds_right = mv_right = 0
    for seed in range(5):  # five datasets of 300 objects, so one unlucky draw cannot decide
        rng = np.random.default_rng(seed)
        truths = rng.integers(5, size=300).tolist()
        answers = _simulate(team, truths, 5, wf.similarity_matrix(FIVE), rng)
        consolidated = ds.consolidate(answers, 5)
        majority = _majority(answers)
        ds_right += sum(consolidated[i].label == t for i, t in enumerate(truths))
        mv_right += sum(majority[i] == t for i, t in enumerate(truths))
    assert ds_right > mv_right + 25


def test_confidences_are_rounded_probabilities_and_high_when_good_workers_agree() -> None:
    rng = np.random.default_rng(3)
    team = wf.make_workers(["a", "b", "c"], REGION, seed=3, accuracy=(0.9, 0.95))
    truths = rng.integers(5, size=200).tolist()
    answers = _simulate(team, truths, 5, wf.similarity_matrix(FIVE), rng)
    consolidated = ds.consolidate(answers, 5)
    assert len(consolidated) == 200
    for result in consolidated.values():
        assert 0.0 <= result.confidence <= 1.0
        assert result.confidence == round(result.confidence, 2)
        assert len(result.posterior) == 5
        assert sum(result.posterior) == pytest.approx(1.0)
        assert result.confidence == round(max(result.posterior), 2)
    unanimous = [o for o, votes in _votes(answers).items() if len(set(votes)) == 1]
    assert unanimous
    assert all(consolidated[o].confidence >= 0.9 for o in unanimous)
    assert all(consolidated[o].label == _votes(answers)[o][0] for o in unanimous)


def _votes(answers: Sequence[Answer]) -> dict[Hashable, list[int]]:
    """Return the labels given to each object."""
    votes: dict[Hashable, list[int]] = {}
    for object_id, _, label in answers:
        votes.setdefault(object_id, []).append(label)
    return votes


def test_one_answer_gives_that_label_with_confidence_zero() -> None:
    answers: list[Answer] = [
        ("lonely", "w1", 3),
        ("pair", "w1", 1),
        ("pair", "w2", 1),
    ]
    consolidated = ds.consolidate(answers, 5)
    assert consolidated["lonely"].label == 3
    assert consolidated["lonely"].confidence == 0.0
    assert consolidated["pair"].label == 1
    assert consolidated["pair"].confidence > 0.0
    only_one_each = ds.consolidate([(i, f"w{i % 3}", i % 4) for i in range(12)], 4)
    assert {r.confidence for r in only_one_each.values()} == {0.0}
    assert [r.label for r in only_one_each.values()] == [i % 4 for i in range(12)]


def test_ties_go_to_the_lowest_class() -> None:
    for answers in ([("x", "w1", 2), ("x", "w2", 1)], [("x", "w1", 1), ("x", "w2", 2)]):
        result = ds.consolidate(answers, 3)["x"]
        assert result.label == 1
        assert result.posterior[1] == pytest.approx(result.posterior[2])


def test_results_keep_the_object_ids_and_their_order() -> None:
    answers: list[Answer] = [((2, "b"), "w", 0), ((1, "a"), "w", 1), ((2, "b"), "v", 0)]
    assert list(ds.consolidate(answers, 2)) == [(2, "b"), (1, "a")]
    assert ds.consolidate([], 3) == {}


def test_em_stops_at_max_rounds_or_when_converged() -> None:
    answers, _, _ = _biased_dataset(seed=1)
    _, none = ds.consolidate_with_stats(answers, 5, max_rounds=0)
    assert none.rounds == 0 and not none.converged
    _, one = ds.consolidate_with_stats(answers, 5, max_rounds=1)
    assert one.rounds == 1 and not one.converged
    _, capped = ds.consolidate_with_stats(answers, 5)
    assert capped.rounds <= 20
    _, loose = ds.consolidate_with_stats(answers, 5, max_rounds=500, tol=1e-3)
    assert loose.converged and 1 <= loose.rounds < 500
    _, strict = ds.consolidate_with_stats(answers, 5, max_rounds=500, tol=1e-8)
    assert strict.converged and loose.rounds < strict.rounds < 500
    assert strict.log_likelihood >= one.log_likelihood
    assert np.isfinite(strict.log_likelihood)


def test_consolidate_matches_consolidate_with_stats() -> None:
    answers, _, _ = _biased_dataset(seed=2)
    assert ds.consolidate(answers, 5) == ds.consolidate_with_stats(answers, 5)[0]


@pytest.mark.parametrize(
    ("answers", "n_classes", "max_rounds"),
    [
        ([("x", "w", 5)], 5, 20),
        ([("x", "w", -1)], 5, 20),
        ([("x", "w", 0)], 0, 20),
        ([("x", "w", 0)], 2, -1),
    ],
)
def test_consolidate_rejects_bad_input(
    answers: list[Answer], n_classes: int, max_rounds: int
) -> None:
    with pytest.raises(ValueError):
        ds.consolidate(answers, n_classes, max_rounds=max_rounds)


def test_consolidating_5000_objects_finishes() -> None:
    rng = np.random.default_rng(4)
    team = wf.make_workers([f"user{i}" for i in range(12)], REGION, seed=4)
    answers: list[Answer] = []
    for index, truth in enumerate(rng.integers(10, size=5000).tolist()):
        for w in rng.choice(len(team), size=3, replace=False).tolist():
            worker = team[w]
            answers.append((index, worker.worker_id, wf.answer(worker, truth, 10, None, rng)))
    consolidated = ds.consolidate(answers, 10)
    assert len(consolidated) == 5000
    assert all(0 <= r.label < 10 for r in consolidated.values())
