"""Reaching what is not AWS: the Kubernetes API and the Kubeflow Pipelines API.

In local mode there is neither (the EKS cluster is a record in the local AWS, and pipelines run
on KFP's local runner), so both say why not instead of trying.
"""

from __future__ import annotations

import os
from typing import Any

from helpers.settings import Settings

LOCAL_NO_CLUSTER = (
    "local mode has no Kubernetes cluster: the EKS cluster is only a record in the local AWS"
)
LOCAL_RUNNER = (
    "local mode runs the pipeline on KFP's local runner (kfp.local); there is no KFP API to ask"
)


def kubernetes_api(settings: Settings) -> tuple[Any | None, str]:
    """Return (CoreV1Api, where) for the cluster this runs in or kubeconfig's, or (None, why)."""
    if settings.mode == "local":
        return None, LOCAL_NO_CLUSTER
    from kubernetes import client, config

    try:
        config.load_incluster_config()
        where = "in-cluster"
    except config.ConfigException:
        try:
            config.load_kube_config()
            where = "kubeconfig"
        except (config.ConfigException, OSError, TypeError) as exc:
            return None, (
                "no Kubernetes cluster is reachable: this is not a pod in a cluster and there "
                f"is no usable kubeconfig ({exc})"
            )
    return client.CoreV1Api(), where


def kfp_endpoint(settings: Settings) -> str | None:
    """Return where the KFP API would be reached (host, or 'in-cluster'), or None."""
    if settings.kfp_host or os.environ.get("KF_PIPELINES_ENDPOINT"):
        return settings.kfp_host or os.environ["KF_PIPELINES_ENDPOINT"]
    return "in-cluster" if os.environ.get("KUBERNETES_SERVICE_HOST") else None


def kfp_health(settings: Settings) -> str:
    """Ask the KFP API for its health; return a short description (raises when it fails)."""
    import kfp

    client = kfp.Client(host=settings.kfp_host, namespace=settings.kfp_namespace)
    health = client.get_kfp_healthz(sleep_duration=1)
    return f"multi-user: {bool(getattr(health, 'multi_user', False))}"
