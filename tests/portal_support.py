"""The labeling portal's test bed: a local AWS in this process, with a task queue the test holds.

`FakeQueue` is the contract's task queue (`person_jobs`, `take_task`, `submit_answer`) as the
labeling jobs implement it; `make_person_job` stages a job's inputs (images, the walkthrough's
worker template, a bucket with Ground Truth's CORS rule), its private team in Cognito, and
registers the job's person tasks with the queue. Once the labeling jobs leave tasks to people
themselves, `make_person_job` creates the job with `CreateLabelingJob` instead and the portal
takes the labeling jobs' own queue (`process.build_app(config)` without `queue=`).
"""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from helpers import gt_inputs
from helpers.local import process
from helpers.local.config import LocalConfig

REGION = "us-west-2"
CORS_RULE = {
    "AllowedHeaders": [],
    "AllowedMethods": ["GET"],
    "AllowedOrigins": ["*"],
    "ExposeHeaders": ["Access-Control-Allow-Origin"],
}
LABELS = ["Bird", "Cat", "Dog"]


@dataclass
class FakeTask:
    """A task as the portal sees it (the contract's Task)."""

    task_id: str
    job_name: str
    source_ref: str
    labels: list[str]
    ui_template_uri: str
    title: str
    description: str
    deadline: float
    index: int
    total: int


@dataclass
class FakeJob:
    """A labeling job's person tasks: objects, who may do them, the answers given."""

    name: str
    title: str
    description: str
    groups: set[str]
    persons: set[str]
    objects: list[str]
    labels: list[str]
    ui_template_uri: str
    time_limit: int = 300
    answers: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    leases: dict[str, tuple[str, int]] = field(default_factory=dict)  # task id -> person, object


class FakeQueue:
    """The contract's task queue, kept in memory (thread-safe)."""

    def __init__(self) -> None:
        self.jobs: dict[str, FakeJob] = {}
        self._lock = threading.Lock()

    def add(self, job: FakeJob) -> None:
        """Give a job's objects to its persons."""
        with self._lock:
            self.jobs[job.name] = job

    def _waiting(self, job: FakeJob, username: str) -> list[int]:
        return [i for i in range(len(job.objects)) if (username, i) not in job.answers]

    def person_jobs(self, region: str, username: str, groups: list[str]) -> list[dict[str, Any]]:
        """The jobs of the person's teams with tasks waiting for them."""
        with self._lock:
            return [
                {
                    "job_name": j.name,
                    "title": j.title,
                    "description": j.description,
                    "tasks_waiting": len(self._waiting(j, username)),
                    "time_limit_seconds": j.time_limit,
                }
                for j in self.jobs.values()
                if j.groups & set(groups) and username in j.persons and self._waiting(j, username)
            ]

    def take_task(self, region: str, job_name: str, username: str) -> FakeTask | None:
        """Lease the person's next waiting task."""
        with self._lock:
            job = self.jobs[job_name]
            waiting = self._waiting(job, username)
            if username not in job.persons or not waiting:
                return None
            task_id = secrets.token_hex(8)
            job.leases[task_id] = (username, waiting[0])
            done = len(job.objects) - len(waiting)
            return FakeTask(
                task_id, job.name, job.objects[waiting[0]], list(job.labels),
                job.ui_template_uri, job.title, job.description,
                time.time() + job.time_limit, done + 1, len(job.objects),
            )  # fmt: skip

    def submit_answer(
        self, region: str, job_name: str, username: str, task_id: str, answer: dict[str, Any]
    ) -> None:
        """Record an answer to a task leased by this person, with one of the job's categories."""
        with self._lock:
            job = self.jobs[job_name]
            person, index = job.leases.get(task_id, ("", -1))
            if person != username:
                raise ValueError(f"task {task_id} is not leased by {username}")
            ((_, content),) = answer.items()
            if content.get("label") not in job.labels:
                raise ValueError(f"{content.get('label')!r} is not a category of {job_name}")
            job.answers[(username, index)] = answer
            del job.leases[task_id]


