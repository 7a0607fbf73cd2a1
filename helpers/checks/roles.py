"""Checks of the two IAM roles: the SageMaker execution role and the KFP pod role (IRSA)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from helpers import policies
from helpers.awserrors import is_missing
from helpers.checks import trust
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
from helpers.dataset import input_uris
from helpers.names import run_names
from helpers.settings import Settings
from helpers.tags import SETUP_TAG, SHARED_TAG, tag_option

#: Managed policies that grant far more than the walkthrough needs.
BROAD_POLICIES = ("AdministratorAccess",)
Request = tuple[str, str]  # (action, resource ARN)
#: The run id the permission checks simulate names with (any run's are alike).
SAMPLE_RUN_ID = "00000000"


def s3_arn(uri: str) -> str:
    """Turn s3://bucket/key into the object's ARN."""
    return "arn:aws:s3:::" + uri.removeprefix("s3://")


def simulate(
    iam: Any, role_arn: str, requests: Sequence[Request], context: Mapping[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """Simulate the role's policies; return (action, resource, decision) of what is not allowed."""
    by_resource: dict[str, list[str]] = {}
    for action, resource in requests:
        by_resource.setdefault(resource, []).append(action)
    entries = [
        {"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
        for key, value in (context or {}).items()
    ]
    denied = []
    for resource, actions in by_resource.items():
        request: dict[str, Any] = {
            "PolicySourceArn": role_arn,
            "ActionNames": actions,
            "ResourceArns": [resource],
        }
        if entries:
            request["ContextEntries"] = entries
        for page in iam.get_paginator("simulate_principal_policy").paginate(**request):
            for result in page["EvaluationResults"]:
                if result["EvalDecision"] != "allowed":
                    denied.append((result["EvalActionName"], resource, result["EvalDecision"]))
    return denied


def describe_denied(denied: Sequence[tuple[str, str, str]]) -> str:
    """Say what a role may not do, readably (S3 ARNs shown as s3:// URIs)."""
    shown = []
    for action, resource, decision in denied[:6]:
        where = resource.replace("arn:aws:s3:::", "s3://")
        shown.append(f"{action} on {where} ({decision})")
    more = f" and {len(denied) - 6} more" if len(denied) > 6 else ""
    return "; ".join(shown) + more


def broad_policies(iam: Any, name: str) -> list[str]:
    """Return the managed policies attached to a role that grant full access."""
    pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
    return [
        p["PolicyName"]
        for page in pages
        for p in page["AttachedPolicies"]
        if p["PolicyName"].endswith("FullAccess") or p["PolicyName"] in BROAD_POLICIES
    ]


def put_policy_command(settings: Settings, arn: str, policy_name: str, doc: dict) -> str:
    """The command that writes an inline policy on a role."""
    return cli(
        "iam",
        "put-role-policy",
        settings.region,
        role_name=policies.role_name(arn),
        policy_name=policy_name,
        policy_document=doc,
    )


def keeping_current(iam: Any, role: str, policy_name: str, wanted: dict[str, Any]) -> dict:
    """`wanted`, merged with the role's current inline policy of that name (if it has one).

    So the printed fix widens the policy to these settings without taking away what it already
    allows (another prefix of an earlier run).
    """
    current = policies.inline_policy(iam, role, policy_name)
    return wanted if current is None else policies.merge_policy(current, wanted)


def create_role_command(settings: Settings, arn: str, trust_doc: dict) -> str:
    """The command that creates a role with a trust policy, tagged as a setup piece."""
    options: dict[str, Any] = {"role_name": policies.role_name(arn)}
    if policies.role_path(arn) != "/":
        options["path"] = policies.role_path(arn)
    options["assume_role_policy_document"] = trust_doc
    options["tags"] = tag_option(SETUP_TAG)
    return cli("iam", "create-role", settings.region, **options)


def _broad_warning(ctx: Context, arn: str, put: str) -> Outcome | None:
    name = policies.role_name(arn)
    broad = broad_policies(ctx.client("iam"), name)
    if not broad:
        return None
    detach = [
        cli(
            "iam",
            "detach-role-policy",
            ctx.settings.region,
            role_name=name,
            policy_arn=f"arn:aws:iam::aws:policy/{policy}",
        )
        for policy in broad
    ]
    return warned(
        f"role {name} relies on {', '.join(broad)}, far more than the walkthrough needs",
        "give it the least-privilege policy instead, then detach them:",
        put,
        *detach,
    )


# --- 5. the SageMaker execution role --------------------------------------------------------------


def execution_requests(settings: Settings) -> list[Request]:
    """What the jobs do with the execution role: read inputs, write outputs.

    With predictions on, also the batch transform's: list and read the test images, write the
    predictions of a run.
    """
    layout = settings.layout
    reads = [*vars(input_uris(settings)).values(), layout.image_uri("x")]
    writes = [f"{layout.labeling_output}/x", f"{layout.training_output}/x"]
    if settings.predictions:
        reads.append(layout.test_image_uri("x.jpg"))
        writes.append(layout.predictions(SAMPLE_RUN_ID) + "x.jpg.out")
    return [("s3:GetObject", s3_arn(u)) for u in reads] + [
        ("s3:PutObject", s3_arn(u)) for u in writes
    ]


def execution_role(ctx: Context) -> Outcome:
    """The execution role exists, trusts SageMaker, and may read the inputs and write outputs."""
    s = ctx.settings
    if not s.role_arn:
        return failed(
            "role_arn is unset",
            "set role_arn to the SageMaker execution role (an administrator creates it: "
            "python -m helpers.checks --create-missing).",
        )
    arn, name = s.role_arn, policies.role_name(s.role_arn)
    wanted = policies.execution_policy(s, ctx.account, ctx.key_arns)
    role = ctx.role(arn)
    if role is None:
        return failed(
            f"role {name} does not exist in account {ctx.account}",
            "create it (an administrator's step) with SageMaker's trust and the least-privilege "
            "policy:",
            create_role_command(s, arn, policies.sagemaker_trust())
            + " && "
            + put_policy_command(s, arn, policies.EXECUTION_POLICY_NAME, wanted),
        )
    merged = keeping_current(ctx.client("iam"), name, policies.EXECUTION_POLICY_NAME, wanted)
    put = put_policy_command(s, arn, policies.EXECUTION_POLICY_NAME, merged)
    parts = []
    doc = trust.document(role["AssumeRolePolicyDocument"])
    if not trust.trusts_service(doc, policies.SAGEMAKER_SERVICE):
        parts.append(
            failed(
                f"role {name} does not trust {policies.SAGEMAKER_SERVICE}: jobs could not "
                "assume it",
                "add SageMaker to its trust:",
                cli(
                    "iam",
                    "update-assume-role-policy",
                    s.region,
                    role_name=name,
                    policy_document=trust.with_service(doc, policies.SAGEMAKER_SERVICE),
                ),
            )
        )
    denied = simulate(ctx.client("iam"), arn, execution_requests(s))
    if s.predictions:  # the transform job lists its S3Prefix input
        listing = [("s3:ListBucket", s.layout.bucket_arn)]
        denied += simulate(ctx.client("iam"), arn, listing, {"s3:prefix": s.layout.test_image_keys})
    if s.enable_auto_labeling:  # Ground Truth's own jobs, as this role
        denied += simulate(ctx.client("iam"), arn, auto_labeling_requests(s, ctx.account))
        passing = [("iam:PassRole", arn)]
        denied += simulate(
            ctx.client("iam"), arn, passing, {"iam:PassedToService": policies.SAGEMAKER_SERVICE}
        )
    if denied:
        parts.append(
            failed(
                f"role {name} may not {describe_denied(denied)}",
                "give it the least-privilege policy (scoped to the bucket and prefix):",
                put,
            )
        )
    parts.append(_broad_warning(ctx, arn, put) or passed(""))
    predicts = (
        "; the transform job may read the test images and write the predictions"
        if s.predictions
        else f" ({PREDICTIONS_OFF})"
    )
    auto = (
        "; automated data labeling may run its training, transform and model jobs as it"
        if s.enable_auto_labeling
        else ""
    )
    return combine(
        parts,
        f"role {name} trusts {policies.SAGEMAKER_SERVICE}; it may read the inputs and images and "
        f"write under {s.s3_prefix_uri}/" + predicts + auto,
    )


def auto_labeling_requests(settings: Settings, account: str) -> list[Request]:
    """What Ground Truth does as the execution role when automated data labeling is on."""
    base = f"arn:aws:sagemaker:{settings.region}:{account}"
    return [
        (action, f"{base}:{kind}/x")
        for kind in policies.AUTO_LABELING_RESOURCES
        for action in policies.AUTO_LABELING_ACTIONS
        if action.lower().endswith(kind.replace("-", ""))
    ]


# --- 6. the pod role's trust: IRSA (or EKS Pod Identity) ------------------------------------------

#: EKS Pod Identity's credentials need boto3/botocore 1.34.41 or later; the official components
#: image has boto3 1.14 / botocore 1.17, so the official set's pods get credentials by IRSA only.
POD_IDENTITY_NEEDS = (
    "EKS Pod Identity, which the official components image (boto3 1.14 / botocore 1.17) cannot "
    "use: it needs boto3/botocore 1.34.41 or later"
)


def pod_role_trust(ctx: Context) -> Outcome:
    """The pod role trusts exactly the cluster's OIDC provider and the run's service account."""
    s = ctx.settings
    if not s.kfp_pod_role_arn:
        return failed(
            "kfp_pod_role_arn is unset",
            "set kfp_pod_role_arn to the role the pipeline's pods use (an administrator creates "
            "it: python -m helpers.checks --create-missing).",
        )
    arn, name = s.kfp_pod_role_arn, policies.role_name(s.kfp_pod_role_arn)
    role = ctx.role(arn)
    doc = trust.document(role["AssumeRolePolicyDocument"]) if role else {}
    pod_identity = role is not None and trust.uses_pod_identity(doc)
    if pod_identity and s.component_set != "official":
        return _pod_identity(ctx, arn, doc)
    cluster = _cluster_problem(ctx)
    if cluster is not None:
        return cluster
    issuer = ctx.issuer or ""
    subject = policies.service_account_subject(s.kfp_namespace, s.kfp_service_account)
    provider = policies.oidc_provider_arn(ctx.account, issuer)
    wanted = policies.irsa_trust(ctx.account, issuer, s.kfp_namespace, s.kfp_service_account)
    parts = [_provider(ctx, issuer, provider)]
    if role is None:
        pod_doc = policies.pod_policy(s, ctx.account, s.role_arn or "<execution role ARN>")
        parts.append(
            failed(
                f"role {name} does not exist in account {ctx.account}",
                f"create it (an administrator's step), trusting {subject} of this cluster, with "
                "the pipeline's least-privilege policy:",
                create_role_command(s, arn, wanted)
                + " && "
                + put_policy_command(s, arn, policies.POD_POLICY_NAME, pod_doc),
            )
        )
    else:
        problems, warnings = trust.irsa_findings(doc, provider, issuer, subject)
        fixed = trust.fixed_irsa_trust(
            doc, ctx.account, issuer, s.kfp_namespace, s.kfp_service_account
        )
        update = cli(
            "iam", "update-assume-role-policy", s.region, role_name=name, policy_document=fixed
        )
        if problems and pod_identity:
            parts.append(
                failed(
                    f"role {name} trusts {POD_IDENTITY_NEEDS}; component_set is official, so "
                    "its pods need IRSA: " + "; ".join(problems),
                    f"let {subject} of cluster {s.eks_cluster_name} assume it through IRSA too "
                    "(and annotate the service account, check 8), or set component_set=python "
                    "(its boto3 takes Pod Identity credentials):",
                    update,
                )
            )
        elif problems:
            parts.append(
                failed(
                    f"role {name}: " + "; ".join(problems),
                    f"let exactly {subject} of cluster {s.eks_cluster_name} assume it:",
                    update,
                )
            )
        elif warnings:
            parts.append(
                warned(
                    f"role {name}: " + "; ".join(warnings),
                    f"narrow its trust to {subject} of cluster {s.eks_cluster_name}:",
                    update,
                )
            )
    return combine(
        parts,
        f"IRSA: the IAM OIDC provider for {policies.issuer_host(issuer)} exists; role {name} "
        f"trusts it for {subject} with aud {policies.STS_AUDIENCE}",
    )


def _cluster_problem(ctx: Context) -> Outcome | None:
    s = ctx.settings
    clusters = cli("eks", "list-clusters", s.region)
    if not s.eks_cluster_name:
        return failed(
            "eks_cluster_name is unset, so the cluster's OIDC trust cannot be checked",
            f"set eks_cluster_name to the cluster Kubeflow runs on (`{clusters}` lists them).",
        )
    if ctx.cluster is None:
        return failed(
            f"EKS cluster {s.eks_cluster_name} does not exist in {s.region}",
            f"set eks_cluster_name to the cluster Kubeflow runs on (`{clusters}` lists them).",
        )
    if not ctx.issuer:
        return failed(
            f"EKS cluster {s.eks_cluster_name} reports no OIDC issuer",
            "use a cluster with an OIDC issuer (every EKS cluster since 1.13 has one).",
        )
    return None


def _provider(ctx: Context, issuer: str, provider: str) -> Outcome:
    s = ctx.settings
    iam = ctx.client("iam")
    try:
        found = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider)
    except ClientError as exc:
        if not is_missing(exc):
            raise
        return failed(
            f"no IAM OIDC provider for the cluster's issuer {policies.issuer_host(issuer)}",
            "create it with either command (eksctl, as the upstream README does, or the AWS CLI):",
            f"eksctl utils associate-iam-oidc-provider --cluster {s.eks_cluster_name} "
            f"--region {s.region} --approve",
            cli(
                "iam",
                "create-open-id-connect-provider",
                s.region,
                url=issuer,
                client_id_list=(policies.STS_AUDIENCE,),
                thumbprint_list=(policies.EKS_OIDC_THUMBPRINT,),
                tags=tag_option(SETUP_TAG, SHARED_TAG),
            ),
        )
    if policies.STS_AUDIENCE not in found.get("ClientIDList", []):
        return failed(
            f"the OIDC provider for {policies.issuer_host(issuer)} lacks the audience "
            f"{policies.STS_AUDIENCE}",
            "add it:",
            cli(
                "iam",
                "add-client-id-to-open-id-connect-provider",
                s.region,
                open_id_connect_provider_arn=provider,
                client_id=policies.STS_AUDIENCE,
            ),
        )
    return passed("")


def _pod_identity(ctx: Context, arn: str, doc: dict[str, Any]) -> Outcome:
    """Check a role that trusts EKS Pod Identity, and the service account's association."""
    s = ctx.settings
    name = policies.role_name(arn)
    where = f"{s.kfp_namespace}/{s.kfp_service_account}"
    parts = []
    problems = trust.pod_identity_problems(doc)
    if problems:
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": policies.POD_IDENTITY_SERVICE},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
        fixed = {"Version": policies.VERSION, "Statement": [*trust.statements(doc), statement]}
        parts.append(
            failed(
                f"role {name} (EKS Pod Identity): " + "; ".join(problems),
                "trust EKS Pod Identity fully:",
                cli(
                    "iam",
                    "update-assume-role-policy",
                    s.region,
                    role_name=name,
                    policy_document=fixed,
                ),
            )
        )
    cluster = _cluster_problem(ctx)
    if cluster is not None:
        return combine([*parts, cluster], "")
    eks = ctx.client("eks")
    try:
        listed = eks.list_pod_identity_associations(
            clusterName=s.eks_cluster_name,
            namespace=s.kfp_namespace,
            serviceAccount=s.kfp_service_account,
        )["associations"]
        roles = [
            eks.describe_pod_identity_association(
                clusterName=s.eks_cluster_name, associationId=a["associationId"]
            )["association"].get("roleArn")
            for a in listed
        ]
    except ClientError as exc:
        if is_denied(exc):
            raise
        return combine(
            [
                *parts,
                skipped(
                    f"EKS Pod Identity: role {name} trusts {policies.POD_IDENTITY_SERVICE}, but "
                    f"the association of {where} could not be read here "
                    f"(ListPodIdentityAssociations answered {error_code(exc) or 'an error'}; "
                    "the local AWS does not offer it)",
                    f"check it with `aws eks list-pod-identity-associations --cluster-name "
                    f"{s.eks_cluster_name} --region {s.region}`.",
                ),
            ],
            "",
        )
    if arn not in roles:
        parts.append(
            failed(
                f"EKS Pod Identity: {where} is not associated with role {name}"
                + (f" (it is with {', '.join(r for r in roles if r)})" if roles else ""),
                "associate them:",
                cli(
                    "eks",
                    "create-pod-identity-association",
                    s.region,
                    cluster_name=s.eks_cluster_name,
                    namespace=s.kfp_namespace,
                    service_account=s.kfp_service_account,
                    role_arn=arn,
                ),
            )
        )
    return combine(parts, f"EKS Pod Identity: {where} is associated with role {name}")


# --- 7. what the pod role may do ------------------------------------------------------------------


def pod_requests(settings: Settings, account: str) -> list[Request]:
    """What the pipeline's pods do as the pod role (for the run's names)."""
    names = run_names(settings, SAMPLE_RUN_ID)
    base = f"arn:aws:sagemaker:{settings.region}:{account}"
    team = f"{base}:workteam/private-crowd/{names.team}"
    jobs = [f"{base}:labeling-job/{n.lower()}" for n in (names.train_job, names.validation_job)]
    training = f"{base}:training-job/{names.training_job.lower()}"
    requests: list[Request] = []
    if settings.label_studio:  # the labeling step reads the manifests and writes the output
        requests += label_studio_step_requests(settings)
    else:
        actions = ("CreateWorkteam", "DescribeWorkteam", "AddTags")
        requests += [(f"sagemaker:{a}", team) for a in actions]
        for job in jobs:
            actions = ("CreateLabelingJob", "DescribeLabelingJob")
            requests += [(f"sagemaker:{a}", job) for a in actions]
    training_actions = ("CreateTrainingJob", "DescribeTrainingJob", "AddTags")
    requests += [(f"sagemaker:{a}", training) for a in training_actions]
    if settings.predictions:
        model = f"{base}:model/{names.model.lower()}"
        transform = f"{base}:transform-job/{names.transform_job.lower()}"
        requests += [(f"sagemaker:{a}", model) for a in ("CreateModel", "DescribeModel", "AddTags")]
        transform_actions = (
            "CreateTransformJob",
            "DescribeTransformJob",
            "StopTransformJob",
            "AddTags",
        )
        requests += [(f"sagemaker:{a}", transform) for a in transform_actions]
    return requests


def label_studio_step_requests(settings: Settings) -> list[Request]:
    """What the Label Studio labeling step does as the pod role: read inputs, write the output."""
    staged = input_uris(settings)
    reads = [staged.train_manifest, staged.validation_manifest, staged.label_config]
    writes = [f"{settings.layout.labeling_output}/x"]
    return [("s3:GetObject", s3_arn(u)) for u in reads] + [
        ("s3:PutObject", s3_arn(u)) for u in writes
    ]


def pod_role_permissions(ctx: Context) -> Outcome:
    """The pod role may run the pipeline's SageMaker calls and pass the execution role."""
    s = ctx.settings
    if not s.kfp_pod_role_arn or ctx.role(s.kfp_pod_role_arn) is None:
        return skipped(f"the pod role {s.kfp_pod_role_arn or '(unset)'} does not exist (check 6)")
    arn, name = s.kfp_pod_role_arn, policies.role_name(s.kfp_pod_role_arn)
    iam = ctx.client("iam")
    denied = simulate(iam, arn, pod_requests(s, ctx.account))
    if s.role_arn:
        denied += simulate(
            iam,
            arn,
            [("iam:PassRole", s.role_arn)],
            {"iam:PassedToService": policies.SAGEMAKER_SERVICE},
        )
    wanted = policies.pod_policy(s, ctx.account, s.role_arn or "<execution role ARN>")
    merged = keeping_current(iam, name, policies.POD_POLICY_NAME, wanted)
    put = put_policy_command(s, arn, policies.POD_POLICY_NAME, merged)
    parts = []
    if denied:
        parts.append(
            failed(
                f"role {name} may not {describe_denied(denied)}",
                "give it the pipeline's least-privilege policy (workteams, labeling and training "
                "jobs, the model and the batch transform job, and iam:PassRole on the execution "
                "role for SageMaker only):",
                put,
            )
        )
    parts.append(_broad_warning(ctx, arn, put) or passed(""))
    execution = policies.role_name(s.role_arn) if s.role_arn else "(role_arn unset)"
    jobs = (
        "labeling jobs, training jobs, models and transform jobs"
        if s.predictions
        else f"labeling jobs and training jobs ({PREDICTIONS_OFF})"
    )
    if s.label_studio:
        jobs = jobs.replace("labeling jobs, ", "").replace("labeling jobs and ", "")
        return combine(
            parts,
            f"role {name} may read the manifests and write the labeling output (Label Studio's "
            f"step), create and describe {jobs}, and pass {execution} to "
            f"{policies.SAGEMAKER_SERVICE}",
        )
    return combine(
        parts,
        f"role {name} may create and describe workteams, {jobs}, and pass {execution} to "
        f"{policies.SAGEMAKER_SERVICE}",
    )
