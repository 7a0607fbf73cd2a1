"""What an AWS error means: the resource is missing, the call was denied, or something else.

One place decides "missing", from an explicit list of error codes. Anything else, a denied
look-up above all, is not "missing": callers let it through (the checks turn a denial into SKIP
with the reason), so a name is never called free, nor a resource "nothing to clean", because the
caller was not allowed to look.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")

#: Error codes that say the resource asked for does not exist.
MISSING_CODES = frozenset(
    {
        "404",
        "NotFound",
        "NoSuchKey",
        "NoSuchBucket",
        "NoSuchEntity",
        "ResourceNotFound",
        "ResourceNotFoundException",
        "UserNotFoundException",
    }
)
#: SageMaker answers Describe* of a missing training job (and some others) with this code and a
#: "not found" message; only that message makes it "missing" (any other ValidationException is not).
NOT_FOUND_VALIDATION = "ValidationException"
#: The messages of such a ValidationException that say "missing": "Requested resource not
#: found" (training jobs), "Could not find requested job with name ..." (transform jobs), "Could
#: not find model "<arn>"." (DescribeModel, DeleteModel), "... does not exist or is not
#: taggable" (ListTags). Not CreateModel's "Could not find model data at s3://...": that is a bad
#: request, not a missing resource.
NOT_FOUND_MESSAGES = (
    "not found",
    "could not find requested job",
    'could not find model "',
    "does not exist or is not taggable",
)
#: Error codes AWS services answer when the caller is not allowed to make a call.
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "AuthorizationError",
        "Forbidden",
        "403",
    }
)


#: Error codes that say the credentials themselves are expired, unknown or malformed.
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "AuthFailure",
    }
)


def error_code(exc: ClientError) -> str:
    """Return the error code of a botocore ClientError."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    """Return the error message of a botocore ClientError."""
    return str(exc.response.get("Error", {}).get("Message", ""))


def is_missing(exc: ClientError) -> bool:
    """Return True when the error says the resource does not exist (and nothing else)."""
    code = error_code(exc)
    if code in MISSING_CODES:
        return True
    message = error_message(exc).lower()
    return code == NOT_FOUND_VALIDATION and any(m in message for m in NOT_FOUND_MESSAGES)


def is_denied(exc: ClientError) -> bool:
    """Return True when the error says the caller may not make the call."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(exc) in DENIED_CODES or (status == 403 and error_code(exc) == "")


def unless_missing(call: Callable[..., T], **request: Any) -> T | None:
    """Make a read call; None when the resource does not exist, any other error is raised."""
    try:
        return call(**request)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise
