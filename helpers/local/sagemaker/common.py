"""What the local SageMaker operations share: ARNs, the job record, List*Jobs paging."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from helpers import regions
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
_QUERY_KEYS = (
    "NameContains",
    "StatusEquals",
    "SortBy",
    "SortOrder",
    "CreationTimeAfter",
    "CreationTimeBefore",
    "LastModifiedTimeAfter",
    "LastModifiedTimeBefore",
)
#: The only algorithm the local AWS runs.
ALGORITHM = "image-classification"


def sagemaker_arn(region: str, kind: str, name: str) -> str:
    """Build a SageMaker ARN such as arn:aws:sagemaker:us-west-2:123456789012:labeling-job/x."""
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name}"


def require_algorithm_image(image: str, region: str, member: str) -> None:
    """Raise ValidationException unless `image` is the region's image-classification image."""
    expected = (
        regions.image_classification_image(region)
        if region in regions.IMAGE_CLASSIFICATION_ACCOUNTS
        else None
    )
    if expected is None or image.rsplit(":", 1)[0] != expected.rsplit(":", 1)[0]:
        raise validation(
            f"The local AWS runs only the built-in {ALGORITHM} "
            f"algorithm ({expected or 'not published in ' + region}); got {member} {image!r}"
        )


@dataclass
class JobOperations:
    """What the SageMaker job operations use: moto, the clock, teams and tags, roles, faults."""

    backend: Backend
    clock: Clock
    workforces: Workforces
    roles: RoleAccess
    faults: Faults = field(default_factory=Faults)
    config: LocalConfig = field(default_factory=LocalConfig)

    def require_network(self, vpc: dict[str, Any] | None, region: str) -> None:
        """The VpcConfig's subnets and security groups exist in the region (EC2, in moto)."""
        if not vpc:
            return
        ec2 = self.backend.client("ec2", region)
        for kind, ids, key in (
            ("subnet", vpc["Subnets"], "Subnets"),
            ("security group", vpc["SecurityGroupIds"], "SecurityGroups"),
        ):
            found = (
                ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": ids}])
                if key == "Subnets"
                else ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": ids}])
            )[key]
            have = {item.get("SubnetId") or item.get("GroupId") for item in found}
            missing = [i for i in ids if i not in have]
            if missing:
                raise validation(f"The {kind} ID '{missing[0]}' does not exist in {region}")


def start_child(module: str) -> subprocess.Popen[str]:
    """Start a job's child process (`python -m module`), talking JSON lines over its pipes."""
    return subprocess.Popen(
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def follow_child(
    process: subprocess.Popen[str],
    spec: dict[str, Any],
    on_status: Callable[[str], None],
    no_result: str,
) -> dict[str, Any]:
    """Send the spec, report each `STATUS <name>` line, wait; return the child's `RESULT` JSON.

    A child that ends without a result (killed, crashed) gives `{"ok": False, "reason":
    no_result}`.
    """
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(json.dumps(spec))
        process.stdin.close()
    except BrokenPipeError:  # stopped before it read its spec
        pass
    outcome: dict[str, Any] = {"ok": False, "reason": no_result}
    for line in process.stdout:
        if line.startswith("STATUS "):
            on_status(line.split(" ", 1)[1].strip())
        elif line.startswith("RESULT "):
            outcome = json.loads(line.split(" ", 1)[1])
    process.wait()
    return outcome


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

    Jobs need `name`, `status`, `created` and `last_modified`; the request's NameContains,
    StatusEquals, CreationTime/LastModifiedTime After/Before, SortBy (Name, Status,
    CreationTime), SortOrder, MaxResults and NextToken apply.
    """
    contains = request.get("NameContains", "").lower()
    status = request.get("StatusEquals")
    chosen = [
        j
        for j in jobs
        if contains in j.name.lower() and status in (None, j.status) and _in_times(j, request)
    ]
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


def _epoch_of(value: Any) -> float:
    """A request timestamp (epoch seconds, or ISO 8601 text) as epoch seconds."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return float(value)


def _in_times(job: Any, request: dict[str, Any]) -> bool:
    """Whether a job's creation and last change fall inside the request's time bounds."""
    for key, attribute in (("CreationTime", "created"), ("LastModifiedTime", "last_modified")):
        after, before = request.get(f"{key}After"), request.get(f"{key}Before")
        if after is None and before is None:
            continue
        value = getattr(job, attribute)
        if after is not None and not value > _epoch_of(after):
            return False
        if before is not None and not value < _epoch_of(before):
            return False
    return True


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
