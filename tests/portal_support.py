"""The labeling portal's test bed: a local AWS in this process, its labeling jobs' tasks for people.

`make_team` makes a private team of invited Cognito users (their temporary passwords read from
the outbox); `make_person_job` stages a job's inputs (images, the walkthrough's worker template,
a bucket with Ground Truth's CORS rule), names the team's users person labelers through the
admin route and creates the job with `CreateLabelingJob`, so every task waits for them in the
portal. `waiting` and `answers` read back what the job holds: its tasks waiting for a person
(the admin route the walkthrough reads) and, once complete, its worker-response files.
"""

from __future__ import annotations

import html
import http.client
import io
import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import boto3
from botocore.config import Config

from helpers import gt_inputs
from helpers.local import process
from helpers.local.config import LocalConfig
from tests.support import SAGEMAKER_TRUST, labeling_job_request

REGION = "us-west-2"
CORS_RULE = {
    "AllowedHeaders": [],
    "AllowedMethods": ["GET"],
    "AllowedOrigins": ["*"],
    "ExposeHeaders": ["Access-Control-Allow-Origin"],
}
LABELS = ["Bird", "Cat", "Dog"]
ROLE = "portal-jobs-role"
S3_ACCESS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


@dataclass
class PortalAws:
    """A local AWS served from this process, its clients and the portal's task queue."""

    url: str
    app: Any

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

    def admin(self, route: str, body: dict[str, Any] | None = None) -> Any:
        """GET an admin route's JSON (POST `body` when given)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/_walkthrough/{route}",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as answer:
            return json.loads(answer.read())


@contextmanager
def portal_aws() -> Iterator[PortalAws]:
    """Serve a local AWS (moto, our SageMaker, the portal) on a free loopback port meanwhile."""
    app = process.build_app(LocalConfig())
    server = process.make_endpoint(app, 0)
    url = f"http://127.0.0.1:{server.server_port}"
    app.sagemaker.backend.endpoint_url = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield PortalAws(url, app)
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


@dataclass
class PersonJob:
    """A labeling job whose every task waits for its team's people."""

    name: str
    bucket: str
    prefix: str
    objects: int


