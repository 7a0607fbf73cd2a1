"""`--create-missing`: build the setup the upstream README builds by hand, from the settings.

An administrator's step. It creates only what is missing and leaves existing pieces as they
are (the checks then say what is wrong with them): the bucket with Ground Truth's CORS rule, the
SageMaker execution role, the Cognito pool with a domain, app client, group and users, the
private workforce, in local mode the EKS cluster record, the cluster's IAM OIDC provider, and the
KFP pod role trusting the run's service account. Roles get least-privilege inline policies
scoped to the bucket and prefix (`helpers.policies`), not the upstream `FullAccess` policies.

Everything it creates is tagged `walkthrough-setup=true`; the shared pieces (OIDC provider,
Cognito pool, private workforce) also `walkthrough-shared=true`, so a clean-up can leave them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from helpers import cognito, gt_access, policies
from helpers.awserrors import error_code, is_missing
from helpers.errors import InputError, WalkthroughError
from helpers.labelstudio.api import LabelStudioError
from helpers.s3 import ensure_bucket
from helpers.settings import Settings
from helpers.tags import SETUP_TAG, SHARED_TAG, WORKFORCE_NAME, tag_map, tag_pairs

CREATED, EXISTS, WIDENED, SKIPPED, FAILED = "created", "exists", "widened", "skipped", "failed"
POOL_NAME = "gt-walkthrough-labelers"
CLIENT_NAME = "gt-walkthrough"


@dataclass(frozen=True)
class Step:
    """What create-missing did about one piece of the setup."""

    piece: str
    outcome: str
    detail: str


def _guard(piece: str, make: Callable[[], Step]) -> Step:
    """Make one piece; a refused or failed call becomes a `failed` step with the reason."""
    try:
        return make()
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        note = gt_access.explain(exc)
        if note:
            return Step(piece, FAILED, f"{error_code(exc)}: {note}")
        return Step(piece, FAILED, f"{exc.operation_name}: {error_code(exc)}: {message}")
    except InputError as exc:
        return Step(piece, SKIPPED, f"{exc.rule}; {exc.fix}")
    except (LabelStudioError, WalkthroughError) as exc:  # the Label Studio pieces
        return Step(piece, FAILED, str(exc))


def create_missing(settings: Settings, aws: Any) -> list[Step]:
    """Create every missing setup piece; return what was created, found or skipped."""
    account = aws.account_id()
    steps = [
        _guard("S3 bucket", lambda: _bucket(settings, aws)),
        _guard(
            "SageMaker execution role",
            lambda: _role(
                aws,
                account,
                settings.role_arn,
                policies.sagemaker_trust(),
                policies.EXECUTION_POLICY_NAME,
                policies.execution_policy(
                    settings,
                    account,
                    policies.resolve_keys(aws.client("kms"), settings, account)
                    if policies.configured_keys(settings)
                    else None,
                ),
            ),
        ),
    ]
    if settings.label_studio:  # no Cognito workforce: Label Studio's own accounts label
        steps.append(_guard("Label Studio annotators", lambda: _annotators(settings)))
    else:
        pool_steps, settings = _workforce(settings, aws)
        steps += pool_steps
    steps.append(_guard("EKS cluster", lambda: _cluster(settings, aws)))
    issuer = _issuer(settings, aws)
    steps.append(_guard("IAM OIDC provider", lambda: _oidc_provider(aws, account, issuer)))
    steps.append(_guard("KFP pod role", lambda: _pod_role(settings, aws, account, issuer)))
    return steps


def _annotators(settings: Settings) -> Step:
    """Local mode: make the labelers' missing Label Studio accounts (random passwords)."""
    from helpers.labelstudio import token
    from helpers.labelstudio.annotators import annotator_emails

    piece = "Label Studio annotators"
    emails = annotator_emails(settings)
    if not emails:
        return Step(piece, SKIPPED, "no labelers set (settings: labelers)")
    if settings.mode != "local" or settings.label_studio_url:
        return Step(piece, SKIPPED, "invite them in Label Studio (Organization > Add People)")
    client = token.client(settings)
    known = {str(u.get("email", "")).lower() for u in client.users()}
    missing = [e for e in emails if e.lower() not in known]
    if not missing:
        return Step(piece, EXISTS, f"{len(emails)} annotator account(s)")
    token.local_server().add_annotators(missing)  # accounts with random passwords
    return Step(piece, CREATED, f"{', '.join(missing)} (passwords: notebook 02, local mode)")


def _bucket(settings: Settings, aws: Any) -> Step:
    s3 = aws.client("s3")
    created = ensure_bucket(s3, settings.bucket, settings.region, create=True)
    if created:
        return Step("S3 bucket", CREATED, f"s3://{settings.bucket} in {settings.region}, with CORS")
    return Step("S3 bucket", EXISTS, f"s3://{settings.bucket}")


