"""What the checks share: the settings, AWS access, probes of the cluster, and cached look-ups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from helpers import cognito, policies
from helpers.awserrors import is_missing
from helpers.checks import probes
from helpers.settings import Settings


def label_studio_client(settings: Settings) -> Any:
    """The settings' Label Studio API client (local mode: the local server, started on demand)."""
    from helpers.labelstudio import token

    return token.client(settings)


def label_studio_url(settings: Settings) -> str:
    """The settings' Label Studio URL (local mode: the local server's, started on demand)."""
    from helpers.labelstudio import token

    return token.server_url(settings)


@dataclass
class Context:
    """The settings and AWS access one round of checks uses; look-ups are made once."""

    settings: Settings
    aws: Any
    kubernetes: Callable[[Settings], tuple[Any | None, str]] = probes.kubernetes_api
    kfp_health: Callable[[Settings], str] = probes.kfp_health
    label_studio: Callable[[Settings], Any] = label_studio_client
    label_studio_url: Callable[[Settings], str] = label_studio_url
    _roles: dict[str, dict[str, Any] | None] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """Return the AWS client for a service."""
        return self.aws.client(service)

    @cached_property
    def identity(self) -> dict[str, Any]:
        """The caller identity (raises when the credentials do not work)."""
        return dict(self.client("sts").get_caller_identity())

    @cached_property
    def studio(self) -> Any:
        """The Label Studio API client (raises when there is no URL, token or server)."""
        return self.label_studio(self.settings)

    @property
    def account(self) -> str:
        """The account the credentials belong to."""
        return str(self.identity["Account"])

    @cached_property
    def workforce(self) -> dict[str, Any] | None:
        """The region's private workforce, if any."""
        return cognito.private_workforce(self.client("sagemaker"))

    @cached_property
    def cluster(self) -> dict[str, Any] | None:
        """The EKS cluster the settings name, or None when it is unset or does not exist."""
        name = self.settings.eks_cluster_name
        if not name:
            return None
        try:
            return dict(self.client("eks").describe_cluster(name=name)["cluster"])
        except ClientError as exc:
            if is_missing(exc):
                return None
            raise

    @property
    def issuer(self) -> str | None:
        """The cluster's OIDC issuer URL, when the cluster exists and has one."""
        cluster = self.cluster or {}
        return cluster.get("identity", {}).get("oidc", {}).get("issuer")

    @cached_property
    def key_arns(self) -> dict[str, str]:
        """ARNs of the configured KMS keys (by the key as given), where they can be resolved."""
        if not policies.configured_keys(self.settings):
            return {}
        return policies.resolve_keys(self.client("kms"), self.settings, self.account)

    def role(self, arn: str) -> dict[str, Any] | None:
        """Return an IAM role of the caller's account by ARN, or None when it does not exist."""
        if arn not in self._roles:
            try:
                role = self.client("iam").get_role(RoleName=policies.role_name(arn))["Role"]
                self._roles[arn] = dict(role)
            except ClientError as exc:
                if not is_missing(exc):
                    raise
                self._roles[arn] = None
        return self._roles[arn]
