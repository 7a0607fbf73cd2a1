"""The Label Studio labeling step against a real Label Studio server and the local AWS.

The server is the test session's local Label Studio (`tests/label_studio_support`); its
simulated annotators are paused, and this module's annotators answer through Label Studio's own
API, as people's browsers do.
"""

from __future__ import annotations

import json
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from helpers import results
from helpers.labelstudio import api, config, output, step
from tests import label_studio_support

BUCKET = "label-studio-step-tests"
CLASSES = ["Fruit", "Tiger", "Snowman"]
#: The session's Label Studio (helper A's fixture): a real local server with annotators.
label_studio = label_studio_support.label_studio


@pytest.fixture
def studio(label_studio: Any, local_aws_url: str) -> Iterator[dict[str, Any]]:
    """The session's Label Studio, its simulated annotators paused: the test answers (per test:
    under pytest-xdist another module's notebook may set the person labelers in between)."""
    with label_studio_support.labeled_in_person(local_aws_url):
        yield {
            "url": label_studio.url,
            "admin": label_studio.client(),
            "token": label_studio.admin_token,
            "annotators": [
                (label_studio.client(name), label_studio.annotator(name)["id"])
                for name in label_studio_support.ANNOTATORS
            ],
        }


@pytest.fixture(scope="module")
def s3(local_aws_url: str) -> Any:
    client = boto3.client("s3", region_name="us-west-2")
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    return client


def stage(s3: Any, name: str, truths: list[str]) -> step.Job:
    """Images (one per truth), their manifest and class_labels.json; the job that labels them."""
    prefix = f"runs/{name}"
    lines = []
    for i, truth in enumerate(truths):
        key = f"{prefix}/images/{truth.lower()}-{i}.jpg"
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"\xff\xd8\xff" + bytes(64))
        lines.append(json.dumps({"source-ref": f"s3://{BUCKET}/{key}"}))
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/train.manifest", Body="\n".join(lines) + "\n")
    labels = json.dumps({"labels": [{"label": c} for c in CLASSES]})
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/class_labels.json", Body=labels)
    return step.Job(
        job_name=name,
        manifest_location=f"s3://{BUCKET}/{prefix}/train.manifest",
        output_location=f"s3://{BUCKET}/{prefix}/output",
        label_category_config=f"s3://{BUCKET}/{prefix}/class_labels.json",
        title="Mini image classification",
        description="Choose the category that best describes the image",
        workers=3,
        task_availability=30,
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    )


def truth_of(client: api.Client, task: dict[str, Any], truths: dict[str, str] | None) -> str:
    """The class an image shows: from `truths` (source-ref -> class), else its file name."""
    export = client.request("GET", f"/api/tasks/{task['id']}/?resolve_uri=false")
    source = export["data"]["image"]
    if truths is not None:
        return truths[source]
    name = source.rsplit("/", 1)[-1]
    return next(c for c in CLASSES if name.startswith(c.lower()))


def choose(label: str, attribute: str = "category") -> list[dict[str, Any]]:
    """An annotation's result: one choice."""
    return [
        {
            "from_name": attribute,
            "to_name": "image",
            "type": "choices",
            "value": {"choices": [label]},
        }
    ]


def annotate_all(
    client: api.Client,
    admin: api.Client,
    title: str,
    wrong: set[str] = frozenset(),
    limit: int | None = None,
    wait: float = 60,
    truths: dict[str, str] | None = None,
    classes: list[str] = CLASSES,
) -> int:
    """Wait for the project, then answer its tasks as `client` (wrong on `wrong` classes)."""
    deadline = time.monotonic() + wait
    project = None
    while project is None and time.monotonic() < deadline:
        project = next((p for p in admin.projects() if p["title"] == title), None)
        time.sleep(0.2)
    assert project is not None
    while admin.project(project["id"]).get("task_number") in (None, 0):
        time.sleep(0.2)
    done = 0
    answered: set[int] = set()
    total = admin.project(project["id"])["task_number"]
    deadline = time.monotonic() + wait
    while (limit is None or done < limit) and len(answered) < total:
        task = retried(client.next_task, project["id"])
        if task is None:  # none left for us, or the rest is locked by other annotators a while
            counts = admin.project(project["id"])
            if counts["finished_task_number"] >= total or time.monotonic() > deadline:
                return done
            time.sleep(0.3)
            continue
        truth = truth_of(client, task, truths)
        label = classes[(classes.index(truth) + 1) % len(classes)] if truth in wrong else truth
        retried(client.annotate, task["id"], choose(label), lead_time=2.5)
        answered.add(task["id"])
        done += 1
        time.sleep(0.05)
    return done


