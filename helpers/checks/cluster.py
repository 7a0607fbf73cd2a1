"""Checks that need the Kubernetes cluster: the service account's role, and the KFP API."""

from __future__ import annotations

from typing import Any

from helpers import policies
from helpers.checks import probes, trust
from helpers.checks.context import Context
from helpers.checks.model import Outcome, failed, passed, skipped

ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def _uses_pod_identity(ctx: Context) -> bool:
    arn = ctx.settings.kfp_pod_role_arn
    role = ctx.role(arn) if arn else None
    return bool(role) and trust.uses_pod_identity(trust.document(role["AssumeRolePolicyDocument"]))


def service_account(ctx: Context) -> Outcome:
    """The run's Kubernetes service account carries the pod role (IRSA annotation)."""
    s = ctx.settings
    ns, name, arn = s.kfp_namespace, s.kfp_service_account, s.kfp_pod_role_arn or "<pod role>"
    annotate = f"kubectl annotate serviceaccount -n {ns} {name} {ROLE_ANNOTATION}={arn} --overwrite"
    api, where = ctx.kubernetes(s)
    if api is None:
        return skipped(
            where,
            f"check it where the cluster is reachable: `kubectl get "
            f"serviceaccount -n {ns} {name} -o yaml`",
        )
    try:
        account = api.read_namespaced_service_account(name, ns, _request_timeout=10)
    except Exception as exc:  # noqa: BLE001 - ApiException or a network error; say which
        status = getattr(exc, "status", None)
        if status == 404:
            return failed(
                f"service account {ns}/{name} does not exist ({where})",
                "create it and annotate it with the pod role (standalone KFP has "
                "kubeflow/pipeline-runner; multi-user Kubeflow uses <profile>/default-editor):",
                f"kubectl create serviceaccount -n {ns} {name} && {annotate}",
            )
        reason = "not allowed to read it" if status == 403 else "the API did not answer"
        return skipped(f"service account {ns}/{name}: {reason} ({where}: {_short(exc)})")
    annotations: dict[str, Any] = dict(account.metadata.annotations or {})
    value = annotations.get(ROLE_ANNOTATION)
    if value == s.kfp_pod_role_arn:
        return passed(f"{ns}/{name} has {ROLE_ANNOTATION}={value} ({where})")
    pod_identity = value is None and _uses_pod_identity(ctx)
    if pod_identity and s.component_set != "official":
        return passed(f"{ns}/{name} gets its role from EKS Pod Identity (no annotation needed)")
    why = (
        "; the official components image cannot use EKS Pod Identity (boto3 1.14): it needs IRSA"
        if pod_identity
        else ""
    )
    return failed(
        f"{ns}/{name} has {ROLE_ANNOTATION}={value or '(none)'}, not the pod role "
        f"{policies.role_name(arn)} ({where}){why}",
        "annotate it (pods started afterwards get the role):",
        annotate,
    )


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def kfp_api(ctx: Context) -> Outcome:
    """The Kubeflow Pipelines API answers (aws mode)."""
    s = ctx.settings
    if s.mode == "local":
        return skipped(probes.LOCAL_RUNNER)
    where = probes.kfp_endpoint(s)
    forward = "kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80"
    if where is None:
        return failed(
            "no KFP API to reach: this is not a Kubeflow notebook server and kfp_host is unset",
            "run the notebooks in a Kubeflow notebook server, or forward the API and set "
            "kfp_host=http://localhost:8080:",
            forward,
        )
    try:
        detail = ctx.kfp_health(s)
    except Exception as exc:  # noqa: BLE001 - any failure to answer is the finding
        return failed(
            f"the KFP API ({where}) did not answer: {_short(exc)}",
            "check kfp_host (or, in a multi-user Kubeflow notebook server, the "
            "access-ml-pipeline PodDefault and kfp_namespace = your profile).",
        )
    return passed(f"the KFP API ({where}) answers ({detail})")
