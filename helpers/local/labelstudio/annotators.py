"""The local workforce in Label Studio: simulated annotators answer its tasks through its API.

Each annotator account of the local Label Studio (one per labeler) is a simulated worker of the
local Ground Truth (`standins.workers`): the same accuracy and pace ranges (`LocalConfig`), its
mistakes preferring similar classes, its time per task scaled by the local AWS's clock speed
(100 simulated seconds per real second by default), the truth being the Open Images class of the
image behind the task's `s3://` URI, as the local Ground Truth takes it. Each works as itself (its
own token): asks a project's `/next/` task, answers with one of the project's `<Choice>` values,
and submits it with `lead_time` (the seconds a person would have taken). Labelers named person
labelers (the local AWS's `labeling/people`, set from the `person_labelers` setting; else
`WALKTHROUGH_LOCAL_PERSON_LABELERS`) are left to people.

They run in a small process of their own (`python -m helpers.local.labelstudio annotate`),
started with the local Label Studio and stopped with it: the server outlives the notebook kernel
that started it, so its workforce must too. The process ends by itself once the server is gone.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import signal
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.labelstudio import api
from helpers.labelstudio.accounts import labeler_name
from helpers.local import admin
from helpers.local.config import LocalConfig
from helpers.local.openimages import mirror
from helpers.local.standins import workers as crowd

#: Real seconds an annotator waits before looking again when it found nothing to do.
IDLE_SECONDS = 1.0
#: Real seconds the server may be gone (its process ended) before the workforce stops.
GONE_AFTER = 10.0
#: The Open Images sources the local Ground Truth takes truths from (human-verified labels).
HUMAN_SOURCES = ("verification", "crowdsource-verification")
REGION = "us-east-1"
#: Real seconds the local AWS's answers (person labelers, clock speed) are reused.
FRESH_FOR = 1.0


@dataclass(frozen=True)
class Choices:
    """A project's single-choice question: its `<Choices>` name, image name and values."""

    from_name: str
    to_name: str
    values: tuple[str, ...]


def choices_of(label_config: str) -> Choices | None:
    """The first `<Choices>` of a label config and its `<Choice value=...>`s (None: no choices)."""
    try:
        root = ElementTree.fromstring(label_config)
    except ElementTree.ParseError:
        return None
    for element in root.iter("Choices"):
        values = tuple(c.get("value", "") for c in element.iter("Choice") if c.get("value"))
        if values:
            return Choices(element.get("name", ""), element.get("toName", ""), values)
    return None


def image_uri(data: dict[str, Any]) -> str | None:
    """The `s3://` URI of a task's image (the first such value of its data).

    A project with a connected storage gives its tasks' URIs as links Label Studio resolves
    (`/tasks/<id>/resolve/?fileuri=<the URI in base64>`): the URI is read from the link.
    """
    for value in data.values():
        if not isinstance(value, str):
            continue
        if "fileuri=" in value:
            encoded = urllib.parse.parse_qs(urllib.parse.urlsplit(value).query).get("fileuri")
            try:
                value = base64.b64decode(encoded[0]).decode() if encoded else value
            except (ValueError, UnicodeDecodeError):
                continue
        if value.startswith("s3://"):
            return value
    return None


def image_id(uri: str) -> str:
    """The Open Images ImageID of an image URI (its file name without the extension)."""
    return uri.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def truth(
    uri: str | None, values: tuple[str, ...], positives: dict[str, tuple[str, ...]]
) -> int | None:
    """The index of the class an image truly shows (None: unknown, or more than one)."""
    if uri is None:
        return None
    index = {v.lower(): i for i, v in enumerate(values)}
    found = {index[n] for n in positives.get(image_id(uri), ()) if n in index}
    return found.pop() if len(found) == 1 else None


def positives_from(annotations_csv: str, descriptions_csv: str) -> dict[str, tuple[str, ...]]:
    """ImageID -> lower-cased class names a person verified (as the local Ground Truth reads it)."""
    import pandas as pd

    annotations = pd.read_csv(io.StringIO(annotations_csv))
    names = pd.read_csv(io.StringIO(descriptions_csv), header=None, names=["mid", "name"])
    positive = annotations[
        (annotations["Confidence"] == 1) & annotations["Source"].isin(HUMAN_SOURCES)
    ]
    lowered = dict(zip(names["mid"], names["name"].str.lower(), strict=True))
    positive = positive.assign(name=positive["LabelName"].map(lowered)).dropna()
    return {k: tuple(v) for k, v in positive.groupby("ImageID")["name"]}


