"""The local labeling portal over HTTP: sign-in through the local Cognito, refusals, headers.

The browser tests (`test_portal_browser.py`) drive the same portal in Chromium; these check what
a page cannot show: cookies' flags, the Content-Security-Policy, the Host check, the outbox.
"""

from __future__ import annotations

import html
import http.client
import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from helpers import cognito
from helpers.local.standins.workers import worker_id
from tests.portal_support import (
    LABELS,
    REGION,
    Client,
    PortalAws,
    answers,
    make_person_job,
    make_team,
    portal_aws,
    sign_in,
    waiting,
    workforce,
)


@pytest.fixture
def aws() -> Iterator[PortalAws]:
    with portal_aws() as served:
        yield served


def portal_path(aws: PortalAws) -> str:
    pool, _ = workforce(aws)
    subdomain = aws.client("sagemaker").list_workforces()["Workforces"][0]["SubDomain"]
    return "/" + subdomain.split("/", 1)[1]


def test_the_workforce_gives_the_local_portal_and_the_walkthrough_prints_its_link(
    aws: PortalAws,
) -> None:
    make_team(aws, "labelers", ["ana"])
    sagemaker = aws.client("sagemaker")
    found = sagemaker.list_workforces()["Workforces"][0]
    team = sagemaker.describe_workteam(WorkteamName="team-labelers")["Workteam"]
    assert re.fullmatch(rf"localhost:{aws.port}/portal/[0-9a-f]{{10}}", found["SubDomain"])
    assert team["SubDomain"] == found["SubDomain"]
    link = cognito.sign_in_url(found, sagemaker.meta.endpoint_url)
    assert link == f"http://{found['SubDomain']}"
    aws_workforce = {"SubDomain": "abc123.labeling.us-west-2.sagemaker.aws"}
    assert cognito.sign_in_url(aws_workforce, "https://api.sagemaker.us-west-2.amazonaws.com") == (
        "https://abc123.labeling.us-west-2.sagemaker.aws"
    )
    page = Client(aws.port).send("GET", urlsplit(link).path + "/signin")
    assert page.status == 200 and "<h1>Sign in</h1>" in page.text


def test_the_outbox_keeps_the_invitation_cognito_would_email(aws: PortalAws) -> None:
    pool, _ = workforce(aws)
    idp = aws.client("cognito-idp")
    idp.admin_create_user(UserPoolId=pool, Username="ana")
    idp.admin_create_user(UserPoolId=pool, Username="quiet", MessageAction="SUPPRESS")
    idp.admin_create_user(UserPoolId=pool, Username="given", TemporaryPassword="Given-Pass1!")
    with pytest.raises(idp.exceptions.UsernameExistsException):
        idp.admin_create_user(UserPoolId=pool, Username="ana")
    mail = aws.admin("cognito/outbox")["Invitations"]
    assert [m["Username"] for m in mail] == ["ana", "given"]  # not the suppressed, not the failed
    ana, given = mail
    assert given["TemporaryPassword"] == "Given-Pass1!"
    assert len(ana["TemporaryPassword"]) >= 8 and ana["PortalUrl"].startswith("http://localhost:")
    # the made-up password is the user's: the first sign-in with it asks for a new one
    status = idp.admin_get_user(UserPoolId=pool, Username="ana")["UserStatus"]
    assert status == "FORCE_CHANGE_PASSWORD"


def test_the_first_sign_in_sets_a_new_password_through_the_local_cognito(aws: PortalAws) -> None:
    team = make_team(aws, "labelers", ["ana"])
    base = portal_path(aws)
    client = Client(aws.port)
    wrong = sign_in(client, base, "ana", "not-the-password")
    assert wrong.status == 200 and "Incorrect username or password." in wrong.text
    unknown = sign_in(client, base, "nobody", "whatever")
    assert "Incorrect username or password." in unknown.text  # it does not say which was wrong
    before = dict(client.cookies)
    reply = sign_in(client, base, "ana", team.users["ana"], new="My-new-pass-42")
    assert reply.status == 303 and reply.headers["Location"] == f"{base}/"
    assert client.cookies != before  # signing in gives a new session id
    jobs = client.send("GET", f"{base}/")
    assert "Signed in as <strong>ana</strong>" in jobs.text
    pool, _ = workforce(aws)
    user = aws.client("cognito-idp").admin_get_user(UserPoolId=pool, Username="ana")
    assert user["UserStatus"] == "CONFIRMED"
    signed_out = client.send("POST", f"{base}/signout", {"csrf": jobs.csrf})
    assert signed_out.headers["Location"] == f"{base}/signin"
    assert client.send("GET", f"{base}/").headers["Location"] == f"{base}/signin"
    again = sign_in(Client(aws.port), base, "ana", team.users["ana"])
    assert "Incorrect username or password." in again.text  # the temporary one is gone
    assert sign_in(Client(aws.port), base, "ana", "My-new-pass-42").status == 303


