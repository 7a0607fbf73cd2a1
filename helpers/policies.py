"""Least-privilege IAM documents for the walkthrough's roles, built from the settings.

- `sagemaker_trust`: lets SageMaker (labeling and training jobs) assume the execution role;
- `irsa_trust`: lets exactly one Kubernetes service account assume the KFP pod role, through the
  EKS cluster's IAM OIDC provider (IRSA);
- `execution_policy`: what the SageMaker execution role needs (read the inputs, write the outputs
  under the prefix; logs, metrics and the algorithm image);
- `pod_policy`: what the pipeline's pods need (workteam, labeling and training jobs, with
  predictions on the model and the batch transform job, and `iam:PassRole` on the execution
  role, for SageMaker only);
- `walkthrough_policy`: what the notebooks themselves need to check, stage, submit and follow.

`python -m helpers.policies [execution|pod|walkthrough|trust]` prints one, filled in with the
effective settings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from helpers import regions
from helpers.awserrors import unless_missing
from helpers.layout import Layout
from helpers.settings import KMS_SETTINGS, Settings, load

VERSION = "2012-10-17"
SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
STS_AUDIENCE = "sts.amazonaws.com"
WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
#: Names of the inline policies the walkthrough writes on its roles.
EXECUTION_POLICY_NAME = "walkthrough-sagemaker-execution"
POD_POLICY_NAME = "walkthrough-kfp-pod"
#: Thumbprint of the root CA of EKS's OIDC issuers (IAM no longer uses it for them, but some
#: tools still ask for one).
EKS_OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
#: What the execution role does with a KMS key for output in S3: Ground Truth's page "Encrypt
#: Output Data and Storage Volume with AWS KMS" (sms-security-kms-permissions) lists these; the
#: API reference of OutputDataConfig.KmsKeyId asks for kms:Encrypt for training output.
OUTPUT_KEY_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)
#: A volume key: SageMaker has the execution role create a grant for the instance's volume
#: (ResourceConfig.VolumeKmsKeyId; the same page, for automated labeling's volumes).
VOLUME_KEY_ACTIONS = ("kms:CreateGrant",)
#: What a training job in a VPC does as the execution role (SageMaker's "How to use SageMaker
#: execution roles" page, CreateTrainingJob with a VpcConfig): its network interfaces.
VPC_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)


def issuer_host(issuer: str) -> str:
    """Return an OIDC issuer URL without `https://`, as IAM names providers and condition keys."""
    return issuer.removeprefix("https://").removeprefix("http://").rstrip("/")


def oidc_provider_arn(account: str, issuer: str) -> str:
    """Return the ARN of the IAM OIDC provider for an issuer."""
    return f"arn:aws:iam::{account}:oidc-provider/{issuer_host(issuer)}"


def service_account_subject(namespace: str, service_account: str) -> str:
    """Return the token subject of a Kubernetes service account."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def account_of(arn: str) -> str:
    """Return the account id field of an ARN."""
    return arn.split(":")[4]


def role_name(arn: str) -> str:
    """Return the role name of a role ARN (the part after the last `/`)."""
    return arn.rsplit("/", 1)[-1]


def role_path(arn: str) -> str:
    """Return the path of a role ARN (`/` for most roles)."""
    resource = arn.split(":", 5)[5]
    middle = resource.split("/")[1:-1]
    return "/" + "".join(f"{part}/" for part in middle)


