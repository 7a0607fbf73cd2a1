"""What the local SageMaker operations share: ARNs, and List*Jobs' filtering and paging."""

from __future__ import annotations

from typing import Any

from helpers.local.core import ACCOUNT


def sagemaker_arn(region: str, kind: str, name: str) -> str:
    """Build a SageMaker ARN such as arn:aws:sagemaker:us-west-2:123456789012:labeling-job/x."""
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name}"


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
