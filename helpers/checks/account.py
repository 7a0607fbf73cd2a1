"""Checks of the account as a whole: credentials, region, and the GPU training quota."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from helpers import regions
from helpers.checks.context import Context
from helpers.checks.model import Outcome, cli, combine, error_code, failed, passed, skipped
from helpers.policies import account_of
from helpers.settings import DEFAULT_TRAINING_INSTANCE, training_instance_problem


def credentials(ctx: Context) -> Outcome:
    """Credentials work, and the account and region are those the settings name."""
    s = ctx.settings
    identity = ctx.identity
    account = ctx.account
    session_region = ctx.aws.session.region_name
    parts = []
    for name in ("role_arn", "kfp_pod_role_arn"):
        arn = getattr(s, name)
        if arn and account_of(arn) != account:
            parts.append(
                failed(
                    f"{name} is in account {account_of(arn)}, but the credentials are for "
                    f"account {account}",
                    f"use credentials of account {account_of(arn)}, or set {name} to a role of "
                    f"account {account}.",
                )
            )
    if session_region != s.region:
        parts.append(
            failed(
                f"the AWS session uses region {session_region}, the settings say {s.region}",
                "connect with helpers.aws.connect(settings), which uses the settings' region.",
            )
        )
    return combine(parts, f"account {account} as {identity['Arn']}, region {s.region}")


def region(ctx: Context) -> Outcome:
    """The region has Ground Truth's built-in image-classification Lambdas (and the algorithm)."""
    s = ctx.settings
    problem = regions.region_problem(s.region)
    if problem:
        return failed(problem, regions.region_fix() + ".")
    return passed(
        f"{s.region} has Ground Truth's built-in Lambdas "
        f"({regions.pre_human_task_lambda(s.region).split(':function:')[1]}, ...) and the "
        "image-classification algorithm"
    )


def training_instance(ctx: Context) -> Outcome:
    """The training instance type is a GPU type, and the account's quota covers the count."""
    s = ctx.settings
    kind, count = s.training_instance_type, s.training_instance_count
    problem = training_instance_problem(kind)
    if problem:
        return failed(
            problem, f"set training_instance_type to a GPU type, e.g. {DEFAULT_TRAINING_INSTANCE}."
        )
    quotas = ctx.client("service-quotas")
    name = f"{kind} for training job usage"
    try:
        code, default = _quota_code(quotas, name)
    except ClientError as exc:
        if error_code(exc) != "NoSuchResourceException":
            raise
        return skipped(
            f"{kind} is a GPU type the algorithm supports; its training quota could not be read: "
            f"Service Quotas has no SageMaker quotas here ({exc.response['Error'].get('Message')})",
            "check the quota in the Service Quotas console (SageMaker, "
            f"'{name}') if training fails with ResourceLimitExceeded.",
        )
    if code is None:
        return skipped(
            f"{kind} is a GPU type; Service Quotas lists no quota named '{name}'",
            "check the quota in the Service Quotas console.",
        )
    try:
        value = quotas.get_service_quota(ServiceCode="sagemaker", QuotaCode=code)["Quota"]["Value"]
    except ClientError as exc:
        if error_code(exc) != "NoSuchResourceException":
            raise
        value = default
    if value < count:
        return failed(
            f"the account's quota '{name}' is {value:g}, below training_instance_count={count} "
            "(new accounts often have 0 for GPU training instances: the job would fail with "
            "ResourceLimitExceeded)",
            "request an increase (it can take a day or more), or use another GPU type with quota.",
            cli(
                "service-quotas",
                "request-service-quota-increase",
                s.region,
                service_code="sagemaker",
                quota_code=code,
                desired_value=count,
            ),
        )
    return passed(f"{kind} is a GPU type; quota '{name}' is {value:g} (need {count})")


def _quota_code(quotas: Any, name: str) -> tuple[str | None, float]:
    """Find a SageMaker quota's code and default value by its name."""
    pages = quotas.get_paginator("list_aws_default_service_quotas").paginate(
        ServiceCode="sagemaker"
    )
    for page in pages:
        for quota in page.get("Quotas", []):
            if quota.get("QuotaName") == name:
                return quota["QuotaCode"], float(quota.get("Value", 0))
    return None, 0.0