def seed_of(text: str) -> int:
    """A seed from a project's title (the local Ground Truth seeds from the job's ARN)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


@dataclass(frozen=True)
class Annotator:
    """One annotator account the workforce answers as."""

    email: str
    token: str
    user_id: int

    @property
    def labeler(self) -> str:
        """The labeler (Cognito username) this account stands for."""
        return labeler_name(self.email)


class LocalAws:
    """What the workforce asks the local AWS: person labelers, clock speed, Open Images truths."""

    def __init__(self, state: Path, fresh_for: float = FRESH_FOR) -> None:
        self.state = state
        self.fresh_for = fresh_for
        self._positives: dict[str, tuple[str, ...]] | None = None
        self._asked: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _cached(self, name: str, ask: Callable[[], Any]) -> Any:
        with self._lock:
            kept = self._asked.get(name)
            if kept and time.monotonic() - kept[0] < self.fresh_for:
                return kept[1]
        value = ask()
        with self._lock:
            self._asked[name] = (time.monotonic(), value)
        return value

    def url(self) -> str | None:
        """The local AWS's URL when it runs (from its state folder)."""
        from helpers.local import process

        def ask() -> str | None:
            info = process.status(self.state)
            return str(info["url"]) if info["running"] else None

        return self._cached("url", ask)

    def _admin(self, route: str) -> dict[str, Any] | None:
        url = self.url()
        if not url:
            return None
        try:
            return admin.http(f"{url}{admin.ADMIN_PREFIX}{route}")
        except (OSError, ValueError):
            return None

    def person_labelers(self) -> set[str]:
        """Who labels in person: the local AWS's list, else the environment's."""

        def ask() -> set[str]:
            answer = self._admin("labeling/people")
            if answer and "person_labelers" in answer:
                return set(answer["person_labelers"])
            return set(LocalConfig.from_environment().person_labelers)

        return set(self._cached("people", ask))

    def speed(self) -> float:
        """Simulated seconds per real second: the local AWS's clock, else the configured speed."""

        def ask() -> float:
            answer = self._admin("clock")
            if answer and "speed" in answer:
                return float(answer["speed"])
            return LocalConfig.from_environment().speed

        return float(self._cached("speed", ask))

    def positives(self) -> dict[str, tuple[str, ...]]:
        """The Open Images mirror's verified labels (empty while the local AWS does not run)."""
        if self._positives:
            return self._positives
        url = self.url()
        if not url:
            return {}
        from helpers.local.core import Backend

        s3 = Backend(endpoint_url=url).client("s3", mirror.REGION)

        def read(key: str) -> str:
            return s3.get_object(Bucket=mirror.BUCKET, Key=key)["Body"].read().decode()

        try:
            self._positives = positives_from(
                read(mirror.ANNOTATIONS_KEY), read(mirror.CLASS_DESCRIPTIONS_KEY)
            )
        except Exception:  # noqa: BLE001 - no mirror: every truth is unknown
            return {}
        return self._positives