@dataclass
class PortalAws:
    """A local AWS served from this process, its clients and the portal's task queue."""

    url: str
    app: Any
    queue: FakeQueue

    @property
    def port(self) -> int:
        """The port it listens on (127.0.0.1)."""
        return int(self.url.rsplit(":", 1)[1])

    def client(self, service: str) -> Any:
        """A boto3 client of this local AWS."""
        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
        return boto3.client(
            service, region_name=REGION, endpoint_url=self.url, config=config,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip

    def admin(self, route: str) -> Any:
        """GET an admin route's JSON."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{self.url}/_walkthrough/{route}", timeout=10) as answer:
            return json.loads(answer.read())


@contextmanager
def portal_aws() -> Iterator[PortalAws]:
    """Serve a local AWS (moto, our SageMaker, the portal) on a free loopback port meanwhile."""
    queue = FakeQueue()
    app = process.build_app(LocalConfig(), queue=queue)
    server = process.make_endpoint(app, 0)
    url = f"http://127.0.0.1:{server.server_port}"
    app.sagemaker.backend.endpoint_url = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield PortalAws(url, app, queue)
    finally:
        server.shutdown()
        server.server_close()


def png(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    """A small PNG of one color."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@dataclass
class Team:
    """A private team: its Cognito group, users (name -> temporary password) and ARN."""

    group: str
    users: dict[str, str]
    arn: str


def workforce(aws: PortalAws) -> tuple[str, str]:
    """The private workforce's pool and app client (made with a secret, as --create-missing)."""
    sagemaker, idp = aws.client("sagemaker"), aws.client("cognito-idp")
    found = sagemaker.list_workforces()["Workforces"]
    if found:
        return found[0]["CognitoConfig"]["UserPool"], found[0]["CognitoConfig"]["ClientId"]
    pool = idp.create_user_pool(PoolName="labelers")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="labeling-portal", GenerateSecret=True
    )["UserPoolClient"]["ClientId"]
    sagemaker.create_workforce(
        WorkforceName="default", CognitoConfig={"UserPool": pool, "ClientId": client}
    )
    return pool, client


def make_team(aws: PortalAws, group: str, usernames: list[str]) -> Team:
    """A Cognito group of invited users (their temporary passwords from the outbox) and its team."""
    pool, client = workforce(aws)
    idp = aws.client("cognito-idp")
    idp.create_group(UserPoolId=pool, GroupName=group)
    for name in usernames:
        idp.admin_create_user(UserPoolId=pool, Username=name)  # Cognito makes up the password
        idp.admin_add_user_to_group(UserPoolId=pool, Username=name, GroupName=group)
    mail = aws.admin("cognito/outbox")["Invitations"]
    passwords = {m["Username"]: m["TemporaryPassword"] for m in mail if m["UserPoolId"] == pool}
    arn = aws.client("sagemaker").create_workteam(
        WorkteamName=f"team-{group}",
        Description=f"the {group} group",
        MemberDefinitions=[
            {"CognitoMemberDefinition": {"UserPool": pool, "UserGroup": group, "ClientId": client}}
        ],
    )["WorkteamArn"]
    return Team(group, {n: passwords[n] for n in usernames}, arn)


def make_person_job(
    aws: PortalAws,
    name: str,
    team: Team,
    objects: int = 10,
    template: str | None = None,
    bucket: str = "portal-inputs",
    cors: bool = True,
    title: str = "Label the animals",
) -> FakeJob:
    """Stage a job's images and worker template, and give its tasks to the team's users."""
    s3 = aws.client("s3")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        if cors:
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [CORS_RULE]})
    uris = []
    for i in range(objects):
        key = f"{name}/images/{i:03d}.png"
        s3.put_object(
            Bucket=bucket, Key=key, Body=png((40 * i % 256, 120, 200)), ContentType="image/png"
        )
        uris.append(f"s3://{bucket}/{key}")
    page = template if template is not None else gt_inputs.ui_template({LABELS[0]: uris[0]})
    s3.put_object(Bucket=bucket, Key=f"{name}/instructions.template", Body=page.encode())
    job = FakeJob(
        name=name,
        title=title,
        description="Pick the animal the picture shows",
        groups={team.group},
        persons=set(team.users),
        objects=uris,
        labels=list(LABELS),
        ui_template_uri=f"s3://{bucket}/{name}/instructions.template",
    )
    aws.queue.add(job)
    return job
