"""A person labels in the local portal, in a real browser (Chromium from Debian, by selenium).

Sign in (the first sign-in sets a new password), see the pending tasks, label five pictures by
clicking and five by keyboard, submit, reach the done page; a wrong password, another team's
job, forged forms and an unknown category are refused; a renamed element keys the answer by
its new name; a bucket without Ground Truth's CORS rule breaks the picture, as on AWS.
Screenshots of the sign-in, task and done pages go to the test's folder.

`person_job` creates a labeling job (CreateLabelingJob) whose tasks all wait for a new team's
people; what the person answered is read back from the completed job's worker-response files.
The last test runs the same on the session's local AWS, a separate process, as a user would.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from helpers import cognito
from helpers.local.standins.workers import worker_id
from tests.chromium_support import chromium
from tests.portal_support import (
    CORS_RULE,
    LABELS,
    PersonJob,
    PortalAws,
    Team,
    answers,
    make_person_job,
    make_team,
    portal_aws,
    waiting,
)
from tests.support import REGION, labeling_job_request, prepare_run_inputs, workforce_pool

FLAGS = [
    "--window-size=1280,1000",
]
NEW_PASSWORD = "Labeler-pass-42!"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium with a fresh profile (skips, saying why, where it is not installed)."""
    with chromium("portal-chromium-", FLAGS, browser_log=True) as driver:
        yield driver


@pytest.fixture
def aws(browser: Any) -> Iterator[PortalAws]:
    with portal_aws() as served:
        yield served
    browser.delete_all_cookies()


@pytest.fixture
def person_job(aws: PortalAws) -> Callable[..., tuple[Team, PersonJob]]:
    """Make a labeling job whose tasks wait for the people of a new team: (team, job)."""

    def make(name: str, group: str, users: list[str], **job: Any) -> tuple[Team, PersonJob]:
        team = make_team(aws, group, users)
        return team, make_person_job(aws, name, team, **job)

    return make


def portal_link(aws: PortalAws, team: Team) -> str:
    """The link the walkthrough prints: DescribeWorkteam's SubDomain, the endpoint's scheme."""
    sagemaker = aws.client("sagemaker")
    name = team.arn.rsplit("/", 1)[1]
    found = sagemaker.describe_workteam(WorkteamName=name)["Workteam"]
    link = cognito.sign_in_url(found, sagemaker.meta.endpoint_url)
    assert link is not None
    return link


def wait(browser: Any, css: str, seconds: float = 10) -> Any:
    """The visible element `css` once it shows."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(browser, seconds).until(
        expected_conditions.visibility_of_element_located(("css selector", css))
    )


def shown(browser: Any, css: str) -> str:
    """The visible text of `css`."""
    return str(wait(browser, css).text)


def see(browser: Any, css: str, text: str, seconds: float = 10) -> bool:
    """True once a visible `css` element's text contains `text` (after a page change)."""
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    def showing(_: Any) -> bool:
        try:
            return any(
                e.is_displayed() and text in e.text
                for e in browser.find_elements("css selector", css)
            )
        except WebDriverException:  # the page changed under us (a stale element): look again
            return False

    try:
        return bool(WebDriverWait(browser, seconds).until(showing))
    except TimeoutException:
        found = [e.text for e in browser.find_elements("css selector", css)]
        raise AssertionError(f"{text!r} not in {css} ({found}) on {browser.current_url}") from None


def picture_loaded(browser: Any) -> bool:
    """True once the task's picture has loaded and has a size; False once it failed to load."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    def state(_: Any) -> str | None:
        image = browser.find_element("css selector", "img.task-image")
        return image.get_attribute("data-state") and browser.execute_script(
            "var i = arguments[0]; return i.dataset.state + ':' + i.naturalWidth", image
        )

    done = WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,))
    loaded, width = str(done.until(state)).split(":")
    return loaded == "loaded" and int(width) > 0


def on_task(browser: Any, number: int) -> None:
    """Wait for the page of task `number` (of 10)."""
    assert see(browser, "#progress", f"Task {number} of 10 ")


def sign_in(browser: Any, link: str, username: str, password: str, new: str = "") -> None:
    """Sign in on the page the link opens; a first sign-in sets `new` as the password."""
    browser.get(link)
    wait(browser, "#username").clear()
    browser.find_element("css selector", "#username").send_keys(username)
    browser.find_element("css selector", "#password").send_keys(password)
    browser.find_element("css selector", "#sign-in").click()
    if new:
        wait(browser, "#new-password").send_keys(new)
        browser.find_element("css selector", "#confirm-password").send_keys(new)
        browser.find_element("css selector", "#set-password").click()


def start(browser: Any, title: str) -> None:
    """Press Start working on the job's row."""
    for row in wait(browser, "#jobs", 30).find_elements("css selector", "tbody tr"):
        if row.find_element("css selector", ".title").text == title:
            row.find_element("css selector", "button.start").click()
            return
    raise AssertionError(f"no job {title!r} in the list")


