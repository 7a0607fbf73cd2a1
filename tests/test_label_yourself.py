"""Label it yourself, as a user of `make lab` would: notebooks 01-04 with a person labeler.

Notebook 03 runs the pipeline with `person_labelers` set; meanwhile a person (a thread of this
test, over HTTP as a browser would) signs in to the local labeling portal with the temporary
password from the outbox, sets a new one, and answers each task as it appears. The run
completes, notebook 03 said where the tasks waited, and notebook 04's per-worker table lists the
person's workerId beside the simulated workers'. Kept small: 2 classes, 2 images each, no
prediction steps (about 35 s).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from helpers import local
from helpers.local.standins.workers import worker_id
from tests.portal_support import Client, label_waiting_tasks, sign_in
from tests.support import REGION, execute_notebook, notebook_outputs

PERSON = "me-labeler"
SIMULATED = ["sim-labeler-1", "sim-labeler-2"]
SETTINGS = {
    "PREFIX": "notebook-tests/label-yourself",
    "IMAGES_PER_CLASS": "2",
    "TEST_IMAGES_PER_CLASS": "0",  # no prediction steps: the labeling is what is tested
    "USER_GROUPS": "label-yourself-labelers",
    "LABELERS": ",".join([PERSON, *SIMULATED]),
    "PERSON_LABELERS": PERSON,
    "TEAM_NAME": "label-yourself-team",
}
READING_SECONDS = 3.5  # a person reads the job list a moment (notebook 03 polls every second)


class Person(threading.Thread):
    """A labeler in the local portal: signs in once, then answers each job's tasks as they come."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.answered, self.errors = url, threading.Event(), 0, []

    def _admin(self, route: str) -> Any:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{self.url}/_walkthrough/{route}", timeout=10) as answer:
            return json.loads(answer.read())

    def run(self) -> None:
        try:
            mail = [
                m for m in self._admin("cognito/outbox")["Invitations"] if m["Username"] == PERSON
            ]
            sagemaker = boto3.client("sagemaker", region_name=REGION)
            subdomain = sagemaker.list_workforces()["Workforces"][0]["SubDomain"]
            base = "/" + subdomain.split("/", 1)[1]
            client = Client(urlsplit(self.url).port or 0)
            signed = sign_in(client, base, PERSON, mail[-1]["TemporaryPassword"], "Me-labeler-42!")
            assert signed.status == 303, signed.text
            while not self.stop.is_set():
                if 'name="job"' in client.send("GET", f"{base}/").text:
                    self.stop.wait(READING_SECONDS)
                    self.answered += label_waiting_tasks(client, base)
                self.stop.wait(0.3)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            self.errors.append(exc)


@pytest.fixture
def labeling_settings(local_aws_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The run's settings in the environment (so every notebook has them); afterwards the
    session's local AWS leaves no task to people again (each notebook's connect set them)."""
    for name, value in SETTINGS.items():
        monkeypatch.setenv(f"WALKTHROUGH_{name}", value)
    yield
    local.set_person_labelers(local_aws_url, [])


@pytest.mark.usefixtures("labeling_settings")
def test_a_person_labels_notebook_03s_jobs_in_the_portal(
    local_aws_url: str, tmp_path: Path
) -> None:
    for name in ("01_prepare_dataset.ipynb", "02_check_aws_setup.ipynb"):
        execute_notebook(name, tmp_path)
    person = Person(local_aws_url)
    person.start()
    try:
        three = execute_notebook("03_run_pipeline.ipynb", tmp_path)
    finally:
        person.stop.set()
        person.join(timeout=30)
    assert not person.errors, person.errors
    assert person.answered == 4  # every object of both jobs (2 classes x 2 images)

    text = "".join("".join(o.get("text", "")) for o in notebook_outputs(three))
    link = re.search(r"Label it yourself: open (http://localhost:\d+/portal/\w+) and sign in", text)
    assert link, text
    assert f"  {PERSON}, temporary password " in text
    waits = re.findall(
        rf"labeling job (\S+) waits for people: \d+ tasks for {PERSON} \(open (\S+)", text
    )
    assert len(waits) == 2 and {w[1] for w in waits} == {link.group(1)}, text  # train, validation
    assert "**Done:** run" in json.dumps(notebook_outputs(three))

    four = execute_notebook("04_review_results.ipynb", tmp_path)
    html = "".join(
        "".join(o["data"].get("text/html", "")) for o in notebook_outputs(four) if "data" in o
    )
    tables = [t for t in html.split("</table>") if "median seconds" in t]  # the per-worker table
    assert len(tables) == 1, html
    for name in (PERSON, *SIMULATED):
        assert worker_id(name, REGION) in tables[0], name
