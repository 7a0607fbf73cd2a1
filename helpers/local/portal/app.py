"""The labeling portal's routes, served by the local AWS under `/portal/<workforce id>/`.

- `GET  /`              the worker's jobs (or the sign-in page when not signed in)
- `GET|POST /signin`    user name and password, checked by the local Cognito
- `GET|POST /new-password`  the first sign-in's NEW_PASSWORD_REQUIRED challenge
- `POST /start`         lease the next task of a job, then `GET /task` shows it
- `GET|POST /task`      the task page (the job's own template), and its answer
- `GET  /done`          no task of the job waits for the worker any more
- `POST /signout`
- `GET  /portal/static/<file>`  the crowd-element stand-ins' script and the stylesheet

Every response carries a Content-Security-Policy (scripts and styles from the portal only, no
inline script; images from the local S3 only; forms posting to the portal only), `nosniff`, no
framing, no referrer to other origins (S3's links), no caching. Every POST carries the session's
anti-forgery token, and one from another origin is refused. The session cookie is HTTP-only and
same-site (Lax), named after the port (browsers share cookies between a host's ports).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from helpers.local import guards
from helpers.local.core import Backend, ServiceError, split_s3_uri
from helpers.local.portal import crowd, pages
from helpers.local.portal.sessions import Session, Sessions
from helpers.local.portal.signin import Pool
from helpers.local.portal.tasks import TaskQueue
from helpers.local.sagemaker.render import render_ui_template
from helpers.local.sagemaker.workforces import PORTAL_PREFIX, Workforces

StartResponse = Callable[..., Any]
MAX_FORM = 64 * 2**10
STATIC_FILES = {"crowd.js": "text/javascript", "portal.css": "text/css"}
_REASONS = {
    200: "OK",
    303: "See Other",
    307: "Temporary Redirect",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    502: "Bad Gateway",
}


@dataclass
class Request:
    """One portal request: where it goes, its form, its session."""

    method: str
    portal_id: str
    route: str
    form: dict[str, str]
    port: str
    session: Session | None

    @property
    def base(self) -> str:
        """The portal's path for this workforce."""
        return f"{PORTAL_PREFIX}{self.portal_id}"


@dataclass
class Reply:
    """A page, a redirect or a static file, with its cookie."""

    status: int
    body: str | bytes = ""
    location: str = ""
    content_type: str = "text/html; charset=utf-8"
    cookie: str = ""


