"""The local AWS endpoint: moto's server behind a WSGI layer that answers SageMaker itself.

It also counts requests per operation (`GET /_walkthrough/stats`), says whether it is ready
(`GET /_walkthrough/health`), keeps the invitations Cognito would email
(`GET /_walkthrough/cognito/outbox`) and serves the labeling portal (`/portal/...`). Run it
through `python -m helpers.local start`, not directly.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from helpers.local import guards
from helpers.local.admin import ADMIN_PREFIX, SERVICE_NAME
from helpers.local.faults import INTERNAL_AGENT, S3_ERRORS
from helpers.local.iam import simulate
from helpers.local.portal.outbox import Outbox
from helpers.local.sagemaker.routes import SageMaker
from helpers.local.sagemaker.workforces import PORTAL_PREFIX

_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_S3_SUBRESOURCES = {
    "cors": "Cors",
    "location": "Location",
    "tagging": "Tagging",
    "policy": "Policy",
    "versioning": "Versioning",
    "acl": "Acl",
    "lifecycle": "Lifecycle",
    "encryption": "Encryption",
    "publicAccessBlock": "PublicAccessBlock",
    "ownershipControls": "OwnershipControls",
    "notification": "NotificationConfiguration",
    "website": "Website",
}

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class RequestCounter:
    """Thread-safe counts of requests per `service.Operation`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, key: str) -> None:
        """Count one request."""
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[str, int]:
        """Return a copy of the counts."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counts.clear()


class BodyTooLarge(Exception):
    """A request body over the route's limit (see `helpers.local.guards`)."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(guards.too_large_message(length, limit))


def _buffer_body(environ: dict[str, Any], limit: int) -> bytes:
    """Read the request body once (at most `limit` bytes) and put it back for the next layer.

    Raises BodyTooLarge, before reading, when the body is larger than `limit`.
    """
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):  # chunked: no Content-Length to go by
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge(len(body), limit)
    else:
        length = guards.declared_length(environ) or 0
        if length > limit:
            raise BodyTooLarge(length, limit)
        body = stream.read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _take_body(environ: dict[str, Any], service: str) -> bytes:
    """The body of a request within its route's limit (BodyTooLarge otherwise).

    S3 bodies are left in the stream for moto (b"" is returned) once their length is known to
    be within the limit; every other body is read here, as the layers below need it.
    """
    limit = guards.body_limit(service)
    if service != "s3" or environ.get("wsgi.input_terminated"):
        body = _buffer_body(environ, limit)
        return b"" if service == "s3" else body
    length = guards.declared_length(environ) or 0
    if length > limit:
        raise BodyTooLarge(length, limit)
    return b""


def _conditional_write(environ: dict[str, Any]) -> bool:
    """True for a PUT or POST that carries If-None-Match or If-Match (a conditional write)."""
    return environ.get("REQUEST_METHOD") in ("PUT", "POST") and bool(
        environ.get("HTTP_IF_NONE_MATCH") or environ.get("HTTP_IF_MATCH")
    )