def execution_role(aws: PortalAws) -> str:
    """The jobs' execution role (S3 access), made once."""
    iam = aws.client("iam")
    try:
        return str(iam.get_role(RoleName=ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=SAGEMAKER_TRUST)
        iam.put_role_policy(RoleName=ROLE, PolicyName="s3", PolicyDocument=S3_ACCESS)
        return str(arn["Role"]["Arn"])


def make_person_job(
    aws: PortalAws,
    name: str,
    team: Team,
    objects: int = 10,
    template: str | None = None,
    bucket: str = "portal-inputs",
    cors: bool = True,
    title: str = "Label the animals",
) -> PersonJob:
    """Stage a job's images and worker template; create it with its team's users as people."""
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
    base = f"s3://{bucket}/{name}"
    manifest = "".join(json.dumps({"source-ref": u}) + "\n" for u in uris)
    for key, body in (
        ("instructions.template", page),
        ("train.manifest", manifest),
        ("class_labels.json", json.dumps({"labels": [{"label": x} for x in LABELS]})),
    ):
        s3.put_object(Bucket=bucket, Key=f"{name}/{key}", Body=body.encode())
    role = execution_role(aws)
    aws.admin("labeling/people", {"person_labelers": sorted(team.users)})
    try:
        request = labeling_job_request(
            name,
            base,
            role,
            team.arn,
            TaskTitle=title,
            TaskDescription="Pick the animal the picture shows",
            NumberOfHumanWorkersPerDataObject=len(team.users),
        )
        aws.client("sagemaker").create_labeling_job(**request)
    finally:
        aws.admin("labeling/people", {"person_labelers": []})
    aws.admin("clock", {"advance": 60})  # past Initializing
    return PersonJob(name, bucket, name, objects)


def waiting(aws: PortalAws, job: PersonJob, username: str) -> tuple[int, int]:
    """The person's tasks waiting in the job, and how many of them they lease (the admin route)."""
    for row in aws.admin("labeling/pending")["pending"]:
        if row["job_name"] == job.name and row["username"] == username:
            return int(row["tasks_waiting"]), int(row["leased"])
    return 0, 0


def answers(aws: PortalAws, job: PersonJob) -> dict[int, list[tuple[str, Any]]]:
    """Once the job completes: per object, its worker responses' (workerId, answerContent)."""
    aws.admin("clock", {"advance": 5})
    sagemaker, s3 = aws.client("sagemaker"), aws.client("s3")
    status = sagemaker.describe_labeling_job(LabelingJobName=job.name)["LabelingJobStatus"]
    assert status == "Completed", status
    folder = f"{job.prefix}/output/{job.name}/annotations/worker-response/iteration-1/"
    found: dict[int, list[tuple[str, Any]]] = {}
    for listed in s3.list_objects_v2(Bucket=job.bucket, Prefix=folder).get("Contents", []):
        index = int(listed["Key"].removeprefix(folder).split("/")[0])
        body = json.loads(s3.get_object(Bucket=job.bucket, Key=listed["Key"])["Body"].read())
        found[index] = [(a["workerId"], a["answerContent"]) for a in body["answers"]]
    return found


# --- a portal client over HTTP, keeping its session cookie as a browser does ---


@dataclass
class Reply:
    """A portal answer: status, headers, page."""

    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def csrf(self) -> str:
        """The page's anti-forgery token."""
        match = re.search(r'name="csrf" value="([^"]*)"', self.text)
        assert match, self.text
        return match.group(1)


@dataclass
class Client:
    """An HTTP client of the portal that keeps its session cookie (as a browser would)."""

    port: int
    host: str = "localhost"
    cookies: dict[str, str] = field(default_factory=dict)

    def send(
        self, method: str, path: str, form: dict[str, str] | None = None, **headers: str
    ) -> Reply:
        """Send a request (a form for POST), with the session cookie; keep what is set."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = urlencode(form or {}).encode() if method == "POST" else None
        sent = {"Host": f"{self.host}:{self.port}", **headers}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        reply = Reply(response.status, response.headers, response.read().decode())
        connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return reply


def sign_in(client: Client, base: str, username: str, password: str, new: str = "") -> Reply:
    """Sign in; at the first sign-in answer NEW_PASSWORD_REQUIRED with `new`."""
    page = client.send("GET", f"{base}/signin")
    form = {"csrf": page.csrf, "username": username, "password": password}
    reply = client.send("POST", f"{base}/signin", form)
    if reply.status == 303 and reply.headers["Location"].endswith("/new-password"):
        page = client.send("GET", f"{base}/new-password")
        form = {"csrf": page.csrf, "password": new, "confirm": new}
        reply = client.send("POST", f"{base}/new-password", form)
    return reply


def label_waiting_tasks(client: Client, base: str, choose: int = 0) -> int:
    """Take and answer every task the job list shows (category `choose` of each); how many."""
    answered = 0
    jobs = client.send("GET", f"{base}/")
    for job in re.findall(r'name="job" value="([^"]+)"', jobs.text):
        client.send("POST", f"{base}/start", {"csrf": jobs.csrf, "job": html.unescape(job)})
        while (task := client.send("GET", f"{base}/task")).status == 200:
            task_id = re.search(r'name="task" value="([^"]+)"', task.text)
            found = re.search(r'<crowd-image-classifier[^>]*\bname="([^"]+)"', task.text)
            labels = re.search(r'categories="([^"]+)"', task.text)
            assert task_id and found and labels, task.text
            categories = json.loads(html.unescape(labels.group(1)))
            answer = {found.group(1): {"label": categories[choose % len(categories)]}}
            form = {"csrf": task.csrf, "task": task_id.group(1), "answer": json.dumps(answer)}
            reply = client.send("POST", f"{base}/task", form)
            assert reply.status == 303, reply.text
            answered += 1
    return answered