class Background:
    """Calls run in threads; `join()` waits for them and raises the first error of one."""

    def __init__(self, *calls: Any) -> None:
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._run, args=call, daemon=True) for call in calls
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, function: Any, *args: Any) -> None:
        try:
            function(*args)
        except BaseException as error:  # noqa: BLE001 - raised again by join()
            self.errors.append(error)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(30)
        if self.errors:
            raise self.errors[0]


def retried(call: Any, *args: Any, **kwargs: Any) -> Any:
    """A Label Studio call, tried again when the server answers 5xx (SQLite busy, say)."""
    for attempt in range(5):
        try:
            return call(*args, **kwargs)
        except api.LabelStudioError as error:
            if error.status < 500 or attempt == 4:
                raise
            time.sleep(0.5)


def read_json(s3: Any, uri: str) -> Any:
    return json.loads(step.read_text(s3, uri))


# --- the labeling config --------------------------------------------------------------------


def test_the_labeling_config_offers_the_classes_in_order_as_one_single_choice() -> None:
    xml = config.label_config(["Tiger", "Fruit", "Snow & man"], "category", "A <title>", "Do it")
    view = ET.fromstring(xml)
    (image,) = view.findall("Image")
    assert (image.get("name"), image.get("value")) == ("image", "$image")
    (choices,) = view.findall("Choices")
    assert choices.get("name") == "category" and choices.get("toName") == "image"
    assert choices.get("choice") == "single"
    assert [c.get("value") for c in choices.findall("Choice")] == ["Tiger", "Fruit", "Snow & man"]
    assert view.find("Header").get("value") == "A <title>"
    fields = config.project_fields(["Tiger", "Fruit"], "label", "job-1", "Pick one", 3)
    assert fields["maximum_annotations"] == 3 and fields["show_instruction"] is True
    assert "<li>Tiger</li><li>Fruit</li>" in str(fields["expert_instruction"])
    with pytest.raises(ValueError, match="2 distinct"):
        config.label_config(["Tiger", "tiger"], "category")


def test_the_storage_is_the_folder_of_each_bucket_s_objects() -> None:
    found = step.storage_locations(
        ["s3://b/p/images/a/1.jpg", "s3://b/p/images/b/2.jpg", "s3://c/x.jpg"]
    )
    assert found == [("b", "p/images/"), ("c", "")]


# --- against a real Label Studio ------------------------------------------------------------