def service_and_region(environ: dict[str, Any]) -> tuple[str, str]:
    """Return the signing service and region of a request (from its SigV4 credential scope)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _CREDENTIAL.search(auth) or _CREDENTIAL.search(
        "Credential=" + parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [""])[0]
    )
    if match:
        return match.group(2), match.group(1)
    return "unknown", "us-east-1"


def s3_operation(
    method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]
) -> str:
    """Name the S3 REST operation a request makes (CopyObject, ListObjectsV2, ...)."""
    bucket, _, key = path.lstrip("/").partition("/")
    sub = next((name for q, name in _S3_SUBRESOURCES.items() if q in query), None)
    if not bucket:
        return "ListBuckets"
    if not key:
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        if sub:
            return {"GET": "GetBucket", "PUT": "PutBucket", "DELETE": "DeleteBucket"}.get(
                method, method
            ) + sub
        if method == "GET":
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(
            method, f"{method}Bucket"
        )
    if method == "PUT":
        if "x-amz-copy-source" in headers:
            return "UploadPartCopy" if "partNumber" in query else "CopyObject"
        if "partNumber" in query:
            return "UploadPart"
        return "PutObjectTagging" if "tagging" in query else "PutObject"
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "GET" and "tagging" in query:
        return "GetObjectTagging"
    return {"GET": "GetObject", "HEAD": "HeadObject"}.get(method, f"{method}Object")


def operation_name(environ: dict[str, Any], service: str, body: bytes) -> str:
    """Name the operation of any request this endpoint serves."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    method = environ.get("REQUEST_METHOD", "GET")
    if service == "s3":
        headers = {
            k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        return s3_operation(method, environ.get("PATH_INFO", "/"), query, headers)
    if "Action" in query:
        return query["Action"][0]
    form = parse_qs(body.decode("utf-8", "replace")) if body[:1].isalpha() else {}
    if "Action" in form:
        return form["Action"][0]
    segment = environ.get("PATH_INFO", "/").strip("/").split("/", 1)[0]
    return f"{method} /{segment}"


def _respond(
    start_response: StartResponse, status: int, body: bytes, content_type: str
) -> list[bytes]:
    reasons = {
        200: "OK",
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        413: "Content Too Large",
        415: "Unsupported Media Type",
        500: "Internal Server Error",
        501: "Not Implemented",
        503: "Service Unavailable",
    }
    start_response(
        f"{status} {reasons.get(status, 'Error')}",
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]


def _json_response(
    start_response: StartResponse, status: int, payload: Any, content_type: str = "application/json"
) -> list[bytes]:
    return _respond(start_response, status, json.dumps(payload).encode(), content_type)


def _s3_error(
    start_response: StartResponse, code: str, path: str, status: int = 0, message: str = ""
) -> list[bytes]:
    """An S3 error (by default an injected one), in S3's XML error format."""
    if not status:
        status, message = S3_ERRORS[code]
    message = html.escape(message)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{html.escape(path)}</Resource><RequestId>local-aws</RequestId></Error>"
    )
    return _respond(start_response, status, body.encode(), "application/xml")


def _api_error(
    start_response: StartResponse, json_protocol: bool, status: int, code: str, message: str
) -> list[bytes]:
    """An error of a JSON service (`__type`), or of a query service (IAM, STS: XML)."""
    if json_protocol:
        payload = {"__type": code, "message": message}
        return _json_response(start_response, status, payload, "application/x-amz-json-1.1")
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{html.escape(message)}</Message></Error>"
        "<RequestId>local-aws</RequestId></ErrorResponse>"
    )
    return _respond(start_response, status, body.encode(), "text/xml")


def _varying_by_origin(start_response: StartResponse) -> StartResponse:
    """Say `Vary: Origin` on an object: its CORS headers depend on the request's Origin.

    Without it a browser reuses a picture it loaded without CORS (an example in a task's
    instructions) for the same presigned link loaded with CORS (the task's picture), which then
    fails the CORS check although the bucket allows it.
    """

    def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
        if not any(name.lower() == "vary" for name, _ in headers):
            headers = [*headers, ("Vary", "Origin")]
        return start_response(status, headers, *rest)

    return start


class _ThenRun(list[bytes]):
    """A WSGI body that starts `after` once the server has sent it (WSGI calls close() then)."""

    def __init__(self, body: list[bytes], after: Callable[[], None]) -> None:
        super().__init__(body)
        self.after = after

    def close(self) -> None:
        """Called by the server after the last byte was written: start `after`."""
        threading.Thread(target=self.after, daemon=True).start()