def sagemaker_trust() -> dict[str, Any]:
    """Trust policy that lets SageMaker assume the execution role."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": SAGEMAKER_SERVICE},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def irsa_statement(account: str, issuer: str, namespace: str, service_account: str) -> dict:
    """The trust statement for one service account of one cluster (IRSA)."""
    host = issuer_host(issuer)
    return {
        "Effect": "Allow",
        "Principal": {"Federated": oidc_provider_arn(account, issuer)},
        "Action": WEB_IDENTITY_ACTION,
        "Condition": {
            "StringEquals": {
                f"{host}:aud": STS_AUDIENCE,
                f"{host}:sub": service_account_subject(namespace, service_account),
            }
        },
    }


def irsa_trust(account: str, issuer: str, namespace: str, service_account: str) -> dict[str, Any]:
    """Trust policy that lets exactly one service account assume the pod role."""
    return {
        "Version": VERSION,
        "Statement": [irsa_statement(account, issuer, namespace, service_account)],
    }


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    found = policy.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _resources(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Resource", [])
    return [value] if isinstance(value, str) else list(value)


def merge_policy(existing: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """`wanted`, still allowing what `existing` allowed: same-Sid statements get both resources.

    Used to widen a role the walkthrough made for one prefix to another one without taking the
    first prefix away. Statements of `existing` whose Sid `wanted` lacks are kept as they are.
    """
    before_all = _statements(existing)
    old = {s.get("Sid"): s for s in before_all if s.get("Sid")}
    wanted_sids = {s.get("Sid") for s in wanted["Statement"]}
    merged = []
    for statement in wanted["Statement"]:
        before = old.get(statement.get("Sid"))
        if before is not None:
            union = list(dict.fromkeys(_resources(before) + _resources(statement)))
            statement = {**statement, "Resource": union[0] if len(union) == 1 else union}
        merged.append(statement)
    kept = [s for s in before_all if s.get("Sid") not in wanted_sids]
    return {"Version": VERSION, "Statement": merged + kept}


def inline_policy(iam: Any, role: str, policy_name: str) -> dict[str, Any] | None:
    """The role's inline policy of that name, or None when it has none."""
    found = unless_missing(iam.get_role_policy, RoleName=role, PolicyName=policy_name)
    return None if found is None else dict(found["PolicyDocument"])


def object_arns(policy: dict[str, Any]) -> set[str]:
    """The S3 object ARNs (`arn:aws:s3:::bucket/prefix/*`) a policy's statements name."""
    statements = _statements(policy)
    return {
        arn
        for statement in statements
        for arn in _resources(statement)
        if arn.startswith("arn:aws:s3:::") and "/" in arn
    }


def without_resource(policy: dict[str, Any], arn: str) -> dict[str, Any]:
    """The policy with one resource taken out of every statement (emptied statements go)."""
    statements = _statements(policy)
    kept = []
    for statement in statements:
        left = [r for r in _resources(statement) if r != arn]
        if left:
            kept.append({**statement, "Resource": left[0] if len(left) == 1 else left})
    return {**policy, "Statement": kept}


def key_actions(setting: str) -> tuple[str, ...]:
    """What the execution role must be allowed to do with the KMS key of a setting."""
    return VOLUME_KEY_ACTIONS if setting == "training_volume_kms_key" else OUTPUT_KEY_ACTIONS


def configured_keys(settings: Settings) -> dict[str, str]:
    """The KMS key settings that are set: setting name -> the key as given."""
    return {name: getattr(settings, name) for name in KMS_SETTINGS if getattr(settings, name)}


def key_arn(key: str, region: str, account: str) -> str | None:
    """The key ARN of a key id or key ARN; None for an alias (DescribeKey resolves those)."""
    if key.startswith("arn:") and ":key/" in key:
        return key
    if key.startswith(("alias/", "arn:")):
        return None
    return f"arn:aws:kms:{region}:{account}:key/{key}"


def resolve_keys(kms: Any, settings: Settings, account: str) -> dict[str, str]:
    """Key ARNs of the configured keys (by the key as given); aliases through DescribeKey.

    An alias that cannot be resolved (missing, or DescribeKey denied) is left out: the policy
    then names it by its alias (condition kms:ResourceAliases) instead.
    """
    found = {}
    for key in configured_keys(settings).values():
        arn = key_arn(key, settings.region, account)
        if arn is None:
            try:
                arn = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
            except ClientError:
                continue
        found[key] = arn
    return found


