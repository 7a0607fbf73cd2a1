"""Person labelers: a local labeling job leaves their tasks to them, and their answers join it.

The queue (person_jobs, take_task, submit_answer, pending) is what the labeling portal calls; the
tests call it on a local SageMaker in this process (talking to the session's local AWS for S3,
IAM and Cognito), and move its clock instead of sleeping.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from helpers import local, results
from helpers.local.config import LocalConfig
from helpers.local.core import Backend, ServiceError
from helpers.local.sagemaker.routes import SageMaker
from helpers.local.standins.workers import worker_id
from tests.support import REGION, labeling_job_request, prepare_run_inputs, workforce_pool

BUCKET = "gt-person-labelers-tests"
PREFIX = "people/demo"
BASE = f"s3://{BUCKET}/{PREFIX}"
GROUP = "people-tests-labelers"
ROLE_ARN = "arn:aws:iam::123456789012:role/people-tests-role"
USERS = ["pat", "quinn", "rue"]
pytestmark = pytest.mark.usefixtures("local_aws_url")


@pytest.fixture(scope="module")
def inputs(local_aws_url: str) -> dict[str, Any]:
    """A run's inputs (6 images), a role, and a group of three labelers in the workforce pool."""
    prepared = prepare_run_inputs(BUCKET, PREFIX, "people-tests-role", GROUP, USERS, 3)
    pool, client_id = workforce_pool(REGION)
    return {"pool": pool, "client_id": client_id, "settings": prepared["settings"]}


def local_sagemaker(url: str, inputs: dict[str, Any], people: tuple[str, ...]) -> SageMaker:
    """A local SageMaker in this process, with the workforce and a team of the three labelers."""
    sagemaker = SageMaker(Backend(url), LocalConfig(person_labelers=people))
    cognito = {"UserPool": inputs["pool"], "ClientId": inputs["client_id"]}
    sagemaker.call(
        "CreateWorkforce", {"WorkforceName": "default", "CognitoConfig": cognito}, REGION
    )
    member = {"CognitoMemberDefinition": {**cognito, "UserGroup": GROUP}}
    sagemaker.call(
        "CreateWorkteam",
        {"WorkteamName": "people", "Description": "three", "MemberDefinitions": [member]},
        REGION,
    )
    return sagemaker


def team_arn(sagemaker: SageMaker) -> str:
    return str(
        sagemaker.call("DescribeWorkteam", {"WorkteamName": "people"}, REGION)["Workteam"][
            "WorkteamArn"
        ]
    )


def create_job(sagemaker: SageMaker, name: str, **human: Any) -> None:
    request = labeling_job_request(name, BASE, ROLE_ARN, team_arn(sagemaker), **human)
    sagemaker.call("CreateLabelingJob", request, REGION)


def describe(sagemaker: SageMaker, name: str) -> dict[str, Any]:
    return sagemaker.call("DescribeLabelingJob", {"LabelingJobName": name}, REGION)


def read(uri: str) -> str:
    bucket, _, key = uri[5:].partition("/")
    s3 = boto3.client("s3", region_name=REGION)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def worker_responses(name: str) -> list[dict[str, Any]]:
    s3 = boto3.client("s3", region_name=REGION)
    prefix = f"{PREFIX}/output/{name}/annotations/worker-response/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return [json.loads(read(f"s3://{BUCKET}/{key}")) for key in keys]


def started(sagemaker: SageMaker, name: str) -> None:
    """Move past Initializing (30 simulated seconds) and every simulated answer."""
    sagemaker.clock.advance(60)
    assert describe(sagemaker, name)["LabelingJobStatus"] == "InProgress"