def test_a_person_labels_ten_pictures_in_a_real_browser(
    browser: Any, aws: PortalAws, person_job: Callable[..., tuple[Team, PersonJob]], tmp_path: Path
) -> None:
    team, job = person_job("animals", "labelers", ["ana"], objects=10)
    _, secret = person_job(
        "secret", "others", ["bo"], objects=2, title="Secret job of another team"
    )
    link = portal_link(aws, team)

    browser.get(link)
    assert see(browser, "h1", "Sign in")
    browser.save_screenshot(str(tmp_path / "sign-in.png"))
    sign_in(browser, link, "ana", "not-her-password")
    assert see(browser, "#error", "Incorrect username or password.")
    assert "Signed in as" not in browser.page_source

    sign_in(browser, link, "ana", team.users["ana"], new=NEW_PASSWORD)
    assert see(browser, "h1", "Labeling jobs")
    assert see(browser, ".who", "Signed in as ana")
    rows = [r.text for r in wait(browser, "#jobs").find_elements("css selector", "tbody tr")]
    assert len(rows) == 1 and "Label the animals" in rows[0] and "10" in rows[0]

    # another team's job: not listed, and a start form edited to name it is refused
    browser.execute_script("document.querySelector('input[name=job]').value = 'secret'")
    start(browser, "Label the animals")
    assert see(browser, "h1", "Not your task")
    assert see(browser, "#error", "has no task for ana")
    assert waiting(aws, secret, "bo") == (2, 0)  # nothing leased by ana's attempt
    browser.find_element("css selector", "#back").click()

    start(browser, "Label the animals")
    on_task(browser, 1)
    assert see(browser, ".classifier .header", "Which class does this picture belong to?")
    names = [e.text for e in browser.find_elements("css selector", ".category-name")]
    keys = [e.text for e in browser.find_elements("css selector", ".category kbd")]
    assert names == LABELS and keys == ["1", "2", "3"]
    assert see(browser, ".instructions", "Pick the one class")
    assert picture_loaded(browser), browser.get_log("browser")
    browser.find_element("css selector", "details.full summary").click()
    assert see(browser, "full-instructions", "Look at the whole picture")
    browser.save_screenshot(str(tmp_path / "task.png"))

    # Submit without a choice: the page says what to do, nothing is sent
    browser.find_element("css selector", "#submit-answer").click()
    assert see(browser, "#crowd-error", "Choose a category first")
    # a category the job does not have (the page edited): refused, the task stays
    browser.execute_script("document.querySelector('.category input').value = 'Unicorn'")
    browser.find_element("css selector", ".category").click()
    browser.find_element("css selector", "#submit-answer").click()
    assert see(browser, "#error", "'Unicorn' is not one of this job's categories")
    assert shown(browser, "#progress").startswith("Task 1 of 10")
    # a form whose anti-forgery token is wrong: refused
    browser.execute_script("document.querySelector('#answer-form [name=csrf]').value = 'forged'")
    browser.find_elements("css selector", ".category")[1].click()
    browser.find_element("css selector", "#submit-answer").click()
    assert see(browser, "h1", "Form refused")
    assert see(browser, "#error", "anti-forgery token")
    assert waiting(aws, job, "ana") == (10, 1)  # no answer taken
    browser.find_element("css selector", "#back").click()

    chosen = [LABELS[i % 3] for i in range(10)]
    browser.get(link + "/task")  # the leased task is still this person's
    for number, label in enumerate(chosen[:5]):  # five by clicking
        on_task(browser, number + 1)
        assert picture_loaded(browser), browser.get_log("browser")
        browser.find_elements("css selector", ".category")[LABELS.index(label)].click()
        browser.find_element("css selector", "#submit-answer").click()
    for number, label in enumerate(chosen[5:], start=5):  # five by keyboard: its number, Enter
        on_task(browser, number + 1)
        body = browser.find_element("css selector", "body")
        body.send_keys(str(LABELS.index(label) + 1))
        assert browser.find_elements("css selector", ".category input")[
            LABELS.index(label)
        ].is_selected()
        body.send_keys("\n")

    assert see(browser, "#done", "Thank you!")
    assert see(browser, "main", "Label the animals")
    browser.save_screenshot(str(tmp_path / "done.png"))
    ana = worker_id("ana", REGION)
    assert answers(aws, job) == {
        i: [(ana, {"crowd-image-classifier": {"label": label}})] for i, label in enumerate(chosen)
    }
    for name in ("sign-in", "task", "done"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000

    # a form posted by another site: refused (the session cookie is same-site, the Origin checked)
    start_url = f"{link}/start"
    browser.get(
        "data:text/html,<form id=f method=post action='" + start_url + "'>"
        "<input name=csrf value=x><input name=job value=animals><button id=go>go</button></form>"
    )
    browser.find_element("css selector", "#go").click()
    assert see(browser, "h1", "Form refused")


def test_the_answer_is_keyed_by_the_elements_name_and_a_bucket_needs_cors(
    browser: Any, aws: PortalAws, person_job: Callable[..., tuple[Team, PersonJob]]
) -> None:
    from helpers import gt_inputs

    renamed = gt_inputs.ui_template({}).replace(
        'name="crowd-image-classifier"', 'name="animal-category"'
    )
    team, job = person_job("renamed", "labelers", ["cy"], objects=1, template=renamed)
    make_person_job(
        aws, "no-cors", team, objects=1, bucket="no-cors-bucket", cors=False, title="No CORS"
    )
    link = portal_link(aws, team)
    sign_in(browser, link, "cy", team.users["cy"], new=NEW_PASSWORD)
    start(browser, "No CORS")
    assert not picture_loaded(browser), "a bucket without CORS must break the picture, as on AWS"
    assert see(browser, "#crowd-error", "CORS rule")
    browser.get(link + "/")
    start(browser, "Label the animals")
    assert picture_loaded(browser)
    browser.find_element("css selector", "body").send_keys("3")
    browser.find_element("css selector", "#submit-answer").click()
    assert see(browser, "#done", "Thank you!")
    cy = worker_id("cy", REGION)
    assert answers(aws, job) == {0: [(cy, {"animal-category": {"label": LABELS[2]}})]}


def test_a_persons_answers_join_the_labeling_job(browser: Any, local_aws_url: str) -> None:
    """End to end on the session's local AWS: a real labeling job leaves tasks to a person."""
    bucket, prefix, group = "gt-portal-e2e", "portal/e2e", "portal-e2e-labelers"
    base = f"s3://{bucket}/{prefix}"
    prepare_run_inputs(bucket, prefix, "portal-e2e-role", group, ["e2e-person"], 2)
    s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [CORS_RULE]})
    pool, client_id = workforce_pool(REGION)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def admin(route: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{local_aws_url}/_walkthrough/{route}",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        with opener.open(request, timeout=30) as answer:
            return json.loads(answer.read())

    admin("labeling/people", {"person_labelers": ["e2e-person"]})
    try:
        member = {"UserPool": pool, "ClientId": client_id, "UserGroup": group}
        team = sagemaker.create_workteam(
            WorkteamName="portal-e2e",
            Description="one person",
            MemberDefinitions=[{"CognitoMemberDefinition": member}],
        )["WorkteamArn"]
        request = labeling_job_request(
            "portal-e2e",
            base,
            "arn:aws:iam::123456789012:role/portal-e2e-role",
            team,
            TaskTitle="Portal end to end",
            NumberOfHumanWorkersPerDataObject=1,
        )
        sagemaker.create_labeling_job(**request)
    finally:
        admin("labeling/people", {"person_labelers": []})
    admin("clock", {"advance": 60})  # past Initializing
    for _ in range(60):  # the job is InProgress before the person looks (the job list shows it)
        status = sagemaker.describe_labeling_job(LabelingJobName="portal-e2e")["LabelingJobStatus"]
        if status != "Initializing":
            break
        time.sleep(0.5)
    assert status == "InProgress", status
    objects = len(
        s3.get_object(Bucket=bucket, Key=f"{prefix}/train.manifest")["Body"].read().splitlines()
    )
    mail = [m for m in admin("cognito/outbox")["Invitations"] if m["Username"] == "e2e-person"]
    found = sagemaker.describe_workteam(WorkteamName="portal-e2e")["Workteam"]
    link = cognito.sign_in_url(found, sagemaker.meta.endpoint_url)
    assert link is not None

    sign_in(browser, link, "e2e-person", mail[-1]["TemporaryPassword"], new=NEW_PASSWORD)
    start(browser, "Portal end to end")
    chosen = []
    for number in range(1, objects + 1):
        assert see(browser, "#progress", f"Task {number} of {objects} ")
        assert picture_loaded(browser)
        names = [e.text for e in browser.find_elements("css selector", ".category-name")]
        chosen.append(names[number % len(names)])
        browser.find_element("css selector", "body").send_keys(str(number % len(names) + 1))
        browser.find_element("css selector", "#submit-answer").click()
    assert see(browser, "#done", "Thank you!")

    admin("clock", {"advance": 5})
    job = sagemaker.describe_labeling_job(LabelingJobName="portal-e2e")
    assert job["LabelingJobStatus"] == "Completed"
    output = job["LabelingJobOutput"]["OutputDatasetS3Uri"].removeprefix(f"s3://{bucket}/")
    lines = [
        json.loads(x) for x in s3.get_object(Bucket=bucket, Key=output)["Body"].read().splitlines()
    ]
    assert sorted(line["category-metadata"]["class-name"] for line in lines) == sorted(chosen)
    listed = s3.list_objects_v2(
        Bucket=bucket, Prefix=f"{prefix}/output/portal-e2e/annotations/worker-response/"
    )["Contents"]
    responses = [
        json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()) for o in listed
    ]
    answers = [a for r in responses for a in r["answers"]]
    assert len(answers) == objects
    assert {a["workerId"] for a in answers} == {worker_id("e2e-person", REGION)}
    assert sorted(a["answerContent"]["crowd-image-classifier"]["label"] for a in answers) == sorted(
        chosen
    )