class Workforce:
    """The simulated annotators of one Label Studio, each answering in a thread of its own."""

    def __init__(
        self,
        url: str,
        annotators: list[Annotator],
        aws: LocalAws,
        config: LocalConfig | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.url = url
        self.annotators = annotators
        self.aws = aws
        self.config = config or LocalConfig.from_environment()
        self.say = say
        self.stopping = threading.Event()
        self.answered = 0
        self._lock = threading.Lock()

    def worker(self, annotator: Annotator, project: dict[str, Any]) -> crowd.Worker:
        """The simulated worker an annotator is in a project (as in a local Ground Truth job)."""
        names = sorted({a.labeler for a in self.annotators})
        workers = crowd.make_workers(
            names,
            REGION,
            seed_of(str(project["title"])),
            accuracy=self.config.worker_accuracy,
            seconds=self.config.worker_seconds,
        )
        return next(w for w in workers if w.username == annotator.labeler)

    def work(self, annotator: Annotator) -> None:
        """Answer as one annotator until stopped: each project's next task, at the worker's pace."""
        client = api.Client(self.url, annotator.token, timeout=30)
        rngs: dict[int, np.random.Generator] = {}
        while not self.stopping.is_set():
            if self.aws.person_labelers() & {annotator.labeler, annotator.email}:
                self.stopping.wait(IDLE_SECONDS)
                continue
            try:
                answered = self._round(client, annotator, rngs)
            except api.LabelStudioError as error:
                self.say(f"{annotator.email}: {error}")
                answered = 0
            except Exception as error:  # noqa: BLE001 - one odd answer must not end the annotator
                self.say(f"{annotator.email}: {type(error).__name__}: {error}")
                answered = 0
            if not answered:
                self.stopping.wait(IDLE_SECONDS)

    def _round(
        self, client: api.Client, annotator: Annotator, rngs: dict[int, np.random.Generator]
    ) -> int:
        """One pass over the projects with work left: answer every task offered; how many."""
        answered = 0
        for project in client.projects():
            if self.stopping.is_set():
                break
            if project.get("finished_task_number", 0) >= project.get("task_number", 0):
                continue
            choices = choices_of(str(project.get("label_config", "")))
            if choices is None:
                continue
            worker = self.worker(annotator, project)
            rng = rngs.setdefault(
                project["id"],
                np.random.default_rng([seed_of(str(project["title"])), annotator.user_id]),
            )
            similarity = crowd.similarity_matrix(choices.values)
            while not self.stopping.is_set():
                task = client.next_task(project["id"])
                if task is None:
                    break
                known = truth(image_uri(task.get("data", {})), choices.values, self.aws.positives())
                label = crowd.answer(worker, known, len(choices.values), similarity, rng)
                spent = crowd.answer_time(worker, rng)
                if self.stopping.wait(spent / self.aws.speed()):
                    break
                client.annotate(
                    task["id"],
                    [
                        {
                            "from_name": choices.from_name,
                            "to_name": choices.to_name,
                            "type": "choices",
                            "value": {"choices": [choices.values[label]]},
                        }
                    ],
                    lead_time=round(spent, 3),
                )
                answered += 1
                with self._lock:
                    self.answered += 1
        return answered

    def run(
        self,
        alive: Callable[[], bool],
        annotators: Callable[[], list[Annotator]] | None = None,
    ) -> None:
        """Work until stopped, or until `alive()` has said no for GONE_AFTER seconds.

        `annotators` (asked every second) gives the accounts to answer as, when some are added.
        """
        threads: dict[str, threading.Thread] = {}
        last_alive = time.monotonic()
        while True:
            for annotator in annotators() if annotators else self.annotators:
                if annotator.email not in threads:
                    if annotator not in self.annotators:
                        self.annotators.append(annotator)
                    thread = threading.Thread(
                        target=self.work, args=(annotator,), name=annotator.email, daemon=True
                    )
                    thread.start()
                    threads[annotator.email] = thread
            if self.stopping.wait(1.0):
                break
            if alive():
                last_alive = time.monotonic()
            elif time.monotonic() - last_alive > GONE_AFTER:
                self.say("Label Studio does not answer any more: the simulated annotators stop")
                self.stopping.set()
        for thread in threads.values():
            thread.join(timeout=30)


def annotators_of(account: dict[str, Any]) -> list[Annotator]:
    """The annotator accounts of the local Label Studio's account record."""
    return [
        Annotator(email, spec["token"], int(spec["id"]))
        for email, spec in sorted(account.get("annotators", {}).items())
    ]


def run(folder: Path) -> None:
    """The annotators' process: answer the local Label Studio's tasks until it stops."""
    from helpers.local.labelstudio import server

    account = json.loads((folder / server.ACCOUNT_FILE).read_text())

    def current() -> list[Annotator]:
        try:
            return annotators_of(json.loads((folder / server.ACCOUNT_FILE).read_text()))
        except (OSError, ValueError):
            return []

    workforce = Workforce(
        account["url"], [], LocalAws(folder.parent), say=lambda line: print(line, flush=True)
    )
    signal.signal(signal.SIGTERM, lambda *_: workforce.stopping.set())
    print(f"simulated annotators answer {account['url']}", flush=True)
    workforce.run(lambda: server.serving(folder, account["url"]), current)
    print(f"simulated annotators stopped after {workforce.answered} answers", flush=True)
    sys.stdout.flush()