def test_a_persons_answers_join_the_job_and_its_output(
    local_aws_url: str, inputs: dict[str, Any]
) -> None:
    sagemaker = local_sagemaker(local_aws_url, inputs, ("pat",))
    labeling = sagemaker.labeling
    create_job(sagemaker, "people-all")
    started(sagemaker, "people-all")
    objects = len(read(f"{BASE}/train.manifest").splitlines())

    assert labeling.person_jobs(REGION, "quinn", [GROUP]) == []  # simulated, not a person
    assert labeling.person_jobs(REGION, "pat", ["another-team"]) == []
    (job,) = labeling.person_jobs(REGION, "pat", [GROUP])
    assert job["job_name"] == "people-all" and job["tasks_waiting"] == objects
    assert job["title"] == "Mini image classification" and job["time_limit_seconds"] == 300
    sagemaker.clock.advance(3600)  # an hour later nobody answered: the job waits for pat
    waiting = describe(sagemaker, "people-all")
    assert waiting["LabelingJobStatus"] == "InProgress"
    assert waiting["LabelCounters"]["Unlabeled"] == objects
    assert labeling.pending(REGION) == [
        {
            "job_name": "people-all",
            "username": "pat",
            "worker_id": worker_id("pat", REGION),
            "tasks_waiting": objects,
            "leased": 0,
            "workteam_arn": team_arn(sagemaker),
        }
    ]

    chosen: dict[str, str] = {}
    for number in range(1, objects + 1):
        task = labeling.take_task(REGION, "people-all", "pat")
        assert task is not None and (task.index, task.total) == (number, objects)
        assert labeling.take_task(REGION, "people-all", "pat") == task  # one at a time
        assert task.labels == ["Musical Instrument", "Fruit"]
        assert task.ui_template_uri == f"{BASE}/instructions.template"
        label = task.labels[number % 2]
        labeling.submit_answer(
            REGION, "people-all", "pat", task.task_id, {"my-answer": {"label": label}}
        )
        chosen[task.source_ref] = label
    assert labeling.take_task(REGION, "people-all", "pat") is None
    assert labeling.pending(REGION) == []
    sagemaker.clock.advance(1)
    done = describe(sagemaker, "people-all")
    assert done["LabelingJobStatus"] == "Completed"
    assert done["LabelCounters"]["TotalLabeled"] == objects

    lines = [
        json.loads(x) for x in read(done["LabelingJobOutput"]["OutputDatasetS3Uri"]).splitlines()
    ]
    assert len(lines) == objects and all("category" in line for line in lines)
    responses = worker_responses("people-all")
    assert len(responses) == objects
    for response in responses:
        workers = {a["workerId"]: a for a in response["answers"]}
        assert len(workers) == 3
        pat = workers[worker_id("pat", REGION)]
        assert list(pat["answerContent"]) == ["my-answer"]  # keyed by the element's name
        assert pat["answerContent"]["my-answer"]["label"] in chosen.values()
        assert pat["workerMetadata"]["identityData"]["identityProviderType"] == "Cognito"
    files = {
        f"people-all/annotations/worker-response/iteration-1/{i}/x.json": json.dumps(r)
        for i, r in enumerate(responses)
    }
    table = results.worker_summary(
        results.parse_worker_responses(files).assign(consolidated="Fruit")
    )  # notebook 04's per-worker table: the person beside the simulated workers
    assert sorted(table["worker"]) == sorted(worker_id(u, REGION) for u in USERS)
    assert table.set_index("worker").loc[worker_id("pat", REGION), "tasks"] == objects
    assert table["agreement"].notna().all()


def test_a_lease_runs_out_and_the_task_goes_back_to_the_queue(
    local_aws_url: str, inputs: dict[str, Any]
) -> None:
    sagemaker = local_sagemaker(local_aws_url, inputs, ("pat", "quinn"))
    labeling = sagemaker.labeling
    create_job(sagemaker, "people-lease", TaskTimeLimitInSeconds=60)
    started(sagemaker, "people-lease")
    first = labeling.take_task(REGION, "people-lease", "pat")
    assert first is not None and first.deadline == pytest.approx(sagemaker.clock.now() + 60, abs=2)
    (pending,) = [p for p in labeling.pending(REGION) if p["username"] == "pat"]
    assert pending["leased"] == 1

    sagemaker.clock.advance(61)  # real seconds: a person works in real time
    with pytest.raises(ServiceError, match="ran out"):
        labeling.submit_answer(
            REGION, "people-lease", "pat", first.task_id, {"a": {"label": "Fruit"}}
        )
    again = labeling.take_task(REGION, "people-lease", "pat")
    assert again is not None and again.task_id == first.task_id
    assert again.deadline > first.deadline

    refusals = {
        "not yours": ("quinn", again.task_id, {"a": {"label": "Fruit"}}),
        "not a category": ("pat", again.task_id, {"a": {"label": "Tiger"}}),
        "one element": ("pat", again.task_id, {"a": {"label": "Fruit"}, "b": {}}),
        "no task": ("pat", "forged", {"a": {"label": "Fruit"}}),
    }
    for message, (who, task_id, answer) in refusals.items():
        with pytest.raises(ServiceError, match=message):
            labeling.submit_answer(REGION, "people-lease", who, task_id, answer)
    labeling.submit_answer(REGION, "people-lease", "pat", again.task_id, {"a": {"label": "Fruit"}})
    with pytest.raises(ServiceError, match="already answered"):
        labeling.submit_answer(
            REGION, "people-lease", "pat", again.task_id, {"a": {"label": "Fruit"}}
        )


