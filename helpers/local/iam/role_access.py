"""Acting as an IAM role in the local AWS: read its policies, decide what it may do."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from helpers.local.core import Backend, split_s3_uri, validation
from helpers.local.iam.policy import (
    Decision,
    NamedPolicy,
    evaluate,
    s3_bucket_arn,
    s3_object_arn,
)


def role_name(arn: str) -> str:
    """Return the role name of a role ARN (the part after the last '/')."""
    return arn.rsplit("/", 1)[-1]


@dataclass
class RoleAccess:
    """Reads roles and their policies from the local IAM and evaluates them."""

    backend: Backend

    def _iam(self) -> Any:
        return self.backend.client("iam", "us-east-1")

    def require_role(self, arn: str) -> dict[str, Any]:
        """Return the role, or raise ValidationException as SageMaker does for a missing role."""
        try:
            return dict(self._iam().get_role(RoleName=role_name(arn))["Role"])
        except ClientError as exc:
            raise validation(
                f"Could not assume role {arn}: the role does not exist, or it does "
                "not trust sagemaker.amazonaws.com"
            ) from exc

    def policies(self, arn: str) -> list[NamedPolicy]:
        """Return the role's attached (default versions) and inline policies."""
        iam = self._iam()
        name = role_name(arn)
        found: list[NamedPolicy] = []
        pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
        for page in pages:
            for attached in page["AttachedPolicies"]:
                policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(
                    PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
                )
                found.append(
                    NamedPolicy(
                        name=attached["PolicyName"],
                        document=_document(version["PolicyVersion"]["Document"]),
                    )
                )
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy_name in page["PolicyNames"]:
                inline = iam.get_role_policy(RoleName=name, PolicyName=policy_name)
                found.append(
                    NamedPolicy(name=policy_name, document=_document(inline["PolicyDocument"]))
                )
        return found

    def decide(
        self,
        arn: str,
        actions: Sequence[str],
        resources: Sequence[str],
        context: Mapping[str, Sequence[str]] | None = None,
    ) -> list[Decision]:
        """Evaluate every action on every resource for the role."""
        policies = self.policies(arn)
        return [
            evaluate(policies, action, resource, context)
            for action in actions
            for resource in resources
        ]

    def check_read(self, arn: str, uris: Sequence[str]) -> str | None:
        """Return why the role may not read these S3 objects, or None when it may."""
        return self._check(arn, "s3:GetObject", uris)

    def check_write(self, arn: str, uris: Sequence[str]) -> str | None:
        """Return why the role may not write these S3 objects, or None when it may."""
        return self._check(arn, "s3:PutObject", uris)

    def check_list(self, arn: str, uri: str) -> str | None:
        """Return why the role may not list the S3 prefix `uri`, or None when it may."""
        try:
            self.require_role(arn)
        except Exception as exc:  # noqa: BLE001 - the reason is the message
            return str(exc)
        bucket, prefix = split_s3_uri(uri)
        decision = evaluate(
            self.policies(arn), "s3:ListBucket", s3_bucket_arn(bucket), {"s3:prefix": [prefix]}
        )
        if decision.decision != "allowed":
            return (
                f"Access Denied: the role {arn} is not allowed to perform s3:ListBucket on "
                f"s3://{bucket} ({decision.decision}); grant it in the role's policy"
            )
        return None

    def check_key(
        self, arn: str, key: str | None, region: str, actions: Sequence[str]
    ) -> str | None:
        """Return why the role may not use a KMS key (missing, or not allowed), or None.

        The key's own key policy is taken to be the default one (it lets IAM policies decide).
        """
        if not key:
            return None
        try:
            meta = self.backend.client("kms", region).describe_key(KeyId=key)["KeyMetadata"]
        except ClientError as exc:
            return f"KMS key {key} cannot be used in {region}: {exc.response['Error']['Message']}"
        if meta.get("KeyState") != "Enabled":
            return f"KMS key {key} is {meta.get('KeyState')}: it cannot be used"
        policies = self.policies(arn)
        for action in actions:
            decision = evaluate(policies, action, meta["Arn"])
            if decision.decision != "allowed":
                return (
                    f"Access Denied: the role {arn} is not allowed to perform {action} on KMS key "
                    f"{meta['Arn']} ({decision.decision}); the role's policy and the key policy "
                    "must allow it"
                )
        return None

    def _check(self, arn: str, action: str, uris: Sequence[str]) -> str | None:
        try:
            self.require_role(arn)
        except Exception as exc:  # noqa: BLE001 - the reason is the message
            return str(exc)
        policies = self.policies(arn)
        for uri in uris:
            bucket, key = split_s3_uri(uri)
            decision = evaluate(policies, action, s3_object_arn(bucket, key))
            if decision.decision != "allowed":
                return (
                    f"Access Denied: the role {arn} is not allowed to perform {action} on "
                    f"{uri} ({decision.decision}); grant it in the role's policy"
                )
        return None


def _document(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):
        return dict(json.loads(unquote(value)))
    return dict(value)
