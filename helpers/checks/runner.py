"""The list of checks, and running them: each one guarded, so one failure never hides the rest."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from helpers import gt_access
from helpers.aws import CREDENTIALS_FIX
from helpers.checks import account, cluster, guardrails, labelstudio, roles, storage, workforce
from helpers.checks.context import Context
from helpers.checks.model import (
    Outcome,
    Result,
    aimed_at,
    error_code,
    failed,
    is_denied,
    skipped,
)
from helpers.errors import CredentialsError, InputError
from helpers.labelstudio.api import LabelStudioError


@dataclass(frozen=True)
class Check:
    """One setup check: its number, short name, what it checks, and the function."""

    number: int
    name: str
    title: str
    run: Callable[[Context], Outcome]
    #: False for a check that makes no AWS call (it runs even when the credentials do not work).
    needs_aws: bool = True
    #: The labeling backend the check belongs to (None: both); with the other it SKIPs.
    backend: str | None = None


CHECKS: tuple[Check, ...] = (
    Check(
        1,
        "credentials",
        "credentials work; account and region are the settings'",
        account.credentials,
    ),
    Check(
        2,
        "region",
        "Ground Truth's built-in image-classification Lambdas exist here",
        account.region,
        needs_aws=False,
        backend="ground_truth",
    ),
    Check(
        3,
        "bucket",
        "bucket exists, in the session region, with Ground Truth's CORS rule",
        storage.bucket,
    ),
    Check(
        4, "inputs", "notebook 01's manifests, images, labels and template agree", storage.inputs
    ),
    Check(
        5,
        "execution role",
        "SageMaker execution role: trust, read inputs, write outputs",
        roles.execution_role,
    ),
    Check(
        6,
        "cluster trust",
        "OIDC provider and the pod role's trust (IRSA or Pod Identity)",
        roles.pod_role_trust,
    ),
    Check(
        7,
        "pod permissions",
        "pod role may run the jobs and pass the execution role",
        roles.pod_role_permissions,
    ),
    Check(
        8,
        "service account",
        "the run's Kubernetes service account carries the pod role",
        cluster.service_account,
    ),
    Check(
        9,
        "workforce",
        "Cognito pool, app client and group; the private workforce agrees",
        workforce.workforce,
        backend="ground_truth",
    ),
    Check(
        10,
        "names",
        "team and job names are free (or the team is ours)",
        workforce.names,
        backend="ground_truth",
    ),
    Check(11, "KFP API", "the Kubeflow Pipelines API answers", cluster.kfp_api, needs_aws=False),
    Check(
        12,
        "training instance",
        "GPU training instance type; the account's training and transform quotas",
        account.training_instance,
    ),
    Check(
        13,
        "keys and VPC",
        "the KMS keys and VPC the settings name exist; the execution role may use them",
        guardrails.keys_and_network,
    ),
    Check(
        14,
        "Ground Truth access",
        "the account may use Ground Truth (closed to new customers since 2026-07-30)",
        account.ground_truth_access,
        backend="ground_truth",
    ),
    Check(
        15,
        "Label Studio",
        "the Label Studio server answers at label_studio_url",
        labelstudio.server,
        needs_aws=False,
        backend="label_studio",
    ),
    Check(
        16,
        "Label Studio user",
        "the API token works; its user may create projects",
        labelstudio.user,
        needs_aws=False,
        backend="label_studio",
    ),
    Check(
        17,
        "Label Studio storage",
        "Label Studio can list the staged images in S3",
        labelstudio.storage,
        backend="label_studio",
    ),
    Check(
        18,
        "annotators",
        "each labeler has a Label Studio account; enough per task",
        labelstudio.annotators,
        needs_aws=False,
        backend="label_studio",
    ),
)


def guarded(check: Check, ctx: Context) -> Outcome:
    """Run one check; a denied call becomes SKIP with the reason, any other error a FAIL."""
    backend = ctx.settings.labeling_backend
    if check.backend is not None and check.backend != backend:
        return skipped(f"labeling backend is {backend}")
    try:
        return check.run(ctx)
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        if is_denied(exc):
            return skipped(
                f"not allowed to call {exc.operation_name} ({error_code(exc)}: {message})",
                gt_access.explain(exc)
                or "grant it (the README's minimal policy lists what the checks call), or ask an "
                "administrator to run the checks.",
            )
        return failed(
            f"{exc.operation_name} failed: {error_code(exc)}: {message}",
            "see the message; run the checks again once it is fixed.",
        )
    except InputError as exc:
        return failed(f"{exc.setting} = {exc.value!r}: {exc.rule}", exc.fix + ".")
    except CredentialsError as exc:
        return _credentials_problem(exc)
    except LabelStudioError as exc:
        return failed(str(exc), "see the message; run the checks again once it is fixed.")
    except (BotoCoreError, OSError) as exc:
        return failed(f"could not reach AWS: {exc}", "check the network and the region.")


def _credentials_problem(exc: Exception) -> Outcome:
    if isinstance(exc, CredentialsError):
        return failed(f"the AWS credentials do not work: {exc.problem}", exc.fix + ".")
    return failed(f"the AWS credentials do not work: {exc}", CREDENTIALS_FIX + ".")


#: Shown for the account in the policies notebook 02 prints when the credentials do not work.
ACCOUNT_PLACEHOLDER = "ACCOUNT_ID"


def caller_account(aws: Any) -> str:
    """The credentials' account, or ACCOUNT_PLACEHOLDER (saying why) when they do not work."""
    try:
        return str(aws.account_id())
    except CredentialsError as exc:
        print(
            f"{exc}\nThe setup checks below report this as check 1; the policies show "
            f"{ACCOUNT_PLACEHOLDER} for the account."
        )
        return ACCOUNT_PLACEHOLDER


def run_checks(
    settings: Any, aws: Any, only: Collection[int] | None = None, **probes: Any
) -> list[Result]:
    """Run every check (or those numbered in `only`); return one result per check, in order."""
    ctx = Context(settings, aws, **probes)
    try:
        ctx.identity  # noqa: B018 - the look-up is the test
        broken = None
    except (ClientError, BotoCoreError, CredentialsError) as exc:
        broken = _credentials_problem(exc)
    results = []
    for check in CHECKS:
        if only is not None and check.number not in only:
            continue
        if check.backend == "label_studio" and not settings.label_studio:
            continue  # Ground Truth's table stays as it was: no Label Studio rows
        if broken is None or not check.needs_aws:
            outcome = aimed_at(guarded(check, ctx), getattr(aws, "endpoint_url", None))
        elif check.number == 1:
            outcome = broken
        else:
            outcome = skipped(f"not checked: {broken.found} (check 1 says how to fix it)")
        results.append(
            Result(
                check.number,
                check.name,
                check.title,
                outcome.status,
                outcome.found,
                outcome.fix,
                outcome.commands,
            )
        )
    return results