def test_unanswered_objects_expire_and_a_stop_ends_the_wait(
    local_aws_url: str, inputs: dict[str, Any]
) -> None:
    sagemaker = local_sagemaker(local_aws_url, inputs, ("rue",))
    labeling = sagemaker.labeling
    create_job(sagemaker, "people-expire", TaskAvailabilityLifetimeInSeconds=600)
    create_job(sagemaker, "people-stop")
    started(sagemaker, "people-expire")
    objects = len(read(f"{BASE}/train.manifest").splitlines())
    task = labeling.take_task(REGION, "people-expire", "rue")
    assert task is not None
    labeling.submit_answer(REGION, "people-expire", "rue", task.task_id, {"a": {"label": "Fruit"}})

    sagemaker.clock.advance(600)  # the availability lifetime, in real seconds
    expired = describe(sagemaker, "people-expire")
    assert expired["LabelingJobStatus"] == "Completed"
    counters = expired["LabelCounters"]
    assert (counters["TotalLabeled"], counters["FailedNonRetryableError"]) == (1, objects - 1)
    assert len(worker_responses("people-expire")) == 1

    sagemaker.call("StopLabelingJob", {"LabelingJobName": "people-stop"}, REGION)
    assert labeling.take_task(REGION, "people-stop", "rue") is None
    sagemaker.clock.advance(1)
    stopped = describe(sagemaker, "people-stop")
    assert stopped["LabelingJobStatus"] == "Stopped"
    assert stopped["LabelCounters"]["Unlabeled"] == objects
    assert labeling.pending(REGION) == []


def test_without_person_labelers_the_plan_is_unchanged_and_a_person_replaces_one_worker(
    local_aws_url: str, inputs: dict[str, Any]
) -> None:
    plain = local_sagemaker(local_aws_url, inputs, ())
    mixed = local_sagemaker(local_aws_url, inputs, ("quinn",))
    for sagemaker in (plain, mixed):
        create_job(sagemaker, "people-same")
    plain_job = plain.labeling._job(REGION, "people-same")
    mixed_job = mixed.labeling._job(REGION, "people-same")
    assert not plain_job.waits_for_people
    for ours, theirs in zip(plain_job.objects, mixed_job.objects, strict=True):
        assert [t.worker.username for t in theirs.people] == ["quinn"]
        others = [a for a in ours.answers if a.worker.username != "quinn"]
        assert theirs.answers == others