def test_session_cookies_and_security_headers(aws: PortalAws) -> None:
    make_team(aws, "labelers", ["ana"])
    base = portal_path(aws)
    client = Client(aws.port)
    page = client.send("GET", f"{base}/signin")
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/portal/" in cookie
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy
    assert f"img-src http://127.0.0.1:{aws.port};" in policy
    assert "form-action 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in page.text  # no inline script anywhere
    script = client.send("GET", "/portal/static/crowd.js")
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")


def test_the_host_is_checked_for_the_portal_and_the_admin_routes(aws: PortalAws) -> None:
    make_team(aws, "labelers", ["ana"])
    base = portal_path(aws)
    rebound = Client(aws.port, host="attacker.example").send("GET", f"{base}/signin")
    assert rebound.status == 403 and "attacker.example" in rebound.text
    other_port = Client(aws.port + 1 if aws.port < 65535 else 1).send  # a Host naming another port
    assert other_port  # (built below with the right connection port)
    wrong_port = Client(aws.port)
    connection = http.client.HTTPConnection("127.0.0.1", aws.port, timeout=10)
    for path in (f"{base}/signin", "/_walkthrough/health", "/_walkthrough/cognito/outbox"):
        connection.request("GET", path, headers={"Host": f"localhost:{aws.port + 1}"})
        answer = connection.getresponse()
        assert answer.status == 403, path
        assert f"localhost:{aws.port}" in answer.read().decode()
    connection.close()
    assert wrong_port.send("GET", "/_walkthrough/health").status == 200
    moved = Client(aws.port, host="127.0.0.1").send("GET", f"{base}/signin")
    assert moved.status == 307 and moved.headers["Location"] == (
        f"http://localhost:{aws.port}{base}/signin"
    )


def test_forged_forms_are_refused(aws: PortalAws) -> None:
    team = make_team(aws, "labelers", ["ana"])
    make_person_job(aws, "animals", team, objects=1)
    base = portal_path(aws)
    stranger = Client(aws.port).send("POST", f"{base}/signin", {"username": "ana"})
    assert stranger.status == 403 and "anti-forgery token" in stranger.text
    client = Client(aws.port)
    assert sign_in(client, base, "ana", team.users["ana"], new="My-new-pass-42").status == 303
    page = client.send("GET", f"{base}/")
    for token in ("", "forged"):
        reply = client.send("POST", f"{base}/start", {"csrf": token, "job": "animals"})
        assert reply.status == 403 and "Form refused" in reply.text
    cross_site = client.send(
        "POST",
        f"{base}/start",
        {"csrf": page.csrf, "job": "animals"},
        Origin="https://evil.example",
    )
    assert cross_site.status == 403 and "another site" in cross_site.text
    assert client.send("POST", f"{base}/start", {"csrf": page.csrf, "job": "animals"}).status == 303


