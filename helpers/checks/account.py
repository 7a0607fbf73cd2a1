"""Checks of the account as a whole: credentials, region, instance quotas, Ground Truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from helpers import gt_access, regions
from helpers.checks.context import Context
from helpers.checks.model import (
    PREDICTIONS_OFF,
    Outcome,
    cli,
    combine,
    error_code,
    failed,
    is_denied,
    passed,
    skipped,
    warned,
)
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
    """The training instance type is a GPU type; the account's quotas cover the jobs' instances.

    The training quota (`<type> for training job usage`) and, with predictions on, the batch
    transform's (`<type> for transform job usage`, one instance): often small on new accounts.
    """
    s = ctx.settings
    kind, count = s.training_instance_type, s.training_instance_count
    problem = training_instance_problem(kind)
    if problem:
        return failed(
            problem, f"set training_instance_type to a GPU type, e.g. {DEFAULT_TRAINING_INSTANCE}."
        )
    needs = [Need(f"{kind} for training job usage", count, "training_instance_count")]
    if s.predictions:
        needs.append(Need(f"{s.transform_instance_type} for transform job usage", 1, ""))
    names = ", ".join(f"'{n.quota}'" for n in needs)
    quotas = ctx.client("service-quotas")
    try:
        codes = _quota_codes(quotas, {n.quota for n in needs})
    except ClientError as exc:
        if error_code(exc) != "NoSuchResourceException":
            raise
        return skipped(
            f"{kind} is a GPU type the algorithm supports; its quotas ({names}) could not be "
            "read: " + _no_quotas_reason(s.mode, str(exc.response["Error"].get("Message", ""))),
            f"check the quotas in the Service Quotas console (SageMaker, {names}) if a job fails "
            "with ResourceLimitExceeded.",
        )
    parts = [_quota(quotas, s.region, need, codes.get(need.quota)) for need in needs]
    fine = "; ".join([f"{kind} is a GPU type", *(p.found for p in parts)])
    if not s.predictions:
        fine += f" (the transform quota is not checked: {PREDICTIONS_OFF})"
    return combine(parts, fine)


@dataclass(frozen=True)
class Need:
    """A SageMaker quota a job needs: its name, the instances, the setting holding the count."""

    quota: str
    count: int
    count_setting: str


def _quota(quotas: Any, region: str, need: Need, found: tuple[str, float] | None) -> Outcome:
    """PASS when the account's quota covers the need, FAIL with the increase request if not."""
    if found is None:
        return skipped(
            f"Service Quotas lists no quota named '{need.quota}'",
            "check the quota in the Service Quotas console.",
        )
    code, default = found
    try:
        value = quotas.get_service_quota(ServiceCode="sagemaker", QuotaCode=code)["Quota"]["Value"]
    except ClientError as exc:
        if error_code(exc) != "NoSuchResourceException":
            raise
        value = default
    if value >= need.count:
        return passed(f"quota '{need.quota}' is {value:g} (need {need.count})")
    wanted = f"{need.count_setting}={need.count}" if need.count_setting else f"{need.count}"
    other = (
        "another GPU type with quota"
        if need.count_setting
        else "set transform_instance_type to another type with quota (the algorithm's inference "
        "also runs on CPU types)"
    )
    return failed(
        f"the account's quota '{need.quota}' is {value:g}, below {wanted} (new accounts often "
        "have small or 0 quotas: the job would fail with ResourceLimitExceeded)",
        f"request an increase (it can take a day or more), or use {other}.",
        cli(
            "service-quotas",
            "request-service-quota-increase",
            region,
            service_code="sagemaker",
            quota_code=code,
            desired_value=need.count,
        ),
    )


def _no_quotas_reason(mode: str, message: str) -> str:
    """Why Service Quotas had no SageMaker quotas: not emulated locally, else AWS's own words."""
    if mode == "local":  # the answer is the same call's; only its explanation differs
        return (
            "the local AWS does not emulate Service Quotas (there is no quota to run out of "
            "locally); in aws mode this check reads the account's quota"
        )
    return f"Service Quotas has no SageMaker quotas in this region ({message})"


def _quota_codes(quotas: Any, names: set[str]) -> dict[str, tuple[str, float]]:
    """Find SageMaker quotas' codes and default values by their names (one listing)."""
    pages = quotas.get_paginator("list_aws_default_service_quotas").paginate(
        ServiceCode="sagemaker"
    )
    found = {}
    for page in pages:
        for quota in page.get("Quotas", []):
            if quota.get("QuotaName") in names:
                found[quota["QuotaName"]] = (quota["QuotaCode"], float(quota.get("Value", 0)))
    return found


# --- 14. access to Ground Truth -------------------------------------------------------------------


def ground_truth_access(ctx: Context) -> Outcome:
    """The account may use Ground Truth: it has used it before (closed to new customers).

    What the answers allow: labeling jobs or a private workforce show an existing customer; a
    look-up refused for the account (not by IAM) shows one without access. Whether a first
    CreateLabelingJob would be accepted only that call tells, and the checks create nothing.
    """
    s = ctx.settings
    sm = ctx.client("sagemaker")
    unverified = []
    try:
        jobs = sm.list_labeling_jobs(MaxResults=1)["LabelingJobSummaryList"]
    except ClientError as exc:
        refused = _refused(exc)
        if refused is not None:
            return refused
        jobs = []
        unverified.append(f"ListLabelingJobs is denied by IAM ({error_code(exc)})")
    if jobs:
        return passed(
            f"the account has labeling jobs in {s.region} (e.g. {jobs[0]['LabelingJobName']}): "
            "an existing Ground Truth customer, which AWS keeps serving"
        )
    try:
        workforce = ctx.workforce
    except ClientError as exc:
        refused = _refused(exc)
        if refused is not None:
            return refused
        workforce = None
        unverified.append(f"ListWorkforces is denied by IAM ({error_code(exc)})")
    if workforce:
        return passed(
            f"the account has a private workforce in {s.region} ({workforce['WorkforceName']}): "
            "it has used Ground Truth, and existing customers continue as normal"
        )
    seen = "no labeling job and no private workforce" if not unverified else "; ".join(unverified)
    return warned(
        f"could not verify that this account may use Ground Truth: {gt_access.CLOSURE}. Verified: "
        f"the account answers Ground Truth's look-ups in {s.region} and shows {seen}, as a new "
        "customer's would (another region may hold its jobs). Not verified: whether "
        "CreateWorkforce / CreateLabelingJob will be accepted (only those calls tell; the checks "
        "create nothing)",
        "if this account never used Ground Truth, ask AWS (your account team or AWS Support) "
        "whether it has access before submitting; `--create-missing` creating the private "
        "workforce also tells (a refusal there names the closure). Meanwhile "
        f"{gt_access.LOCAL_MODE}.",
    )


def _refused(exc: ClientError) -> Outcome | None:
    """FAIL for a look-up refused for the account; None for an IAM denial; re-raise the rest."""
    note = gt_access.explain(exc)
    if note:
        return failed(f"the account may not use Ground Truth: {note}", gt_access.LOCAL_MODE + ".")
    if is_denied(exc):
        return None
    raise exc