def _key_statements(
    settings: Settings, account: str, resolved: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Statements that let the execution role use the configured keys, and only those."""
    by_actions: dict[tuple[str, ...], list[str]] = {}
    for setting, key in configured_keys(settings).items():
        by_actions.setdefault(key_actions(setting), []).append(key)
    statements = []
    for actions, keys in by_actions.items():
        sid = "UseTheVolumeKey" if actions == VOLUME_KEY_ACTIONS else "UseTheOutputKeys"
        arns = [resolved.get(k) or key_arn(k, settings.region, account) for k in keys]
        named = sorted({a for a in arns if a})
        aliases = sorted({k.split(":")[-1] for k, a in zip(keys, arns, strict=True) if not a})
        if named:
            statements.append(
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Action": list(actions),
                    "Resource": named[0] if len(named) == 1 else named,
                }
            )
        if aliases:
            statements.append(
                {
                    "Sid": sid + "ByAlias",
                    "Effect": "Allow",
                    "Action": list(actions),
                    "Resource": f"arn:aws:kms:{settings.region}:{account}:key/*",
                    "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}},
                }
            )
    return statements


def execution_policy(
    settings: Settings, account: str, key_arns: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Inline policy of the SageMaker execution role, scoped to the bucket and prefix.

    The prefix-wide object grant covers every job's reads and writes: Ground Truth's and
    training's, and the batch transform's (it lists and reads `test/images/`, writes
    `predictions/<run id>/`); its logs go to `/aws/sagemaker/TransformJobs`, its image is the
    algorithm's. With KMS keys set it may use those keys (`key_arns` gives the ARNs of aliases);
    with a VPC set, it may manage the training job's network interfaces.
    """
    region = settings.region
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadInputsWriteOutputs",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": settings.layout.object_arn,
        },
        {
            "Sid": "FindTheBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": settings.layout.bucket_arn,
        },
        {
            "Sid": "JobLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            "Resource": f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*",
        },
        {
            "Sid": "JobMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
        },
        {
            "Sid": "SignInToEcr",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
    ]
    owner = regions.IMAGE_CLASSIFICATION_ACCOUNTS.get(region)
    if owner:
        statements.append(
            {
                "Sid": "PullTheAlgorithmImage",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                "Resource": f"arn:aws:ecr:{region}:{owner}:repository/image-classification",
            }
        )
    statements += _key_statements(settings, account, key_arns or {})
    if settings.enable_auto_labeling:
        statements += auto_labeling_statements(settings, account)
    if settings.vpc_subnets:
        statements.append(
            {
                "Sid": "TrainInTheVpc",
                "Effect": "Allow",
                "Action": list(VPC_ACTIONS),
                "Resource": "*",
            }
        )
    return {"Version": VERSION, "Statement": statements}


#: What Ground Truth does as the execution role when automated data labeling is on: it trains
#: the auto-labeling model, runs batch transforms with it and makes the final model
#: (LabelingJobOutput.FinalActiveLearningModelArn; DescribeTrainingJob and DescribeTransformJob
#: name "the labeling job that created the transform or training job", LabelingJobArn), each
#: with the execution role passed to SageMaker.
AUTO_LABELING_ACTIONS = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:CreateTransformJob",
    "sagemaker:DescribeTransformJob",
    "sagemaker:StopTransformJob",
    "sagemaker:CreateModel",
    "sagemaker:DescribeModel",
)
AUTO_LABELING_RESOURCES = ("training-job", "transform-job", "model")