def test_answers_are_checked_and_other_teams_jobs_are_not_shown(aws: PortalAws) -> None:
    team = make_team(aws, "labelers", ["ana"])
    others = make_team(aws, "others", ["bo"])
    animals = make_person_job(
        aws, "animals", team, objects=2, title="<script>alert(1)</script> & co"
    )
    secret = make_person_job(aws, "secret", others, objects=2, title="Secret job")
    base = portal_path(aws)
    client = Client(aws.port)
    sign_in(client, base, "ana", team.users["ana"], new="My-new-pass-42")
    jobs = client.send("GET", f"{base}/")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in jobs.text
    assert "<script>alert" not in jobs.text and "Secret job" not in jobs.text
    refused = client.send("POST", f"{base}/start", {"csrf": jobs.csrf, "job": "secret"})
    assert refused.status == 403 and "has no task for ana" in refused.text
    assert waiting(aws, secret, "bo") == (2, 0)  # not leased by ana's attempt
    client.send("POST", f"{base}/start", {"csrf": jobs.csrf, "job": "animals"})
    task = client.send("GET", f"{base}/task")
    task_id = re.search(r'name="task" value="([^"]+)"', task.text).group(1)  # type: ignore[union-attr]
    for answer, problem in (
        ({"crowd-image-classifier": {"label": "Unicorn"}}, "'Unicorn' is not one of this job"),
        ({"other-name": {"label": "Cat"}}, "keyed by the element's name"),
        ("not json", "Choose a category"),
    ):
        text = answer if isinstance(answer, str) else json.dumps(answer)
        form = {"csrf": task.csrf, "task": task_id, "answer": text}
        reply = client.send("POST", f"{base}/task", form)
        assert reply.status == 400 and problem in html.unescape(reply.text), reply.text
    assert waiting(aws, animals, "ana") == (2, 1)  # no answer taken, the task still hers
    good = {"crowd-image-classifier": {"label": LABELS[1]}}
    form = {"csrf": task.csrf, "task": task_id, "answer": json.dumps(good)}
    assert client.send("POST", f"{base}/task", form).status == 303
    assert waiting(aws, animals, "ana") == (1, 1)  # the next task, leased as the page shows it
    task = client.send("GET", f"{base}/task")
    task_id = re.search(r'name="task" value="([^"]+)"', task.text).group(1)  # type: ignore[union-attr]
    second = {"crowd-image-classifier": {"label": LABELS[2]}}
    form = {"csrf": task.csrf, "task": task_id, "answer": json.dumps(second)}
    assert client.send("POST", f"{base}/task", form).headers["Location"] == f"{base}/done"
    ana = worker_id("ana", REGION)
    assert answers(aws, animals) == {0: [(ana, good)], 1: [(ana, second)]}


def test_a_template_with_an_element_we_do_not_implement_says_so(aws: PortalAws) -> None:
    team = make_team(aws, "labelers", ["ana"])
    template = (
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
        '<crowd-form><crowd-bounding-box name="boxes" src="{{ task.input.taskObject | '
        'grant_read_access }}" labels="{{ task.input.labels | to_json | escape }}">'
        "</crowd-bounding-box></crowd-form>"
    )
    make_person_job(aws, "boxes", team, objects=1, template=template)
    base = portal_path(aws)
    client = Client(aws.port)
    sign_in(client, base, "ana", team.users["ana"], new="My-new-pass-42")
    jobs = client.send("GET", f"{base}/")
    client.send("POST", f"{base}/start", {"csrf": jobs.csrf, "job": "boxes"})
    page = client.send("GET", f"{base}/task")
    assert (
        "This task uses &lt;crowd-bounding-box&gt;, which the local labeling portal does not"
        in (page.text)
    )
    assert 'id="answer-form"' not in page.text and "assets.crowd.aws" not in page.text


def test_s3_answers_cors_as_the_bucket_rule_says(aws: PortalAws) -> None:
    """moto's server said `Access-Control-Allow-Origin: *` for every bucket; S3 does not."""
    team = make_team(aws, "labelers", ["ana"])
    make_person_job(aws, "with-cors", team, objects=1, bucket="with-cors")
    make_person_job(aws, "without", team, objects=1, bucket="without-cors", cors=False)
    origin = f"http://localhost:{aws.port}"
    s3 = aws.client("s3")
    for bucket, key, allowed in (
        ("with-cors", "with-cors/images/000.png", True),
        ("without-cors", "without/images/000.png", False),
    ):
        url = urlsplit(
            s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
        )
        connection = http.client.HTTPConnection("127.0.0.1", aws.port, timeout=10)
        connection.request("GET", f"{url.path}?{url.query}", headers={"Origin": origin})
        answer = connection.getresponse()
        answer.read()
        connection.close()
        assert answer.status == 200
        assert (answer.headers.get("Access-Control-Allow-Origin") is not None) is allowed, bucket