def test_three_annotators_label_and_the_output_is_ground_truth_s(
    studio: dict[str, Any], s3: Any
) -> None:
    job = stage(s3, "ls-three-annotators", ["Fruit", "Tiger", "Snowman", "Fruit"])
    admin = studio["admin"]
    (one, _), (two, _), (three, _) = studio["annotators"]
    ids = {f"labelstudio.{user_id}" for _, user_id in studio["annotators"]}
    threads = Background(
        (annotate_all, one, admin, job.job_name),
        (annotate_all, two, admin, job.job_name),
        (annotate_all, three, admin, job.job_name, {"Tiger"}),  # wrong on the tiger
    )
    lines: list[str] = []
    described = step.run(admin, s3, job, poll_seconds=0.3, log=lines.append)
    threads.join()
    assert any("0/4 tasks" in line or "/4 tasks" in line for line in lines)
    assert any(line.startswith("Label here: http://127.0.0.1") for line in lines)

    manifest = step.read_text(s3, described["LabelingJobOutput"]["OutputDatasetS3Uri"])
    table = results.parse_output_manifest(manifest, "category", "train", job.job_name)
    truths = table["image_id"].str.split("-").str[0].str.capitalize()
    assert list(table["class_name"]) == list(truths)
    assert [CLASSES[i] for i in table["label"]] == list(truths)
    assert table["human_annotated"].all() and table["failure_reason"].isna().all()
    assert ((table["confidence"] > 0.5) & (table["confidence"] <= 1.0)).all()
    assert set(table["job"]) == {job.job_name}
    assert table["creation_date"].notna().all()

    project = next(p for p in admin.projects() if p["title"] == job.job_name)
    assert '<Header value="Mini image classification"/>' in project["label_config"]
    assert project["maximum_annotations"] == 3 and project["show_instruction"]
    assert job.description in project["expert_instruction"]
    assert described["LabelingJobStatus"] == "Completed"
    assert described["LabelCounters"]["TotalLabeled"] == 4
    assert described["LabelCounters"]["FailedNonRetryableError"] == 0
    assert described["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] == 3
    assert described["LabelStudio"]["url"] == studio["url"]
    written = read_json(s3, output.job_description_uri(job.output_location, job.job_name))
    assert written == described

    prefix = f"{job.output_location}/{job.job_name}"
    bucket, key = step.split_uri(prefix)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]]
    responses = [k for k in keys if "/annotations/worker-response/iteration-1/" in k]
    assert len(responses) == 4
    answers = json.loads(s3.get_object(Bucket=bucket, Key=responses[0])["Body"].read())["answers"]
    assert len(answers) == 3
    assert {a["workerId"] for a in answers} == ids
    assert all(a["timeSpentInSeconds"] == 2.5 for a in answers)
    assert any("consolidation-response/iteration-1/" in k for k in keys)
    assert any(k.endswith("manifests/intermediate/1/output.manifest") for k in keys)


def test_a_retried_step_attaches_to_its_project_and_imports_nothing_twice(
    studio: dict[str, Any], s3: Any
) -> None:
    job = stage(s3, "ls-retried", ["Fruit", "Tiger"])
    admin = studio["admin"]
    classes = CLASSES
    sources = [
        json.loads(x)["source-ref"] for x in step.read_text(s3, job.manifest_location).splitlines()
    ]
    first = step.ensure_project(admin, job, classes, print)
    step.connect_storage(admin, first["id"], job, sources)
    assert step.import_missing(admin, first["id"], sources, print) == 2
    # the pod is retried: the same project, the same storage, no second import
    again = step.ensure_project(admin, job, classes, print)
    assert again["id"] == first["id"]
    step.connect_storage(admin, again["id"], job, sources)
    assert step.import_missing(admin, again["id"], sources, print) == 0
    assert admin.project(first["id"])["task_number"] == 2
    assert len(admin.s3_storages(first["id"])) == 1
    # a project of that title made for something else (another labeling config) is not ours
    other = step.Job(**{**job.__dict__, "attribute": "label"})
    with pytest.raises(RuntimeError, match="another labeling config"):
        step.ensure_project(admin, other, classes, print)


def test_one_annotator_gives_confidence_zero(studio: dict[str, Any], s3: Any) -> None:
    job = stage(s3, "ls-one-annotator", ["Snowman", "Tiger"])
    job = step.Job(**{**job.__dict__, "workers": 1})
    admin = studio["admin"]
    (one, _), *_ = studio["annotators"]
    threads = Background((annotate_all, one, admin, job.job_name))
    described = step.run(admin, s3, job, poll_seconds=0.3, log=lambda _: None)
    threads.join()
    manifest = step.read_text(s3, described["LabelingJobOutput"]["OutputDatasetS3Uri"])
    table = results.parse_output_manifest(manifest, "category", "train", job.job_name)
    assert list(table["confidence"]) == [0.0, 0.0]
    assert list(table["class_name"]) == ["Snowman", "Tiger"]


