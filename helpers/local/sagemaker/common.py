"""What the local SageMaker operations share: ARNs, the job record, List*Jobs paging."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from helpers.local.config import LocalConfig
from helpers.local.core import ACCOUNT, Backend, Clock, validation
from helpers.local.faults import Faults
from helpers.local.iam.role_access import RoleAccess

if TYPE_CHECKING:  # workforces.py imports this module
    from helpers.local.sagemaker.workforces import Workforces

#: Signs the NextTokens this process issues (made once per process, never changed).
_TOKEN_KEY = secrets.token_bytes(32)
_TOKEN = re.compile(r"(\d{1,9})\.([0-9a-f]{32})")
#: The request keys a NextToken is bound to: a token is valid only for the query that issued it.
_QUERY_KEYS = ("NameContains", "StatusEquals", "SortBy", "SortOrder")


def sagemaker_arn(region: str, kind: str, name: str) -> str:
    """Build a SageMaker ARN such as arn:aws:sagemaker:us-west-2:123456789012:labeling-job/x."""
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name}"


@dataclass
class JobOperations:
    """What the labeling and training operations use: moto, the clock, teams and tags, roles."""

    backend: Backend
    clock: Clock
    workforces: Workforces
    roles: RoleAccess
    faults: Faults = field(default_factory=Faults)
    config: LocalConfig = field(default_factory=LocalConfig)


@dataclass
class Job:
    """What every local SageMaker job records: its request, where and when it was created, state."""

    NAME_KEY: ClassVar[str] = ""  # the request's key that holds the job's name

    request: dict[str, Any]
    region: str
    arn: str
    created: float
    status: str = ""
    failure_reason: str | None = None
    forced_failure: str | None = None
    last_modified: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        """The job's name."""
        return str(self.request[self.NAME_KEY])


def select_jobs(jobs: list[Any], request: dict[str, Any]) -> tuple[list[Any], str | None]:
    """Filter, sort and page jobs as SageMaker's List*Jobs do; return the page and NextToken.

    Jobs need `name`, `status` and `created`; the request's NameContains, StatusEquals, SortBy
    (Name, Status, CreationTime), SortOrder, MaxResults and NextToken apply.
    """
    contains = request.get("NameContains", "").lower()
    status = request.get("StatusEquals")
    chosen = [j for j in jobs if contains in j.name.lower() and status in (None, j.status)]
    sort_by = request.get("SortBy", "CreationTime")
    chosen.sort(
        key=lambda j: (
            j.name if sort_by == "Name" else j.status if sort_by == "Status" else j.created
        ),
        reverse=request.get("SortOrder", "Descending") == "Descending",
    )
    start = page_start(request)
    size = int(request.get("MaxResults") or 10)
    token = next_token(request, start + size) if start + size < len(chosen) else None
    return chosen[start : start + size], token


def _signature(request: dict[str, Any], offset: int) -> str:
    query = json.dumps([offset, *(request.get(k) for k in _QUERY_KEYS)], default=str)
    return hmac.new(_TOKEN_KEY, query.encode(), hashlib.sha256).hexdigest()[:32]


def next_token(request: dict[str, Any], offset: int) -> str:
    """The NextToken of the page that starts at `offset` of this request's list (opaque)."""
    return f"{offset}.{_signature(request, offset)}"


def page_start(request: dict[str, Any]) -> int:
    """Where the request's page starts: 0, or the offset of a NextToken this process issued.

    Any other token (made up, changed, or from a query with other filters) is a
    ValidationException, as AWS answers a token it did not issue (the wording is ours).
    """
    given = request.get("NextToken")
    if not given:
        return 0
    match = _TOKEN.fullmatch(str(given))
    if match and hmac.compare_digest(match[2], _signature(request, int(match[1]))):
        return int(match[1])
    raise validation(
        f"Invalid NextToken {str(given)[:64]!r}: pass the NextToken of the previous answer, "
        "with the same NameContains, StatusEquals, SortBy and SortOrder"
    )