class LocalAws:
    """The WSGI application: admin routes, our SageMaker layer, then moto for the rest."""

    def __init__(
        self,
        moto_app: WsgiApp,
        sagemaker: SageMaker,
        shutdown: Callable[[], None] | None = None,
        portal: WsgiApp | None = None,
    ) -> None:
        self.moto_app = moto_app
        self.sagemaker = sagemaker
        self.portal = portal
        self.outbox = Outbox()
        self.counter = RequestCounter()
        self.faults = sagemaker.faults
        self.ready = threading.Event()
        self.shutdown = shutdown
        self._conditional_writes = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path.startswith(ADMIN_PREFIX):
            return self._admin(path[len(ADMIN_PREFIX) :], environ, start_response)
        if path.startswith(PORTAL_PREFIX) and self.portal is not None:
            return self.portal(environ, start_response)
        service, region = service_and_region(environ)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if guards.declared_length(environ) is None:
            message = f"Content-Length {environ.get('CONTENT_LENGTH')!r} is not a whole number"
            return _api_error(start_response, bool(target), 400, "BadRequest", message)
        if target and (unknown := guards.unknown_operation(service, target)):
            return _api_error(start_response, True, 400, "UnknownOperationException", unknown)
        try:
            body = _take_body(environ, service)
        except BodyTooLarge as exc:
            if service == "s3":
                return _s3_error(start_response, "EntityTooLarge", path, 400, str(exc))
            return _api_error(start_response, bool(target), 413, "RequestEntityTooLarge", str(exc))
        operation = operation_name(environ, service, body)
        self.counter.add(f"{service}.{operation}")
        if target and (problem := guards.json_problem(body)):
            return _api_error(start_response, True, 400, "SerializationException", problem)
        if service == "s3" and self._faults_apply(environ):
            code = self.faults.s3_error(environ.get("REQUEST_METHOD", "GET"), path, operation)
            if code:
                return _s3_error(start_response, code, path)
        if service == "sagemaker" and self._faults_apply(environ):
            refusal = self.faults.ground_truth_refusal(operation)
            if refusal:
                payload = {"__type": "AccessDeniedException", "message": refusal}
                return _json_response(start_response, 400, payload, "application/x-amz-json-1.1")
        if service == "sagemaker" and self.sagemaker.handles(operation):
            return self._sagemaker(operation, body, region, start_response)
        if target and not guards.moto_has(service, operation):
            message = f"the local AWS does not emulate {service}.{operation}; use aws mode for it"
            return _api_error(start_response, True, 501, "NotImplemented", message)
        if service == "iam" and operation == "SimulatePrincipalPolicy":
            return self._simulate(body, start_response)
        if service == "cognito-idp" and operation == "AdminCreateUser":
            return self._invite(environ, body, region, start_response)
        if service == "s3" and _conditional_write(environ):
            # moto checks the condition, then writes: one at a time, so that of two concurrent
            # `If-None-Match: *` writes of a key exactly one succeeds, as on S3
            with self._conditional_writes:
                return list(self.moto_app(environ, start_response))
        if operation == "GetObject":
            return self.moto_app(environ, _varying_by_origin(start_response))
        return self.moto_app(environ, start_response)

    def _faults_apply(self, environ: dict[str, Any]) -> bool:
        """Faults hit users' requests once the endpoint is ready, not the local AWS's own."""
        return self.ready.is_set() and INTERNAL_AGENT not in environ.get("HTTP_USER_AGENT", "")

    def _sagemaker(
        self, operation: str, body: bytes, region: str, start_response: StartResponse
    ) -> list[bytes]:
        status, payload = self.sagemaker.respond(operation, body, region)
        return _json_response(start_response, status, payload, "application/x-amz-json-1.1")

    def _invite(
        self, environ: dict[str, Any], body: bytes, region: str, start_response: StartResponse
    ) -> Iterable[bytes]:
        """AdminCreateUser: moto creates the user; the invitation Cognito would email is kept."""
        body, invitation = self.outbox.prepare(body, region)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        statuses: list[str] = []

        def noting(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            statuses.append(status)
            return start_response(status, headers, *rest)

        answer = list(self.moto_app(environ, noting))
        if invitation is not None and statuses and statuses[0].startswith("200"):
            self.outbox.keep(invitation)
        return answer

    def _outbox(self) -> dict[str, Any]:
        """The invitations sent, each with the labeling portal of its pool's workforce."""
        messages = self.outbox.messages()
        for message in messages:
            workforce = self.sagemaker.workforces.workforce(message["Region"]) or {}
            cognito = workforce.get("CognitoConfig", {})
            same_pool = cognito.get("UserPool") == message["UserPoolId"]
            message["PortalUrl"] = f"http://{workforce['SubDomain']}" if same_pool else None
        return {"Invitations": messages}

    def _simulate(self, body: bytes, start_response: StartResponse) -> list[bytes]:
        status, xml = simulate.respond(self.sagemaker.roles, body)
        return _respond(start_response, status, xml.encode(), "text/xml")

    def _admin(
        self, route: str, environ: dict[str, Any], start_response: StartResponse
    ) -> list[bytes]:
        """The admin routes: JSON only, from this machine's programs, never from a web page."""
        refusal = guards.admin_refusal(environ)
        if refusal is not None:
            return _json_response(start_response, refusal[0], {"error": refusal[1]})
        method = environ.get("REQUEST_METHOD", "GET")
        body = b""
        if method == "POST":
            try:
                body = _buffer_body(environ, guards.MAX_ADMIN_BODY)
            except BodyTooLarge as exc:
                return _json_response(start_response, 413, {"error": str(exc)})
        try:
            if route.startswith("labeling/"):
                query = parse_qs(environ.get("QUERY_STRING", ""))
                return self._labeling_route(route, method, body, query, start_response)
            return self._admin_route(route, method, body, start_response)
        except (ValueError, TypeError) as exc:
            return _json_response(start_response, 400, {"error": str(exc)})

    def _labeling_route(
        self,
        route: str,
        method: str,
        body: bytes,
        query: dict[str, list[str]],
        start_response: StartResponse,
    ) -> list[bytes]:
        """The person labelers (POST `labeling/people`) and their waiting tasks (GET `pending`)."""
        labeling = self.sagemaker.labeling
        if route == "labeling/pending" and method == "GET":
            region = query.get("region", ["us-west-2"])[0]
            return _json_response(start_response, 200, {"pending": labeling.pending(region)})
        if route == "labeling/people" and method in ("GET", "POST"):
            if method == "POST":
                change = guards.admin_object(body)
                unknown = sorted(set(change) - {"person_labelers"})
                if unknown:
                    raise ValueError(f"unknown keys {unknown}; known: ['person_labelers']")
                labeling.set_person_labelers(change.get("person_labelers", []))
            people = list(labeling.person_labelers())
            return _json_response(start_response, 200, {"person_labelers": people})
        return _json_response(start_response, 404, {"error": f"no admin route {method} {route!r}"})

    def _admin_route(
        self, route: str, method: str, body: bytes, start_response: StartResponse
    ) -> list[bytes]:
        """Answer one admin route; a bad value raises ValueError (answered with 400)."""
        if route == "health" and method == "GET":
            return _json_response(
                start_response,
                200,
                {"service": SERVICE_NAME, "ready": self.ready.is_set(), "pid": os.getpid()},
            )
        if route == "stats" and method == "GET":
            return _json_response(start_response, 200, self.counter.snapshot())
        if route == "stats/reset" and method == "POST":
            guards.admin_change(body, {})
            self.counter.reset()
            return _json_response(start_response, 200, {})
        if route == "clock" and method in ("GET", "POST"):
            clock = self.sagemaker.clock
            if method == "POST":
                change = guards.admin_change(body, {"speed": "speed", "advance": "seconds"})
                if "speed" in change:
                    clock.set_speed(float(change["speed"]))
                if "advance" in change:
                    clock.advance(float(change["advance"]))
                self.sagemaker.labeling.advance_all()
            return _json_response(start_response, 200, {"now": clock.now(), "speed": clock.speed})
        if route == "cognito/outbox" and method == "GET":
            return _json_response(start_response, 200, self._outbox())
        if route == "faults" and method in ("GET", "POST"):
            if method == "POST":
                self.faults.configure(guards.admin_object(body))
            return _json_response(start_response, 200, self.faults.snapshot())
        if route == "shutdown" and method == "POST" and self.shutdown is not None:
            guards.admin_change(body, {})
            # stop only once the reply is sent, or the client may read a cut-off reply
            return _ThenRun(_json_response(start_response, 200, {"stopping": True}), self.shutdown)
        return _json_response(start_response, 404, {"error": f"no admin route {method} {route!r}"})