def auto_labeling_statements(settings: Settings, account: str) -> list[dict[str, Any]]:
    """The execution role's statements for automated data labeling's jobs and model."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AutoLabelingJobsAndModels",
            "Effect": "Allow",
            "Action": list(AUTO_LABELING_ACTIONS),
            "Resource": [_sagemaker_arn(settings, account, k) for k in AUTO_LABELING_RESOURCES],
        }
    ]
    if settings.role_arn:
        statements.append(
            {
                "Sid": "AutoLabelingPassesTheRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": settings.role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE}},
            }
        )
    return statements


def _sagemaker_arn(settings: Settings, account: str, kind: str) -> str:
    return f"arn:aws:sagemaker:{settings.region}:{account}:{kind}/*"


def pod_policy(settings: Settings, account: str, role_arn: str) -> dict[str, Any]:
    """Inline policy of the KFP pod role: the pipeline's SageMaker calls and PassRole.

    With Label Studio (labeling_backend=label_studio) the pods make no Ground Truth call: the
    labeling step itself reads the manifests and writes the labeling output, so the role has
    no workteam, labeling-job or Cognito statements, and may list the prefix.
    """
    pool = settings.user_pool or "*"
    document = {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "Workteams",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:CreateWorkteam",
                    "sagemaker:DescribeWorkteam",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                "Resource": _sagemaker_arn(settings, account, "workteam/private-crowd"),
            },
            {
                "Sid": "LabelingJobs",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:CreateLabelingJob",
                    "sagemaker:DescribeLabelingJob",
                    "sagemaker:StopLabelingJob",
                    "sagemaker:AddTags",
                ],
                "Resource": _sagemaker_arn(settings, account, "labeling-job"),
            },
            {
                "Sid": "TrainingJobs",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                "Resource": _sagemaker_arn(settings, account, "training-job"),
            },
            *_prediction_statements(settings, account),
            {
                # the training job's RoleArn and the model's ExecutionRoleArn (CreateModel) are
                # both passed to sagemaker.amazonaws.com
                "Sid": "PassTheExecutionRoleToSageMaker",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE}},
            },
            {
                "Sid": "WorkteamCognito",
                "Effect": "Allow",
                "Action": [
                    "cognito-idp:DescribeUserPool",
                    "cognito-idp:DescribeUserPoolClient",
                    "cognito-idp:UpdateUserPool",
                    "cognito-idp:UpdateUserPoolClient",
                    "cognito-idp:ListGroups",
                ],
                "Resource": f"arn:aws:cognito-idp:{settings.region}:{account}:userpool/{pool}",
            },
            {
                "Sid": "Lookups",
                "Effect": "Allow",
                "Action": ["sagemaker:ListWorkforces", "cognito-idp:DescribeUserPoolDomain"],
                "Resource": "*",
            },
            {
                "Sid": "TrainingLogs",
                "Effect": "Allow",
                "Action": ["logs:GetLogEvents", "logs:DescribeLogStreams"],
                "Resource": f"arn:aws:logs:{settings.region}:{account}:log-group:"
                "/aws/sagemaker/TrainingJobs:*",
            },
            {
                "Sid": "LabeledDataAndTrainingInputs",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": settings.layout.object_arn,
            },
        ],
    }
    if not settings.label_studio:
        return document
    statements = [st for st in document["Statement"] if st["Sid"] not in GROUND_TRUTH_POD_SIDS]
    statements.append(
        {
            "Sid": "LabelStudioStepListsThePrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": settings.layout.bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [settings.layout.keys + "*"]}},
        }
    )
    return {"Version": VERSION, "Statement": statements}


#: The pod policy's statements only Ground Truth's steps need (workteam, labeling jobs, Cognito).
GROUND_TRUTH_POD_SIDS = ("Workteams", "LabelingJobs", "WorkteamCognito", "Lookups")
#: The inline policy name of Label Studio's own role (IRSA of its service account).
LABEL_STUDIO_POLICY_NAME = "label-studio-reads-the-images"


def label_studio_policy(layout: Layout) -> dict[str, Any]:
    """Label Studio's own role (IRSA of its service account): read the images, list the prefix.

    Its S3 source storage lists the prefix and presigns GET URLs of the images for the
    annotators' browsers; it writes nothing to S3 (the labeling step exports through its API).
    """
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadTheImages",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{layout.bucket}/{layout.image_keys}*",
            },
            {
                "Sid": "ListThePrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": layout.bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [layout.keys, layout.keys + "*"]}},
            },
        ],
    }


def _prediction_statements(settings: Settings, account: str) -> list[dict[str, Any]]:
    """What the pods call for predictions (none when they are off): the model, the transform job.

    `create-model` calls CreateModel (with the run's tags, hence AddTags; the Python set's retry
    reads DescribeModel); `predict` calls CreateTransformJob and DescribeTransformJob, and
    StopTransformJob when its pod is terminated (the official program's SIGTERM handler) and in
    the exit handler `stop-run-jobs`. The official program prints the job's CloudWatch logs
    (DescribeLogStreams, GetLogEvents in `/aws/sagemaker/TransformJobs`). `evaluate` reads the
    test labels and each image's `.out` object by its key (S3 reads under the prefix, granted
    by `LabeledDataAndTrainingInputs`; no listing).
    """
    if not settings.predictions:
        return []
    region = settings.region
    return [
        {
            "Sid": "Models",
            "Effect": "Allow",
            "Action": ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:AddTags"],
            "Resource": _sagemaker_arn(settings, account, "model"),
        },
        {
            "Sid": "TransformJobs",
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:AddTags",
            ],
            "Resource": _sagemaker_arn(settings, account, "transform-job"),
        },
        {
            "Sid": "TransformLogs",
            "Effect": "Allow",
            "Action": ["logs:GetLogEvents", "logs:DescribeLogStreams"],
            "Resource": f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/TransformJobs:*",
        },
    ]


def walkthrough_policy(settings: Settings, account: str) -> dict[str, Any]:
    """What the notebooks need to check the setup, stage the data, submit and follow a run."""
    region = settings.region
    roles = [arn for arn in (settings.role_arn, settings.kfp_pod_role_arn) if arn] or [
        f"arn:aws:iam::{account}:role/*"
    ]
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "StageAndReadTheData",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": settings.layout.object_arn,
            },
            {
                "Sid": "TheBucket",
                "Effect": "Allow",
                "Action": [
                    "s3:ListBucket",
                    "s3:GetBucketLocation",
                    "s3:GetBucketCORS",
                    "s3:PutBucketCORS",
                    "s3:CreateBucket",
                    "s3:PutBucketTagging",
                ],
                "Resource": settings.layout.bucket_arn,
            },
            {
                "Sid": "OpenImages",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [
                    "arn:aws:s3:::open-images-dataset",
                    "arn:aws:s3:::open-images-dataset/*",
                ],
            },
            {
                "Sid": "CheckTheRoles",
                "Effect": "Allow",
                "Action": [
                    "iam:GetRole",
                    "iam:ListAttachedRolePolicies",
                    "iam:SimulatePrincipalPolicy",
                ],
                "Resource": roles,
            },
            {
                "Sid": "PreviewTheWorkerTask",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": settings.role_arn or f"arn:aws:iam::{account}:role/*",
                "Condition": {"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE}},
            },
            {
                "Sid": "CheckTheClusterTrust",
                "Effect": "Allow",
                "Action": [
                    "iam:GetOpenIDConnectProvider",
                    "eks:DescribeCluster",
                    "eks:ListPodIdentityAssociations",
                    "eks:DescribePodIdentityAssociation",
                ],
                "Resource": "*",
            },
            {
                "Sid": "CheckTheWorkforce",
                "Effect": "Allow",
                "Action": [
                    "cognito-idp:DescribeUserPool",
                    "cognito-idp:DescribeUserPoolClient",
                    "cognito-idp:GetGroup",
                    "cognito-idp:ListUsersInGroup",
                    "cognito-idp:AdminGetUser",
                ],
                "Resource": f"arn:aws:cognito-idp:{region}:{account}:userpool/*",
            },
            {
                "Sid": "FollowAndCheckSageMaker",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:RenderUiTemplate",
                    "sagemaker:ListWorkforces",
                    "sagemaker:ListWorkteams",
                    "sagemaker:DescribeWorkteam",
                    "sagemaker:ListTags",
                    "sagemaker:ListLabelingJobs",
                    "sagemaker:DescribeLabelingJob",
                    "sagemaker:ListTrainingJobs",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:ListModels",
                    "sagemaker:DescribeModel",
                    "sagemaker:ListTransformJobs",
                    "sagemaker:DescribeTransformJob",
                    "servicequotas:ListAWSDefaultServiceQuotas",
                    "servicequotas:GetServiceQuota",
                    "logs:GetLogEvents",
                    "logs:DescribeLogStreams",
                ],
                "Resource": "*",
            },
            {
                "Sid": "CleanUpTheRun",
                "Effect": "Allow",
                "Action": [
                    "sagemaker:StopLabelingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:StopTransformJob",
                    "sagemaker:DeleteModel",
                    "sagemaker:DeleteWorkteam",
                ],
                "Resource": "*",
            },
            {
                "Sid": "CleanUpThePrefix",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject"],
                "Resource": settings.layout.object_arn,
            },
            *_check_statements(settings),
        ],
    }


def _check_statements(settings: Settings) -> list[dict[str, Any]]:
    """What the checks of the KMS keys and the VPC call, only when those are set."""
    statements = []
    if configured_keys(settings):
        statements.append(
            {
                "Sid": "CheckTheKeys",
                "Effect": "Allow",
                "Action": "kms:DescribeKey",
                "Resource": f"arn:aws:kms:{settings.region}:*:key/*",
            }
        )
    if settings.vpc_subnets:
        statements.append(
            {
                "Sid": "CheckTheVpc",
                "Effect": "Allow",
                "Action": ["ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
                "Resource": "*",
            }
        )
    return statements


def main(argv: list[str] | None = None) -> int:
    """Print one policy document for the effective settings."""
    argv = list(sys.argv[1:] if argv is None else argv)
    which = argv[0] if argv else "walkthrough"
    settings = load()
    account = account_of(settings.role_arn or settings.kfp_pod_role_arn or "::::<account>")
    documents = {
        "execution": lambda: execution_policy(settings, account),
        "pod": lambda: pod_policy(settings, account, settings.role_arn or "<execution role>"),
        "walkthrough": lambda: walkthrough_policy(settings, account),
        "trust": sagemaker_trust,
    }
    if which not in documents:
        print(f"usage: python -m helpers.policies [{'|'.join(documents)}]", file=sys.stderr)
        return 2
    print(json.dumps(documents[which](), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