def test_tasks_without_their_annotations_in_time_fail_and_cancelled_ones_do_not_count(
    studio: dict[str, Any], s3: Any
) -> None:
    job = stage(s3, "ls-expired", ["Fruit", "Tiger", "Snowman"])
    job = step.Job(**{**job.__dict__, "workers": 2, "task_availability": 4})
    admin = studio["admin"]
    (one, _), (two, _), (three, _) = studio["annotators"]

    def answer_first_only() -> None:
        annotate_all(one, admin, job.job_name)  # all three tasks
        project = next(p for p in admin.projects() if p["title"] == job.job_name)
        tasks = sorted(admin.tasks(project["id"]), key=lambda t: t["id"])
        two.annotate(tasks[0]["id"], choose("Fruit"), lead_time=1.0)  # the first gets its 2
        three.annotate(tasks[1]["id"], [], was_cancelled=True)  # a skip is not an answer

    threads = Background((answer_first_only,))
    lines: list[str] = []
    described = step.run(admin, s3, job, poll_seconds=0.3, log=lines.append)
    threads.join()
    assert any("task availability (4s) passed" in line for line in lines)
    manifest = step.read_text(s3, described["LabelingJobOutput"]["OutputDatasetS3Uri"])
    table = results.parse_output_manifest(manifest, "category", "train", job.job_name)
    assert list(table["class_name"].fillna("-")) == ["Fruit", "-", "-"]
    assert table["failure_reason"].isna().tolist() == [True, False, False]
    assert "1 of 2 annotations" in table["failure_reason"].iloc[1]
    assert described["LabelCounters"]["TotalLabeled"] == 1
    assert described["LabelCounters"]["FailedNonRetryableError"] == 2
    assert described["LabelingJobStatus"] == "Completed"


def test_a_title_longer_than_label_studio_takes_is_refused_first(
    studio: dict[str, Any], s3: Any
) -> None:
    job = stage(s3, "x" * 51, ["Fruit", "Tiger"])
    with pytest.raises(ValueError, match="at most 50"):
        step.run(studio["admin"], s3, job, log=lambda _: None)


def test_the_storage_endpoint_is_the_step_s_unless_it_is_aws_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    job = step.Job("j", "s3://b/m", "s3://b/o", "s3://b/c")
    aws_s3 = boto3.client("s3", region_name="us-west-2", endpoint_url=None)
    assert step.storage_endpoint(job, aws_s3) == ""
    local_s3 = boto3.client("s3", region_name="us-west-2", endpoint_url="http://127.0.0.1:9")
    assert step.storage_endpoint(job, local_s3) == "http://127.0.0.1:9"
    given = step.Job(**{**job.__dict__, "endpoint_url": "http://127.0.0.1:7"})
    assert step.storage_endpoint(given, local_s3) == "http://127.0.0.1:7"


# --- the pipeline on kfp.local, labeling in Label Studio ----------------------------------------