def test_connect_sends_the_setting_and_notebook_03_says_what_waits_for_whom(
    local_aws_url: str, inputs: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from helpers import following, people
    from helpers.aws import connect
    from helpers.local.admin import ADMIN_PREFIX, http
    from helpers.settings import load

    with pytest.raises(ValueError, match="list of Cognito usernames"):
        local.set_person_labelers(local_aws_url, "rue")  # type: ignore[arg-type]
    given = {**inputs["settings"].to_dict(), "labelers": ",".join(USERS), "person_labelers": "rue"}
    settings = load(given, env={})
    aws = connect(settings)
    sagemaker = aws.client("sagemaker")
    member = {
        "CognitoMemberDefinition": {
            "UserPool": inputs["pool"],
            "ClientId": inputs["client_id"],
            "UserGroup": GROUP,
        }
    }
    arn = sagemaker.create_workteam(
        WorkteamName="people-admin", Description="three", MemberDefinitions=[member]
    )["WorkteamArn"]
    try:
        assert http(f"{local_aws_url}{ADMIN_PREFIX}labeling/people") == {"person_labelers": ["rue"]}
        sagemaker.create_labeling_job(**labeling_job_request("people-admin", BASE, ROLE_ARN, arn))
    finally:
        connect(inputs["settings"])  # the default: no person labeler
        assert local.set_person_labelers(local_aws_url, []) == []
    local.drive_clock(local_aws_url, advance=60)
    objects = len(read(f"{BASE}/train.manifest").splitlines())
    pending = local.labeling_pending(local_aws_url, REGION)
    (mine,) = [p for p in pending if p["job_name"] == "people-admin"]
    assert (mine["username"], mine["tasks_waiting"]) == ("rue", objects)

    lines = people.sign_in_lines(aws, settings)
    link = people.portal_link(aws)
    assert link and lines[0] == f"Label it yourself: open {link} and sign in as"
    assert lines[1].lstrip().startswith("rue")
    job = sagemaker.describe_labeling_job(LabelingJobName="people-admin")
    state = following.RunState(labeling={"train": job})
    told: set[tuple[str, str]] = set()
    note = following._with_people(aws, state, "train 0/4", told)
    assert note == f"train 0/4; waiting for people: rue {objects} tasks"
    following._with_people(aws, state, "train 0/4", told)  # the link is said once
    assert capsys.readouterr().out.splitlines() == [
        f"labeling job people-admin waits for people: {objects} tasks for rue "
        f"(open {link} and sign in as rue)"
    ]
    sagemaker.stop_labeling_job(LabelingJobName="people-admin")


def test_the_setting_names_labelers_and_is_refused_in_aws_mode() -> None:
    from helpers.aws import person_labeler_names
    from helpers.errors import InputError
    from helpers.settings import load

    settings = load({"person_labelers": "labeler-2, labeler-1"}, env={})
    assert person_labeler_names(settings) == ["labeler-2", "labeler-1"]
    assert person_labeler_names(load({}, env={})) == []
    with pytest.raises(InputError) as stranger:
        load({"person_labelers": "labeler-1,zoe"}, env={})
    assert stranger.value.setting == "person_labelers"
    assert "zoe" in stranger.value.rule and "labelers" in stranger.value.fix
    with pytest.raises(InputError) as aws:
        load({"mode": "aws", "bucket": "my-team-gt-bucket", "person_labelers": "ana"}, env={})
    assert aws.value.setting == "person_labelers" and "local mode only" in aws.value.rule
    from_env = load({}, env={"WALKTHROUGH_PERSON_LABELERS": "labeler-3"})
    assert from_env.person_labelers == "labeler-3"


def test_the_local_config_reads_person_labelers() -> None:
    from helpers.errors import InputError

    config = LocalConfig.from_environment({"WALKTHROUGH_LOCAL_PERSON_LABELERS": "rue, pat,rue"})
    assert config.person_labelers == ("pat", "rue")
    assert LocalConfig.from_environment({}).person_labelers == ()
    with pytest.raises(InputError):
        LocalConfig.from_environment({"WALKTHROUGH_LOCAL_PERSON_LABELERS": "a b"})


class _Door:
    """An Aws stand-in: the local AWS's admin views (None: aws mode) and a SageMaker client."""

    def __init__(self, views: dict[str, Any] | None) -> None:
        self.views = views

    def local_admin(self, route: str) -> Any:
        return None if self.views is None else self.views.get(route.split("?")[0])

    def client(self, service: str) -> Any:
        from types import SimpleNamespace

        workforce = {"SubDomain": "localhost:4566/portal/abc", "CognitoConfig": {"UserPool": "p"}}
        return SimpleNamespace(
            list_workforces=lambda: {"Workforces": [workforce]},
            meta=SimpleNamespace(endpoint_url="http://127.0.0.1:4566"),
        )


def test_sign_in_lines_show_the_temporary_password_in_local_mode_only() -> None:
    from helpers import people
    from helpers.settings import load

    settings = load({"person_labelers": "labeler-1,labeler-2"}, env={})
    invitation = {"UserPoolId": "p", "Region": REGION, "TemporaryPassword": "Tmp-1"}
    outbox = {
        "Invitations": [
            {**invitation, "Username": "labeler-1", "TemporaryPassword": "Old-0"},
            {**invitation, "Username": "labeler-1"},
            {**invitation, "Username": "labeler-3"},
            {**invitation, "Username": "labeler-2", "Region": "eu-west-1"},
        ]
    }
    local_mode = _Door({"health": {"ready": True}, "cognito/outbox": outbox})
    assert people.sign_in_lines(local_mode, settings) == [
        "Label it yourself: open http://localhost:4566/portal/abc and sign in as",
        "  labeler-1, temporary password Tmp-1 (you choose your own at the first sign-in)",
        "  labeler-2 (no temporary password on record: the user was made before this local AWS "
        "started, or already signed in with a password of their own)",
    ]
    assert people.sign_in_lines(_Door(None), settings) == []  # aws mode: Cognito e-mails them
    assert "set person_labelers" in people.sign_in_lines(local_mode, load({}, env={}))[0]


def test_a_job_whose_team_was_deleted_does_not_break_anyones_job_list(
    local_aws_url: str, inputs: dict[str, Any]
) -> None:
    """Clean-up deletes workteams while their jobs may still run: the portal's list goes on."""
    sagemaker = local_sagemaker(local_aws_url, inputs, ("pat",))
    cognito = {"UserPool": inputs["pool"], "ClientId": inputs["client_id"]}
    member = {"CognitoMemberDefinition": {**cognito, "UserGroup": GROUP}}
    sagemaker.call(
        "CreateWorkteam",
        {"WorkteamName": "gone", "Description": "deleted", "MemberDefinitions": [member]},
        REGION,
    )
    gone = sagemaker.call("DescribeWorkteam", {"WorkteamName": "gone"}, REGION)["Workteam"]
    request = labeling_job_request("people-gone", BASE, ROLE_ARN, gone["WorkteamArn"])
    sagemaker.call("CreateLabelingJob", request, REGION)
    create_job(sagemaker, "people-kept")
    started(sagemaker, "people-gone")
    started(sagemaker, "people-kept")
    sagemaker.call("DeleteWorkteam", {"WorkteamName": "gone"}, REGION)
    listed = sagemaker.labeling.person_jobs(REGION, "pat", [GROUP])
    assert [job["job_name"] for job in listed] == ["people-kept"]