def _role(
    aws: Any,
    account: str,
    arn: str | None,
    trust: dict[str, Any],
    policy_name: str,
    policy: dict[str, Any],
    piece: str = "SageMaker execution role",
) -> Step:
    if not arn:
        return Step(piece, SKIPPED, "its ARN setting is unset")
    if policies.account_of(arn) != account:
        return Step(piece, SKIPPED, f"{arn} is not in this account ({account})")
    iam = aws.client("iam")
    name = policies.role_name(arn)
    try:
        iam.get_role(RoleName=name)
        return _widen(iam, name, policy_name, policy, piece)
    except ClientError as exc:
        if not is_missing(exc):
            raise
    iam.create_role(
        RoleName=name,
        Path=policies.role_path(arn),
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="Ground Truth -> Kubeflow Pipelines walkthrough",
        Tags=tag_pairs(SETUP_TAG),
    )
    iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    return Step(piece, CREATED, f"{name}, with the inline policy {policy_name}")


def _widen(iam: Any, name: str, policy_name: str, policy: dict[str, Any], piece: str) -> Step:
    """An existing role the walkthrough made also gets what these settings need (a new prefix).

    Roles it did not make are left as they are; the checks say what they lack.
    """
    if tag_map(iam.list_role_tags(RoleName=name).get("Tags")).get(SETUP_TAG) != "true":
        return Step(piece, EXISTS, f"{name} (not made by the walkthrough: left as it is)")
    current = policies.inline_policy(iam, name, policy_name) or {"Statement": []}
    merged = policies.merge_policy(current, policy)
    if merged == current:
        return Step(piece, EXISTS, name)
    iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(merged))
    return Step(
        piece, WIDENED, f"{name}: its inline policy {policy_name} now also covers these settings"
    )


def _workforce(settings: Settings, aws: Any) -> tuple[list[Step], Settings]:
    """Pool, domain, app client, groups, users and the private workforce."""
    idp = aws.client("cognito-idp")
    workforce = cognito.private_workforce(aws.client("sagemaker"))
    config = (workforce or {}).get("CognitoConfig", {})
    steps = []
    pool = settings.user_pool or config.get("UserPool")
    if pool is None:
        pool = idp.create_user_pool(
            PoolName=POOL_NAME,
            UserPoolTags={SETUP_TAG: "true", SHARED_TAG: "true"},
            AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        )["UserPool"]["Id"]
        steps.append(Step("Cognito user pool", CREATED, f"{POOL_NAME} ({pool})"))
    else:
        source = "the private workforce's" if not settings.user_pool else "user_pool"
        try:
            idp.describe_user_pool(UserPoolId=pool)
        except ClientError as exc:
            if not is_missing(exc):
                raise
            return [Step("Cognito user pool", SKIPPED, f"{pool} ({source}) does not exist")], (
                settings
            )
        steps.append(Step("Cognito user pool", EXISTS, f"{pool} ({source})"))
    steps.append(_guard("Cognito domain", lambda: _domain(idp, pool)))
    client = settings.client_id or (
        config.get("ClientId") if config.get("UserPool") == pool else None
    )
    client_step, client = _client(idp, pool, client)
    steps.append(client_step)
    updates = {"user_pool": pool, "client_id": client}
    settings = dataclasses.replace(settings, **updates)
    steps += [
        _guard("Cognito group", lambda g=g: _group(idp, pool, g))
        for g in cognito.group_names(settings)
    ]
    steps.append(_guard("Cognito users", lambda: _users(settings, idp, pool)))
    steps.append(_guard("private workforce", lambda: _private_workforce(settings, aws, workforce)))
    return steps, settings


def _domain(idp: Any, pool: str) -> Step:
    found = idp.describe_user_pool(UserPoolId=pool)["UserPool"]
    if found.get("Domain") or found.get("CustomDomain"):
        return Step("Cognito domain", EXISTS, found.get("Domain") or found.get("CustomDomain"))
    domain = "gt-walkthrough-" + hashlib.sha256(pool.encode()).hexdigest()[:12]
    idp.create_user_pool_domain(Domain=domain, UserPoolId=pool)
    return Step("Cognito domain", CREATED, domain)


def _client(idp: Any, pool: str, client: str | None) -> tuple[Step, str | None]:
    if client:
        try:
            idp.describe_user_pool_client(UserPoolId=pool, ClientId=client)
            return Step("Cognito app client", EXISTS, client), client
        except ClientError as exc:
            if not is_missing(exc):
                raise
            return Step("Cognito app client", SKIPPED, f"{client} does not exist"), client
    created = idp.create_user_pool_client(
        UserPoolId=pool, ClientName=CLIENT_NAME, GenerateSecret=True
    )["UserPoolClient"]["ClientId"]
    return Step("Cognito app client", CREATED, f"{CLIENT_NAME} ({created})"), created


def _group(idp: Any, pool: str, group: str) -> Step:
    try:
        idp.get_group(UserPoolId=pool, GroupName=group)
        return Step("Cognito group", EXISTS, group)
    except ClientError as exc:
        if not is_missing(exc):
            raise
    idp.create_group(
        UserPoolId=pool, GroupName=group, Description="Labelers of the Ground Truth walkthrough"
    )
    return Step("Cognito group", CREATED, group)


