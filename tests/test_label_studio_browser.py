"""A person labels in the local Label Studio, in a real browser (Debian's Chromium, by selenium).

The pipeline's labeling step (`helpers.labelstudio.step.run`) makes a project of three pictures in
the local AWS's S3 (a bucket with Ground Truth's CORS rule, connected as S3 storage with presigned
URLs); labeler-1 signs in at Label Studio's own login page with the password the local server
gave it, labels the three tasks and submits each. The labeling page's screenshot (in the test's
folder) shows the picture and the choices; the three annotations are labeler-1's in the export,
and the step writes them to Ground Truth's output manifest (one annotator: confidence 0.00).
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from helpers import results
from helpers.labelstudio import step
from helpers.local.openimages import mirror
from tests import label_studio_support
from tests.chromium_support import chromium
from tests.label_studio_support import LabelStudio

label_studio = label_studio_support.label_studio  # the session's Label Studio (a fixture)

FLAGS = [
    "--window-size=1280,1100",
    # the page may reach 127.0.0.1 (Label Studio, the local AWS) and nothing else
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
CLASSES = ["Musical instrument", "Fruit", "Cheetah", "Tiger", "Snowman"]
PICTURES = ["Cheetah", "Fruit", "Snowman"]
CORS_RULE = {
    "AllowedHeaders": [],
    "AllowedMethods": ["GET"],
    "AllowedOrigins": ["*"],
    "ExposeHeaders": ["Access-Control-Allow-Origin"],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium with a fresh profile (skips, saying why, where it is not installed)."""
    with chromium("label-studio-chromium-", FLAGS) as driver:
        yield driver


@pytest.fixture
def in_person(local_aws_url: str) -> Iterator[None]:
    """Every annotator labels in person (the simulated ones pause); reset after."""
    with label_studio_support.labeled_in_person(local_aws_url):
        yield


def stage(local_aws_url: str, name: str) -> tuple[Any, step.Job, dict[str, str]]:
    """A bucket with the CORS rule, three mirror pictures, their manifest and classes: the job."""
    s3 = boto3.client("s3", region_name="us-west-2", endpoint_url=local_aws_url)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [CORS_RULE]})
    truth: dict[str, str] = {}
    for picture in mirror.plan():
        wanted = [
            c for c in PICTURES if mirror.CLASSES[c] == picture.mid and c not in truth.values()
        ]
        if wanted:
            key = f"images/{picture.image_id}.jpg"
            source = {
                "Bucket": mirror.BUCKET,
                "Key": f"{mirror.IMAGE_PREFIX}{picture.image_id}.jpg",
            }
            s3.copy_object(Bucket=name, Key=key, CopySource=source)
            truth[f"s3://{name}/{key}"] = wanted[0]
    manifest = "".join(json.dumps({"source-ref": uri}) + "\n" for uri in truth)
    s3.put_object(Bucket=name, Key="train.manifest", Body=manifest.encode())
    labels = json.dumps({"labels": [{"label": c} for c in CLASSES]})
    s3.put_object(Bucket=name, Key="class_labels.json", Body=labels.encode())
    job = step.Job(
        job_name=name,
        manifest_location=f"s3://{name}/train.manifest",
        output_location=f"s3://{name}/output",
        label_category_config=f"s3://{name}/class_labels.json",
        title="Mini image classification",
        description="Choose the category that best describes the image",
        workers=1,
        task_availability=120,
        endpoint_url=local_aws_url,
    )
    return s3, job, truth


def wait(browser: Any, css: str, seconds: float = 20) -> Any:
    """The visible element `css` once it shows."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(browser, seconds).until(
        expected_conditions.visibility_of_element_located(("css selector", css))
    )


def until(browser: Any, check: Any, seconds: float = 20) -> Any:
    """What `check(browser)` gives once it is true (page changes under it are retried)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(browser, seconds, ignored_exceptions=(WebDriverException,)).until(check)


def picture_width(browser: Any) -> int:
    """The natural width of the task's picture once it has loaded (0 until then)."""
    image = browser.find_element("css selector", "img[alt='image']")
    return int(browser.execute_script("return arguments[0].naturalWidth", image) or 0)


def shown_task(browser: Any) -> int:
    """The id of the task the labeling page shows."""
    text = browser.find_element("css selector", ".lsf-current-task__task-id").text
    return int(text.split()[0])