@dataclass
class Portal:
    """The labeling portal of each workforce of the local AWS."""

    backend: Backend
    workforces: Workforces
    queue: TaskQueue
    now: Callable[[], float]
    sessions: Sessions = field(default_factory=Sessions)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        port = str(environ.get("SERVER_PORT", ""))
        refusal = guards.host_refusal(environ)
        if refusal is not None:
            return self._send(
                start_response, Reply(403, pages.refused("Wrong address", refusal)), port
            )
        try:
            reply = self._answer(environ, port)
        except ServiceError as exc:
            reply = Reply(502, pages.refused("The local AWS refused", exc.message))
        return self._send(start_response, reply, port)

    # --- plumbing ---------------------------------------------------------------------------------

    def _send(self, start_response: StartResponse, reply: Reply, port: str) -> list[bytes]:
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        s3_origin = f"http://127.0.0.1:{port}" if port else "'none'"
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(body))),
            (
                "Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; "
                f"style-src-attr 'unsafe-inline'; img-src {s3_origin}; form-action 'self'; "
                "base-uri 'none'; frame-ancestors 'none'",
            ),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "same-origin"),
            ("Cache-Control", "no-store"),
        ]
        if reply.location:
            headers.append(("Location", reply.location))
        if reply.cookie:
            headers.append(("Set-Cookie", reply.cookie))
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Error')}", headers)
        return [body]

    def _answer(self, environ: dict[str, Any], port: str) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        host = str(environ.get("HTTP_HOST", ""))
        if host.lower().startswith("127.0.0.1:") and method == "GET":
            # the portal is on localhost, S3 on 127.0.0.1: images cross origins, as on AWS
            return Reply(307, location=f"http://localhost:{port}{path}")
        if path.startswith(pages.STATIC + "/"):
            return _static(path.rsplit("/", 1)[1])
        portal_id, _, route = path[len(PORTAL_PREFIX) :].partition("/")
        found = self.workforces.by_portal_id(portal_id)
        if found is None:
            return Reply(
                404, pages.refused("No such portal", f"No workforce has a portal at {path}.")
            )
        if method not in ("GET", "POST"):
            return Reply(405, pages.refused("Not allowed", f"{method} is not used here."))
        form: dict[str, str] = {}
        if method == "POST":
            origin = environ.get("HTTP_ORIGIN")
            if origin and origin not in (f"http://localhost:{port}", f"http://127.0.0.1:{port}"):
                return _forged("the form was sent by another site")
            try:
                form = _form(environ)
            except ValueError as exc:
                return Reply(413, pages.refused("Too large", str(exc)))
        sid = _cookie(environ, _cookie_name(port))
        request = Request(method, portal_id, route, form, port, self.sessions.find(sid, portal_id))
        region, workforce = found
        return self._route(request, region, workforce)

    def _with_session(self, request: Request) -> tuple[Session, str]:
        """The request's session, or a new one, and the cookie to set for a new one."""
        if request.session is not None:
            return request.session, ""
        session = self.sessions.new(request.portal_id)
        return session, self._cookie(request, session)

    def _cookie(self, request: Request, session: Session) -> str:
        return (
            f"{_cookie_name(request.port)}={session.sid}; Path={PORTAL_PREFIX}; HttpOnly; "
            "SameSite=Lax"
        )

    # --- routes -----------------------------------------------------------------------------------

    def _route(self, request: Request, region: str, workforce: dict[str, Any]) -> Reply:
        base, session = request.base, request.session
        if request.method == "POST" and (
            session is None or not session.forgery_checked(request.form.get("csrf"))
        ):
            return _forged("the anti-forgery token is missing or wrong", base)
        pool = Pool(
            self.backend.client("cognito-idp", region),
            workforce["CognitoConfig"]["UserPool"],
            workforce["CognitoConfig"]["ClientId"],
        )
        if request.route == "signin":
            return self._sign_in(request, pool)
        if request.route == "new-password":
            return self._new_password(request, pool)
        if session is None or session.username is None:
            return Reply(303, location=f"{base}/signin")
        if request.route == "" and request.method == "GET":
            found = self.queue.person_jobs(region, session.username, list(session.groups))
            notice, session.notice = session.notice, ""
            return Reply(200, pages.jobs(base, session.csrf, session.username, found, notice))
        if request.route == "start" and request.method == "POST":
            return self._start(request, session, region, request.form.get("job", ""))
        if request.route == "task":
            return self._task(request, session, region)
        if request.route == "done" and request.method == "GET":
            title = session.finished or "this job"
            return Reply(200, pages.done(base, session.csrf, session.username, title))
        if request.route == "signout" and request.method == "POST":
            self.sessions.end(session)
            return Reply(303, location=f"{base}/signin")
        return Reply(
            404, pages.refused("Not found", f"No page {request.route!r} here.", base + "/")
        )

    def _sign_in(self, request: Request, pool: Pool) -> Reply:
        session, cookie = self._with_session(request)
        base = request.base
        if request.method == "GET":
            return Reply(200, pages.sign_in(base, session.csrf), cookie=cookie)
        username = request.form.get("username", "").strip()
        outcome = pool.sign_in(username, request.form.get("password", ""))
        if outcome.error:
            page = pages.sign_in(base, session.csrf, outcome.error, username)
            return Reply(200, page, cookie=cookie)
        if outcome.challenge_session:
            session.challenge = {"username": username, "session": outcome.challenge_session}
            return Reply(303, location=f"{base}/new-password")
        return self._signed_in(request, session, outcome.username, outcome.groups)

    def _new_password(self, request: Request, pool: Pool) -> Reply:
        session, base = request.session, request.base
        if session is None or session.challenge is None:
            return Reply(303, location=f"{base}/signin")
        username = session.challenge["username"]
        if request.method == "GET":
            return Reply(200, pages.new_password(base, session.csrf, username))
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            error = "The two passwords differ."
            return Reply(200, pages.new_password(base, session.csrf, username, error))
        outcome = pool.new_password(username, session.challenge["session"], password)
        if outcome.error and outcome.challenge_session:
            return Reply(200, pages.new_password(base, session.csrf, username, outcome.error))
        session.challenge = None
        if outcome.error:
            return Reply(200, pages.sign_in(base, session.csrf, outcome.error, username))
        return self._signed_in(request, session, outcome.username, outcome.groups)

    def _signed_in(
        self, request: Request, session: Session, username: str, groups: tuple[str, ...]
    ) -> Reply:
        session = self.sessions.renew(session)
        session.username, session.groups = username, groups
        return Reply(303, location=f"{request.base}/", cookie=self._cookie(request, session))

    def _start(self, request: Request, session: Session, region: str, job: str) -> Reply:
        assert session.username is not None
        mine = self.queue.person_jobs(region, session.username, list(session.groups))
        if job not in {j.get("job_name") for j in mine}:
            return Reply(
                403,
                pages.refused(
                    "Not your task",
                    f"Labeling job {job[:200]!r} has no task for {session.username}: its team "
                    "is not one of your Cognito groups, or it has no task left for you.",
                    request.base + "/",
                ),
            )
        session.finished = next(
            str(j.get("title") or job) for j in mine if j.get("job_name") == job
        )
        return self._next(request, session, region, job)

    def _next(self, request: Request, session: Session, region: str, job: str) -> Reply:
        assert session.username is not None
        previous = session.task
        try:
            session.task = self.queue.take_task(region, job, session.username)
        except (ValueError, ServiceError) as exc:
            session.task = None
            session.notice = exc.message if isinstance(exc, ServiceError) else str(exc)
            return Reply(303, location=f"{request.base}/")
        if session.task is None:
            session.finished = str(getattr(previous, "title", "") or session.finished or job)
            return Reply(303, location=f"{request.base}/done")
        return Reply(303, location=f"{request.base}/task")

    def _task(self, request: Request, session: Session, region: str) -> Reply:
        shown = session.task
        if shown is None:
            return Reply(303, location=f"{request.base}/")
        rendered, use = self._render(shown, region)
        if request.method == "GET":
            return Reply(200, self._task_page(request, session, shown, rendered, use))
        if request.form.get("task") != shown.task_id:
            return Reply(
                400,
                self._task_page(
                    request,
                    session,
                    shown,
                    rendered,
                    use,
                    "This answer is for another task than the one shown; answer this one.",
                ),
            )
        try:
            answer = _answer(request.form.get("answer", ""), use, list(shown.labels))
            assert session.username is not None
            self.queue.submit_answer(
                region, shown.job_name, session.username, shown.task_id, answer
            )
        except (ValueError, ServiceError) as exc:
            text = exc.message if isinstance(exc, ServiceError) else str(exc)
            page = self._task_page(request, session, shown, rendered, use, text)
            return Reply(400, page)
        return self._next(request, session, region, shown.job_name)

    def _task_page(
        self,
        request: Request,
        session: Session,
        shown: Any,
        rendered: str,
        use: crowd.TemplateUse,
        error: str = "",
    ) -> str:
        assert session.username is not None
        left = float(shown.deadline) - self.now()
        return pages.task(
            request.base, session.csrf, session.username, shown, rendered, use.missing, left, error
        )

    def _render(self, shown: Any, region: str) -> tuple[str, crowd.TemplateUse]:
        """The job's template for this task, rendered as RenderUiTemplate renders it."""
        bucket, key = split_s3_uri(shown.ui_template_uri)
        s3 = self.backend.client("s3", region)
        template = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", "replace")
        task_input = {"taskObject": shown.source_ref, "labels": list(shown.labels)}
        answer = render_ui_template(
            self.backend,
            {"UiTemplate": {"Content": template}, "Task": {"Input": json.dumps(task_input)}},
            region,
        )
        if answer["Errors"]:
            problems = "; ".join(e["Message"] for e in answer["Errors"])
            raise ServiceError(
                "TemplateError", f"The job's worker template does not render: {problems}"
            )
        rendered = crowd.without_crowd_script(answer["RenderedContent"])
        return rendered, crowd.scan(rendered)


