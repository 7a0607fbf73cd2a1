"""The simulated annotators answer a real Label Studio's tasks as the local workforce does."""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from helpers.local.config import LocalConfig
from helpers.local.labelstudio import annotators
from helpers.local.openimages import mirror
from tests import label_studio_support
from tests.label_studio_support import LabelStudio

label_studio = label_studio_support.label_studio  # the session's Label Studio (a fixture)

CLASSES = list(mirror.CLASSES)  # Musical instrument, Fruit, Cheetah, Tiger, Snowman


def label_config(classes: list[str]) -> str:
    """A single-choice image classification config (as the labeling step writes one)."""
    choices = "".join(f'<Choice value="{c}"/>' for c in classes)
    return (
        '<View><Image name="image" value="$image"/>'
        f'<Choices name="category" toName="image" choice="single">{choices}</Choices></View>'
    )


def mirror_images(per_class: int, classes: list[str] | None = None) -> list[tuple[str, str]]:
    """(s3 URI, true class) of the first pictures of each class of the Open Images mirror."""
    wanted = {mirror.CLASSES[c]: c for c in classes or CLASSES}
    taken: Counter[str] = Counter()
    found = []
    for picture in mirror.plan():
        if picture.mid in wanted and taken[picture.mid] < per_class:
            taken[picture.mid] += 1
            uri = f"s3://{mirror.BUCKET}/{mirror.IMAGE_PREFIX}{picture.image_id}.jpg"
            found.append((uri, wanted[picture.mid]))
    return found


def make_project(ls: LabelStudio, title: str, images: list[tuple[str, str]], per_task: int) -> int:
    """A project of one task per image, asking `per_task` annotations of each."""
    client = ls.client()
    project = client.create_project(
        title=title, label_config=label_config(CLASSES), maximum_annotations=per_task
    )
    client.import_tasks(project["id"], [{"data": {"image": uri}} for uri, _ in images])
    return int(project["id"])


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait until `check()` holds, or fail saying what did not happen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    pytest.fail(f"within {seconds:.0f}s: {what}")


def answers(ls: LabelStudio, project: int) -> dict[str, list[dict[str, Any]]]:
    """Each task's image URI -> its annotations (from Label Studio's export)."""
    return {t["data"]["image"]: t["annotations"] for t in ls.client().export(project)}


def chosen(annotation: dict[str, Any]) -> str:
    """The class an annotation chose."""
    return str(annotation["result"][0]["value"]["choices"][0])


@pytest.fixture
def people(local_aws_url: str) -> Iterator[Callable[[list[str]], None]]:
    """Name person labelers on the local AWS (the simulated annotators read them); reset after.

    Accounts other tests of the session added are always left to people: only labeler-1..3
    answer."""
    others = label_studio_support.other_accounts()
    with contextlib.ExitStack() as stack:
        yield lambda names: stack.enter_context(
            label_studio_support.labeled_in_person(local_aws_url, [*names, *others])
        )


def test_the_choices_come_from_the_label_config() -> None:
    found = annotators.choices_of(label_config(["Fruit", "Tiger"]))
    assert found == annotators.Choices("category", "image", ("Fruit", "Tiger"))
    assert annotators.choices_of("<View><Image name='i' value='$i'/></View>") is None
    assert annotators.choices_of("not xml") is None
    positives = {"abc": ("tiger",)}
    assert annotators.truth("s3://b/test/abc.jpg", ("Fruit", "Tiger"), positives) == 1
    assert annotators.truth("s3://b/test/xyz.jpg", ("Fruit", "Tiger"), positives) is None
    # a task of a project with a connected storage: Label Studio gives a link it resolves
    link = "/tasks/7/resolve/?fileuri=czM6Ly9iL3Rlc3QvYWJjLmpwZw=="  # s3://b/test/abc.jpg
    assert annotators.image_uri({"image": link}) == "s3://b/test/abc.jpg"
    assert annotators.image_uri({"text": "hello", "n": 3}) is None


