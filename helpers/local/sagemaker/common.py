"""What the local SageMaker operations share: ARNs, the job record, List*Jobs paging."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from helpers.local.config import LocalConfig
from helpers.local.core import ACCOUNT, Backend, Clock
from helpers.local.faults import Faults
from helpers.local.iam.role_access import RoleAccess

if TYPE_CHECKING:  # workforces.py imports this module
    from helpers.local.sagemaker.workforces import Workforces


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
    start = int(request.get("NextToken") or 0)
    size = int(request.get("MaxResults") or 10)
    token = str(start + size) if start + size < len(chosen) else None
    return chosen[start : start + size], token