def test_the_pipeline_labels_in_label_studio_and_trains_on_kfp_local(
    studio: dict[str, Any], local_aws_url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from helpers import following, local, local_runner, records, submission
    from helpers.settings import load
    from tests.support import prepare_run_inputs

    found = prepare_run_inputs(
        "ls-pipeline-tests", "ls-pipeline/demo", "ls-pipeline-execution", "ls-group", ["ls-a"]
    )
    settings = load(
        {
            **found["settings"].to_dict(),
            "test_images_per_class": 0,
            "labeling_backend": "label_studio",
            "label_studio_url": studio["url"],
        },
        env={},
    )
    aws = found["aws"]
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", studio["token"])
    admin = studio["admin"]
    submitted = submission.submit_or_resume(settings, aws)
    record = submitted.record
    assert record.labeling == "label_studio"
    assert record.label_studio == {
        "url": studio["url"],
        "projects": {
            "train": record.names["train_job"],
            "validation": record.names["validation_job"],
        },
    }
    assert "team_name" not in record.arguments
    assert record.arguments["label_studio_url"] == studio["url"]
    # the simulated workforce answers (as in local mode), at the workers' accuracy and pace
    local.set_person_labelers(local_aws_url, [])
    state = following.follow(aws, record, submitted.finished, poll_seconds=0.5, label_studio=admin)
    assert state.training["TrainingJobStatus"] == "Completed"
    assert state.training["HyperParameters"]["num_classes"] == "2"
    assert {j["LabelingJobStatus"] for j in state.labeling.values()} == {"Completed"}
    produced = following.outputs(state)
    assert "workteam ARN" not in produced
    link = produced["train Label Studio project"]
    assert link.startswith(f"{studio['url']}/projects/") and link.endswith("/data")
    printed = capsys.readouterr().out
    assert f"Label Studio project {record.names['train_job']} (train): {link}" in printed
    steps = following.step_states(state, ended=True)
    assert "create-workteam" not in steps and steps["label-train"].startswith("succeeded")
    # the token is in no record, argument or log
    token = studio["token"]
    log = local_runner.log_path(record.run_id).read_text()
    assert "Label here: " in log
    saved = records.latest_record(aws.client("s3"), settings)
    assert saved is not None and saved.label_studio == record.label_studio
    for text in (log, json.dumps(record.arguments), json.dumps(record.extra), printed):
        assert token not in text


def test_planning_refuses_a_missing_url_and_titles_label_studio_cannot_take(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from helpers import planning

    # no local server to take the URL from (helpers.labelstudio.token would start one)
    monkeypatch.setitem(sys.modules, "helpers.labelstudio.token", None)
    from helpers.errors import InputError
    from helpers.names import RunNames
    from helpers.settings import load

    aws = {"mode": "aws", "bucket": "ls-planning", "labeling_backend": "label_studio"}
    with pytest.raises(InputError, match="label_studio_url") as caught:
        load(aws, env={})  # aws mode: no local server to take the URL from
    assert caught.value.setting == "label_studio_url"
    given = load({**aws, "label_studio_url": "https://ls.example/"}, env={})
    assert planning.label_studio_url(given) == "https://ls.example"
    long = RunNames("0a1b2c3d", "team", "t" * 51, "v", "training")
    with pytest.raises(InputError, match="at most 50") as caught:
        planning.require_project_titles(long)
    assert caught.value.setting == "ground_truth_train_job_name"
    assert planning.labeling_backend(load({"bucket": "ls-planning"}, env={})) == "ground_truth"


def test_an_annotator_counts_once_with_the_latest_answer_and_unknown_choices_do_not() -> None:
    def annotation(user: int, choice: str, at: str, cancelled: bool = False) -> dict[str, Any]:
        return {
            "completed_by": user,
            "result": choose(choice),
            "created_at": at,
            "lead_time": 1.0,
            "was_cancelled": cancelled,
        }

    task = {
        "data": {"image": "s3://b/x.jpg"},
        "annotations": [
            annotation(1, "Tiger", "2026-01-01T00:00:00Z"),
            annotation(1, "Fruit", "2026-01-01T00:01:00Z"),  # the same annotator, changed mind
            annotation(2, "Dragon", "2026-01-01T00:02:00Z"),  # not a class of the job
            annotation(3, "Fruit", "2026-01-01T00:03:00Z", cancelled=True),
        ],
    }
    answers = output.task_answers(task, CLASSES, "category")
    assert [(a.worker, CLASSES[a.label]) for a in answers] == [("labelstudio.1", "Fruit")]
    built = output.build([{"source-ref": "s3://b/x.jpg"}], [task], CLASSES, "category", "j", 2, 60)
    assert built.failed == 1 and "1 of 2 annotations" in built.manifest