def picture_is_drawn(screenshot: bytes, box: dict[str, float]) -> bool:
    """Whether the screenshot shows a picture (not a blank area) where the image element is."""
    from PIL import Image, ImageStat

    shot = Image.open(io.BytesIO(screenshot)).convert("L")
    x, y = int(box["x"]), int(box["y"])
    area = shot.crop((x, y, x + int(box["width"]), y + int(box["height"])))
    return bool(area.width and area.height and ImageStat.Stat(area).stddev[0] > 10)


def test_an_annotator_labels_three_tasks_in_the_browser_and_they_reach_the_manifest(
    browser: Any,
    label_studio: LabelStudio,
    local_aws_url: str,
    in_person: None,
    tmp_path: Path,
) -> None:
    name = f"ls-browser-{secrets.token_hex(3)}"
    s3, job, truth = stage(local_aws_url, name)
    client = label_studio.client()
    ran: dict[str, Any] = {}
    labeling = threading.Thread(
        target=lambda: ran.update(described=step.run(client, s3, job, poll_seconds=0.3, log=print))
    )
    labeling.start()
    try:
        deadline = time.monotonic() + 20
        project = None
        while project is None and time.monotonic() < deadline:
            found = [p for p in client.projects() if p["title"] == name and p["task_number"] == 3]
            project = found[0] if found else time.sleep(0.3)
        assert project, "the labeling step made no project of three tasks"

        me = label_studio.annotator("labeler-1")
        browser.get(f"{label_studio.url}/user/login/")
        wait(browser, "input[name=email]").send_keys("labeler-1@walkthrough.local")
        browser.find_element("css selector", "input[name=password]").send_keys(me["password"])
        browser.find_element("css selector", "button[type=submit]").click()
        until(browser, lambda b: "/user/login" not in b.current_url)

        browser.get(f"{label_studio.url}/projects/{project['id']}/data?labeling=1")
        # the project's instructions open first (as on Ground Truth's worker UI): read, close
        instructions = wait(browser, ".lsf-modal-ls_visible")
        assert "Choose the category that best describes the image" in instructions.text
        instructions.find_element("css selector", "button[aria-label='Close modal']").click()
        until(browser, lambda b: not b.find_elements("css selector", ".lsf-modal-ls_visible"))
        chosen: dict[int, str] = {}
        for number in range(3):
            until(browser, lambda b: picture_width(b) > 0 and shown_task(b) not in chosen, 30)
            task = shown_task(browser)
            data = client.request("GET", f"/api/tasks/{task}/?resolve_uri=false")["data"]
            label = truth[data["image"]]
            choices = wait(browser, ".lsf-choices")
            option = choices.find_element("xpath", f".//label[.//input[@name='{label}']]")
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", option)
            option.click()
            picked = f"input[name='{label}']"
            until(browser, lambda b, css=picked: b.find_element("css selector", css).is_selected())
            if number == 0:
                shot = browser.get_screenshot_as_png()
                (tmp_path / "label-studio-labeling.png").write_bytes(shot)
                assert all(c in choices.text for c in CLASSES), choices.text
                image = browser.find_element("css selector", "img[alt='image']")
                assert picture_width(browser) > 0
                assert picture_is_drawn(shot, {**image.rect, **_on_screen(browser, image)})
            chosen[task] = label
            browser.find_element("css selector", "[data-testid='bottombar-submit-button']").click()
        labeling.join(timeout=30)
        assert not labeling.is_alive(), "the labeling step did not see the three annotations"
    finally:
        if labeling.is_alive() and project:  # end the step: its project goes away
            client.delete_project(project["id"])
            labeling.join(timeout=30)

    export = client.export(project["id"])
    assert {t["id"]: [a["completed_by"] for a in t["annotations"]] for t in export} == {
        task: [me["id"]] for task in chosen
    }
    described = ran["described"]
    assert described["LabelingJobStatus"] == "Completed"
    manifest = step.read_text(s3, described["LabelingJobOutput"]["OutputDatasetS3Uri"])
    table = results.parse_output_manifest(manifest, "category", "train", name)
    assert dict(zip(table["image"], table["class_name"], strict=True)) == truth
    assert list(table["confidence"]) == [0.0, 0.0, 0.0]  # one annotator, as Ground Truth says
    assert table["human_annotated"].all()


def _on_screen(browser: Any, element: Any) -> dict[str, float]:
    """The element's box in the viewport (what a screenshot shows)."""
    return dict(
        browser.execute_script(
            "var r = arguments[0].getBoundingClientRect();"
            "return {x: r.left, y: r.top, width: r.width, height: r.height};",
            element,
        )
    )