def _answer(raw: str, use: crowd.TemplateUse, labels: list[str]) -> dict[str, Any]:
    """The posted answer, `{<element name>: {"label": <category>}}`, checked; else ValueError."""
    if use.missing:
        raise ValueError("this task uses crowd elements the local portal does not implement")
    try:
        answer = json.loads(raw)
    except ValueError:
        raise ValueError("Choose a category, then Submit.") from None
    names = use.classifier_names
    if not isinstance(answer, dict) or sorted(answer) != sorted(names):
        raise ValueError(
            f"The answer must be keyed by the element's name ({', '.join(map(repr, names))})."
        )
    for content in answer.values():
        label = content.get("label") if isinstance(content, dict) else None
        if not isinstance(label, str) or label not in labels:
            raise ValueError(
                f"{str(label)[:100]!r} is not one of this job's categories: {', '.join(labels)}."
            )
    return answer


def _forged(reason: str, base: str = "") -> Reply:
    return Reply(
        403,
        pages.refused(
            "Form refused",
            f"This form was not accepted: {reason}. Forms are accepted only from the portal's own "
            "pages; reload the page and try again.",
            (base + "/") if base else "",
        ),
    )


def _form(environ: dict[str, Any]) -> dict[str, str]:
    """The posted urlencoded form (each field's first value); ValueError when over MAX_FORM."""
    stream = environ["wsgi.input"]
    length = guards.declared_length(environ) or 0
    if length > MAX_FORM:
        raise ValueError(guards.too_large_message(length, MAX_FORM))
    body = (
        stream.read(MAX_FORM + 1) if environ.get("wsgi.input_terminated") else stream.read(length)
    )
    if len(body) > MAX_FORM:
        raise ValueError(guards.too_large_message(len(body), MAX_FORM))
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def _cookie_name(port: str) -> str:
    """Cookies are not kept apart by port: the name says which local AWS's portal it is."""
    return f"portal_session_{port}"


def _cookie(environ: dict[str, Any], name: str) -> str | None:
    for part in str(environ.get("HTTP_COOKIE", "")).split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _static(name: str) -> Reply:
    if name not in STATIC_FILES:
        return Reply(404, pages.refused("Not found", f"No file {name!r} here."))
    data = resources.files("helpers.local.portal").joinpath("static", name).read_bytes()
    return Reply(200, data, content_type=f"{STATIC_FILES[name]}; charset=utf-8")