def test_three_annotators_label_every_task_with_their_accuracy_and_pace(
    label_studio: LabelStudio, people: Callable[[list[str]], None]
) -> None:
    people([])  # labeler-1..3 answer, nobody else
    images = mirror_images(per_class=4)  # 20 pictures
    project = make_project(label_studio, "annotators-accuracy", images, per_task=3)
    client = label_studio.client()
    wait_for(
        lambda: label_studio_support.fully_answered(client, project, 3),
        120,
        "every task has its three annotations",
    )
    truth = dict(images)
    ids = {label_studio.annotator(n)["id"] for n in label_studio_support.ANNOTATORS}
    right: Counter[int] = Counter()
    given: Counter[int] = Counter()
    lead_times = []
    for uri, found in answers(label_studio, project).items():
        assert len(found) == 3
        assert {a["completed_by"] for a in found} == ids  # each annotator once, as itself
        for annotation in found:
            given[annotation["completed_by"]] += 1
            right[annotation["completed_by"]] += chosen(annotation) == truth[uri]
            lead_times.append(annotation["lead_time"])
    # accuracy drawn from 0.85-0.95 per annotator: over 20 answers each, rarely under 0.65
    assert all(given[i] == 20 for i in ids)
    assert all(right[i] / given[i] >= 0.65 for i in ids), {i: right[i] for i in ids}
    assert 0.75 <= sum(right.values()) / 60 <= 1.0
    # the seconds a person would have taken: medians drawn from 4-12 s, at least 1 s each
    low, high = LocalConfig().worker_seconds
    assert min(lead_times) >= 1.0
    assert low * 0.6 <= statistics.median(lead_times) <= high * 1.4
    client.delete_project(project)


def test_a_person_labeler_is_left_to_the_person_whose_answers_count(
    label_studio: LabelStudio, people: Callable[[list[str]], None]
) -> None:
    people(["labeler-3"])
    images = mirror_images(per_class=1)  # 5 pictures
    project = make_project(label_studio, "annotators-person", images, per_task=3)
    client = label_studio.client()
    wait_for(
        lambda: client.project(project)["total_annotations_number"] == 2 * len(images),
        30,
        "labeler-1 and labeler-2 answer every task",
    )
    time.sleep(2)  # and nobody else does
    person = label_studio.annotator("labeler-3")["id"]
    found = answers(label_studio, project)
    assert all(len(a) == 2 and person not in {x["completed_by"] for x in a} for a in found.values())
    assert client.project(project)["finished_task_number"] == 0
    # the person labels (here through the API, as the browser does) and completes every task
    me = label_studio.client("labeler-3")
    while task := me.next_task(project):
        me.annotate(
            task["id"],
            [{"from_name": "category", "to_name": "image", "type": "choices",
              "value": {"choices": ["Fruit"]}}],
            lead_time=3.0,
        )  # fmt: skip
    wait_for(
        lambda: label_studio_support.fully_answered(client, project, 3),
        10,
        "every task has its three annotations, the person's included",
    )
    client.delete_project(project)


class NoPeople(annotators.LocalAws):
    """The local AWS as the workforce sees it, with nobody labeling in person."""

    def person_labelers(self) -> set[str]:
        return set()


def test_mistakes_prefer_similar_classes_and_the_workforce_stops_when_told(
    label_studio: LabelStudio, people: Callable[[list[str]], None], tmp_path: Any
) -> None:
    from helpers.paths import state_dir

    people(list(label_studio_support.ANNOTATORS))  # the session's own workforce pauses
    images = mirror_images(per_class=15, classes=["Cheetah"])
    project = make_project(label_studio, "annotators-mistakes", images, per_task=3)
    workforce = annotators.Workforce(
        label_studio.url,
        annotators.annotators_of(label_studio.accounts),
        NoPeople(state_dir()),
        config=LocalConfig(worker_accuracy=(0.3, 0.3)),
        say=lambda line: None,
    )
    runner = threading.Thread(target=workforce.run, args=(lambda: True,))
    runner.start()
    client = label_studio.client()
    try:
        wait_for(
            lambda: label_studio_support.fully_answered(client, project, 3),
            60,
            "the in-process workforce answers every task",
        )
    finally:
        stopping = time.monotonic()
        workforce.stopping.set()
        runner.join(timeout=10)
    assert not runner.is_alive()
    assert time.monotonic() - stopping < 5
    picked = Counter(chosen(a) for found in answers(label_studio, project).values() for a in found)
    mistakes = {c: n for c, n in picked.items() if c != "Cheetah"}
    # a wrong answer is Tiger with odds 10:1:1:1 against each other class
    assert sum(mistakes.values()) >= 15
    assert mistakes.get("Tiger", 0) > 0.5 * sum(mistakes.values()), picked
    client.delete_project(project)
