"""What the local AWS refuses before any service sees a request, answered as AWS answers it.

- Bodies over a size limit, per route (`body_limit`): the JSON and query APIs (SageMaker,
  Cognito, CloudWatch Logs, IAM, STS, EKS) take at most `MAX_API_BODY`, far above any request
  the walkthrough makes (the largest is `RenderUiTemplate` with an inline template, which
  botocore's model caps at 128 KB; AWS's own limits for these APIs are 1 MB or less); S3 takes
  `MAX_S3_BODY` per request, so that images, manifests and `model.tar.gz` go in as they are and
  a larger file still goes in through boto3's `upload_file`, which sends parts of 8 MB (the
  local AWS holds objects in memory: an object of gigabytes would not be sensible here); the
  admin routes take `MAX_ADMIN_BODY`.
- A connection that stops sending (a `Content-Length` larger than its body, a half-sent
  header) is dropped after `READ_TIMEOUT` seconds without data, so it cannot hold a thread.
- An `X-Amz-Target` the service's model does not have (`UnknownOperationException`), and a
  JSON body that is not JSON, or nested too deep to parse (`SerializationException`).
- Admin requests a web page could send: admin routes take only JSON (`Content-Type:
  application/json`, which a browser sends cross-site only after a CORS preflight this server
  never grants), refuse requests that carry an `Origin` (every browser request does) or name a
  host other than this endpoint's (DNS rebinding, `host_refusal`), and check their values
  (`admin_change`). The labeling portal (`helpers.local.portal`) checks the host the same way.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

from botocore.exceptions import DataNotFoundError
from botocore.model import ServiceModel

from helpers.local.sagemaker import shapes

MAX_API_BODY = 5 * 2**20
MAX_S3_BODY = 100 * 2**20
MAX_ADMIN_BODY = 64 * 2**10
READ_TIMEOUT = 30.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
_SERVICE_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")


def body_limit(service: str, admin: bool = False) -> int:
    """The largest body (bytes) the endpoint reads for a request to this service."""
    if admin:
        return MAX_ADMIN_BODY
    return MAX_S3_BODY if service == "s3" else MAX_API_BODY


def declared_length(environ: dict[str, Any]) -> int | None:
    """The request's Content-Length (0 when absent), or None when it is not a whole number."""
    raw = str(environ.get("CONTENT_LENGTH") or "0").strip()
    return int(raw) if raw.isdigit() else None


def too_large_message(length: int, limit: int) -> str:
    """Why a body was refused, and what to do instead."""
    return (
        f"the request body has {length} bytes; the local AWS takes at most {limit} bytes "
        "per request here (for S3, upload larger files with boto3's upload_file, which sends "
        "them in parts)"
    )


@functools.lru_cache(maxsize=64)
def _model(service: str) -> ServiceModel | None:
    """botocore's model of a signing name (a client's word: checked before it names a file)."""
    if not _SERVICE_NAME.fullmatch(service):
        return None
    try:
        return shapes.service_model(service)
    except DataNotFoundError:
        return None


def unknown_operation(service: str, target: str) -> str | None:
    """Why an `X-Amz-Target` names no operation of the service, or None when it names one.

    Services whose signing name is not a botocore model (or not a JSON protocol) are left to
    the service behind (moto), which answers them as it does.
    """
    model = _model(service)
    prefix = model.metadata.get("targetPrefix") if model is not None else None
    if model is None or not prefix:
        return None
    given_prefix, _, operation = target.rpartition(".")
    if given_prefix == prefix and operation in model.operation_names:
        return None
    return f"{target!r} is not an operation of {model.service_id}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; ValueError when it is not JSON (NaN, invalid UTF-8 and nesting too
    deep to parse included)."""
    try:
        return json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("the JSON is nested too deep") from None


def json_problem(body: bytes) -> str | None:
    """Why a JSON-protocol body is not JSON (a SerializationException), or None."""
    if not body.strip():
        return None
    try:
        parse_json(body)
    except ValueError as exc:
        return f"the request body is not JSON: {exc}"
    return None


def host_refusal(environ: dict[str, Any]) -> str | None:
    """Why a request's `Host` is not this endpoint (127.0.0.1 or localhost, its port), or None.

    A page on another site whose name was made to resolve to 127.0.0.1 (DNS rebinding) sends
    its own name as `Host`: refused. The port must be the one the endpoint listens on (WSGI's
    `SERVER_PORT`); a request without `Host` (HTTP/1.0, a program) is let through.
    """
    host = str(environ.get("HTTP_HOST", "")).strip()
    if not host:
        return None
    name, _, port = host.lower().rpartition(":") if ":" in host else (host.lower(), "", "")
    ours = str(environ.get("SERVER_PORT", ""))
    if name in LOOPBACK_HOSTS and (port == ours or not ours or (not port and ours == "80")):
        return None
    where = f"127.0.0.1:{ours} or localhost:{ours}" if ours else "127.0.0.1 or localhost"
    return f"this endpoint answers only requests to {where}, not to {host[:100]!r}"


def admin_refusal(environ: dict[str, Any]) -> tuple[int, str] | None:
    """(status, reason) when an admin request may come from a web page, or None."""
    host = host_refusal(environ)
    if host is not None:
        return 403, f"admin routes: {host}"
    if environ.get("HTTP_ORIGIN"):
        return 403, "admin routes refuse requests from web pages (the request has an Origin)"
    if environ.get("REQUEST_METHOD") == "POST":
        media = str(environ.get("CONTENT_TYPE", "")).split(";", 1)[0].strip().lower()
        if media != "application/json":
            return 415, (
                f"admin routes take JSON: send Content-Type: application/json, not {media!r}"
            )
    return None


def admin_object(body: bytes) -> dict[str, Any]:
    """Parse an admin POST's body: a JSON object (an empty body is `{}`), else ValueError."""
    change = parse_json(body) if body.strip() else {}
    if not isinstance(change, dict):
        raise ValueError(f"the body must be a JSON object, not {type(change).__name__}")
    return change


def admin_change(body: bytes, known: dict[str, str]) -> dict[str, Any]:
    """Parse an admin POST's JSON object; ValueError unless every key is known and sane.

    `known` maps each key to its kind: "seconds" (a finite number, 0 or more) or "speed" (a
    finite number above 0).
    """
    change = admin_object(body)
    unknown = sorted(set(change) - set(known))
    if unknown:
        raise ValueError(f"unknown keys {unknown}; known: {sorted(known)}")
    for key, value in change.items():
        _check_number(key, value, known[key])
    return change


def _check_number(key: str, value: Any, kind: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number, not {value!r}")
    if kind == "speed" and value <= 0:
        raise ValueError(f"{key} must be above 0 (simulated seconds per real second), not {value}")
    if kind == "seconds" and value < 0:
        raise ValueError(f"{key} must be 0 or more (the clock only moves forward), not {value}")


def moto_has(service: str, operation: str) -> bool:
    """True when moto answers this operation (only SageMaker is asked: its model is larger).

    Ask only about operations `unknown_operation` let through (the model's names).
    """
    return service != "sagemaker" or _moto_sagemaker_has(operation)


@functools.cache
def _moto_sagemaker_has(operation: str) -> bool:
    from moto.core.utils import camelcase_to_underscores
    from moto.sagemaker.responses import SageMakerResponse

    return callable(getattr(SageMakerResponse, camelcase_to_underscores(operation), None))