def _users(settings: Settings, idp: Any, pool: str) -> Step:
    groups = cognito.group_names(settings)
    names = cognito.labeler_names(settings)
    if not groups or not names:
        return Step("Cognito users", SKIPPED, "no labelers set (settings: labelers)")
    group = groups[0]
    members = set(cognito.group_members(idp, pool, group))
    added = []
    for name in names:
        if name in members:
            continue
        if not cognito.user_exists(idp, pool, name):
            request: dict[str, Any] = {"UserPoolId": pool, "Username": name}
            if "@" in name:
                request["UserAttributes"] = [
                    {"Name": "email", "Value": name},
                    {"Name": "email_verified", "Value": "true"},
                ]
                request["DesiredDeliveryMediums"] = ["EMAIL"]
            idp.admin_create_user(**request)
        idp.admin_add_user_to_group(UserPoolId=pool, Username=name, GroupName=group)
        added.append(name)
    if not added:
        return Step("Cognito users", EXISTS, f"{len(names)} labeler(s) in {group}")
    return Step("Cognito users", CREATED, f"added {', '.join(added)} to {group}")


def _private_workforce(settings: Settings, aws: Any, workforce: dict[str, Any] | None) -> Step:
    if workforce is not None:
        return Step(
            "private workforce",
            EXISTS,
            f"{workforce['WorkforceName']}: "
            + str(cognito.sign_in_url(workforce, aws.client("sagemaker").meta.endpoint_url)),
        )
    if not settings.client_id:
        return Step("private workforce", SKIPPED, "no app client")
    sm = aws.client("sagemaker")
    sm.create_workforce(
        WorkforceName=WORKFORCE_NAME,
        CognitoConfig={"UserPool": settings.user_pool, "ClientId": settings.client_id},
        Tags=tag_pairs(SETUP_TAG, SHARED_TAG),
    )
    created = sm.describe_workforce(WorkforceName=WORKFORCE_NAME)["Workforce"]
    url = cognito.sign_in_url(created, sm.meta.endpoint_url)
    return Step("private workforce", CREATED, f"{WORKFORCE_NAME}: {url}")


def _cluster(settings: Settings, aws: Any) -> Step:
    name = settings.eks_cluster_name
    if not name:
        return Step("EKS cluster", SKIPPED, "eks_cluster_name is unset")
    eks = aws.client("eks")
    try:
        eks.describe_cluster(name=name)
        return Step("EKS cluster", EXISTS, name)
    except ClientError as exc:
        if not is_missing(exc):
            raise
    if not settings.create_eks_cluster:
        return Step("EKS cluster", SKIPPED, f"{name} does not exist; create it with eksctl")
    account = aws.account_id()
    eks.create_cluster(
        name=name,
        roleArn=f"arn:aws:iam::{account}:role/{name}-cluster-role",
        resourcesVpcConfig={},
        tags={SETUP_TAG: "true"},
    )
    return Step("EKS cluster", CREATED, f"{name} (a record in the local AWS, with an OIDC issuer)")


def _issuer(settings: Settings, aws: Any) -> str | None:
    if not settings.eks_cluster_name:
        return None
    try:
        cluster = aws.client("eks").describe_cluster(name=settings.eks_cluster_name)["cluster"]
    except ClientError:
        return None
    return cluster.get("identity", {}).get("oidc", {}).get("issuer")


def _oidc_provider(aws: Any, account: str, issuer: str | None) -> Step:
    if not issuer:
        return Step("IAM OIDC provider", SKIPPED, "no EKS cluster with an OIDC issuer")
    iam = aws.client("iam")
    arn = policies.oidc_provider_arn(account, issuer)
    try:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
        return Step("IAM OIDC provider", EXISTS, policies.issuer_host(issuer))
    except ClientError as exc:
        if not is_missing(exc):
            raise
    iam.create_open_id_connect_provider(
        Url=issuer,
        ClientIDList=[policies.STS_AUDIENCE],
        ThumbprintList=[policies.EKS_OIDC_THUMBPRINT],
        Tags=tag_pairs(SETUP_TAG, SHARED_TAG),
    )
    return Step("IAM OIDC provider", CREATED, policies.issuer_host(issuer))


def _pod_role(settings: Settings, aws: Any, account: str, issuer: str | None) -> Step:
    if not issuer:
        return Step("KFP pod role", SKIPPED, "its trust needs the EKS cluster's OIDC issuer")
    trust = policies.irsa_trust(
        account, issuer, settings.kfp_namespace, settings.kfp_service_account
    )
    policy = policies.pod_policy(settings, account, settings.role_arn or "")
    return _role(
        aws,
        account,
        settings.kfp_pod_role_arn,
        trust,
        policies.POD_POLICY_NAME,
        policy,
        piece="KFP pod role",
    )


def text_report(steps: list[Step]) -> str:
    """The steps as plain text, one line each."""
    width = max(len(step.piece) for step in steps)
    lines = ["Create missing setup pieces:"]
    lines += [f"  {step.piece:<{width}}  {step.outcome:<7}  {step.detail}" for step in steps]
    return "\n".join(lines)
