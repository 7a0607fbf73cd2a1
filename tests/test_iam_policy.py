"""Tests for the pure IAM identity-policy evaluator (offline, no AWS, no moto server)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pytest

from helpers.local.iam.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    MatchedStatement,
    NamedPolicy,
    allows,
    evaluate,
    parse_document,
    s3_bucket_arn,
    s3_object_arn,
)

ACCOUNT = "123456789012"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/gt-kfp-sagemaker-execution"
SM = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}"

S3_FULL_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"},
    ],
}

EXECUTION_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadInputs",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::walkthrough-bucket/gt-kfp/*",
        },
        {
            "Sid": "WriteOutputs",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": ["arn:aws:s3:::walkthrough-bucket/gt-kfp/output/*"],
        },
        {
            "Sid": "ListPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::walkthrough-bucket",
            "Condition": {"StringLike": {"s3:prefix": ["gt-kfp/*"]}},
        },
    ],
}

POD_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": {
        "Sid": "PassExecutionRole",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": EXECUTION_ROLE,
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    },
}


def policy(document: Mapping[str, Any] | str, name: str = "test-policy") -> list[NamedPolicy]:
    """One named policy, from a mapping or JSON text."""
    return [NamedPolicy(name, parse_document(document))]


def one_statement(**statement: Any) -> list[NamedPolicy]:
    """A version 2012-10-17 policy with a single statement."""
    return policy({"Version": "2012-10-17", "Statement": [statement]})


def object_arn(key: str) -> str:
    """An object in the walkthrough bucket."""
    return s3_object_arn("walkthrough-bucket", key)


# --- the real cases -------------------------------------------------------------------------------


def test_s3_full_access_allows_any_object_write() -> None:
    decision = evaluate(
        policy(S3_FULL_ACCESS, "AmazonS3FullAccess"), "s3:PutObject", object_arn("any/key.json")
    )
    assert decision.decision == ALLOWED
    assert decision.allowed
    assert decision.matched == (MatchedStatement("AmazonS3FullAccess", 0, None),)
    assert decision.missing_context == ()


def test_s3_full_access_does_not_reach_other_services() -> None:
    decision = evaluate(policy(S3_FULL_ACCESS), "sagemaker:CreateLabelingJob", "*")
    assert decision.decision == IMPLICIT_DENY
    assert decision.matched == ()


def test_least_privilege_read_under_prefix_is_allowed() -> None:
    decision = evaluate(
        policy(EXECUTION_ROLE_POLICY, "exec"), "s3:GetObject", object_arn("gt-kfp/images/1.jpg")
    )
    assert decision.decision == ALLOWED
    assert decision.matched == (MatchedStatement("exec", 0, "ReadInputs"),)


def test_least_privilege_write_outside_output_is_implicitly_denied() -> None:
    policies = policy(EXECUTION_ROLE_POLICY)
    assert evaluate(policies, "s3:PutObject", object_arn("gt-kfp/manifest.json")).decision == (
        IMPLICIT_DENY
    )
    assert allows(policies, "s3:PutObject", object_arn("gt-kfp/output/job/manifest.json"))
    assert not allows(policies, "s3:GetObject", object_arn("elsewhere/1.jpg"))
    assert not allows(policies, "s3:GetObject", s3_object_arn("other-bucket", "gt-kfp/1.jpg"))


def test_least_privilege_list_bucket_needs_the_prefix_context() -> None:
    policies = policy(EXECUTION_ROLE_POLICY)
    bucket = s3_bucket_arn("walkthrough-bucket")
    with_prefix = evaluate(policies, "s3:ListBucket", bucket, {"s3:prefix": ["gt-kfp/x"]})
    assert with_prefix.decision == ALLOWED
    assert with_prefix.missing_context == ()

    without = evaluate(policies, "s3:ListBucket", bucket)
    assert without.decision == IMPLICIT_DENY
    assert without.missing_context == ("s3:prefix",)

    other_prefix = evaluate(policies, "s3:ListBucket", bucket, {"s3:prefix": "private/"})
    assert other_prefix.decision == IMPLICIT_DENY
    assert other_prefix.missing_context == ()


def test_missing_context_is_only_reported_for_matching_action_and_resource() -> None:
    policies = policy(EXECUTION_ROLE_POLICY)
    assert evaluate(policies, "s3:ListBucket", s3_bucket_arn("other")).missing_context == ()
    assert evaluate(policies, "s3:GetObject", object_arn("gt-kfp/a")).missing_context == ()


def test_pass_role_to_sagemaker() -> None:
    policies = policy(POD_ROLE_POLICY, "pod-role")
    to_sagemaker = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    allowed = evaluate(policies, "iam:PassRole", EXECUTION_ROLE, to_sagemaker)
    assert allowed.decision == ALLOWED
    assert allowed.matched == (MatchedStatement("pod-role", 0, "PassExecutionRole"),)

    to_ec2 = evaluate(policies, "iam:PassRole", EXECUTION_ROLE, {"iam:PassedToService": "ec2"})
    assert to_ec2.decision == IMPLICIT_DENY
    assert to_ec2.missing_context == ()

    no_context = evaluate(policies, "iam:PassRole", EXECUTION_ROLE)
    assert no_context.decision == IMPLICIT_DENY
    assert no_context.missing_context == ("iam:PassedToService",)

    other_role = f"arn:aws:iam::{ACCOUNT}:role/admin"
    assert not allows(policies, "iam:PassRole", other_role, to_sagemaker)


def test_explicit_deny_overrides_allow() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {
                "Sid": "NoDeletes",
                "Effect": "Deny",
                "Action": "s3:DeleteObject",
                "Resource": "arn:aws:s3:::walkthrough-bucket/*",
            },
        ],
    }
    policies = [
        NamedPolicy("allow-all", S3_FULL_ACCESS),
        NamedPolicy("guard", document),
    ]
    denied = evaluate(policies, "s3:DeleteObject", object_arn("gt-kfp/a.jpg"))
    assert denied.decision == EXPLICIT_DENY
    assert denied.matched == (MatchedStatement("guard", 1, "NoDeletes"),)
    allowed = evaluate(policies, "s3:GetObject", object_arn("gt-kfp/a.jpg"))
    assert allowed.decision == ALLOWED
    assert allowed.matched == (
        MatchedStatement("allow-all", 0, None),
        MatchedStatement("guard", 0, "All"),
    )
    assert allows(policies, "s3:DeleteObject", s3_object_arn("another-bucket", "a"))


def test_not_action_allows_everything_else() -> None:
    policies = one_statement(Effect="Allow", NotAction=["iam:*", "organizations:*"], Resource="*")
    assert allows(policies, "s3:GetObject", object_arn("a"))
    assert allows(policies, "sagemaker:CreateLabelingJob", "*")
    assert not allows(policies, "iam:PassRole", EXECUTION_ROLE)
    assert not allows(policies, "IAM:CreateUser", "*")


def test_not_resource_deny_outside_one_bucket() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "NotResource": [
                    "arn:aws:s3:::walkthrough-bucket",
                    "arn:aws:s3:::walkthrough-bucket/*",
                ],
            },
        ],
    }
    policies = policy(document)
    assert allows(policies, "s3:GetObject", object_arn("k"))
    assert allows(policies, "s3:ListBucket", s3_bucket_arn("walkthrough-bucket"))
    decision = evaluate(policies, "s3:GetObject", s3_object_arn("other-bucket", "k"))
    assert decision.decision == EXPLICIT_DENY


def test_action_matching_ignores_case() -> None:
    policies = one_statement(Effect="Allow", Action="s3:GetObject", Resource="*")
    assert allows(policies, "S3:getobject", object_arn("a"))
    wildcard = one_statement(Effect="Allow", Action="S3:Get*", Resource="*")
    assert allows(wildcard, "s3:getobjecttagging", object_arn("a"))
    assert not allows(wildcard, "s3:PutObject", object_arn("a"))


def test_resource_matching_is_case_sensitive() -> None:
    policies = one_statement(
        Effect="Allow", Action="s3:GetObject", Resource="arn:aws:s3:::walkthrough-bucket/Data/*"
    )
    assert allows(policies, "s3:GetObject", object_arn("Data/1.jpg"))
    assert not allows(policies, "s3:GetObject", object_arn("data/1.jpg"))


def test_question_mark_and_star_wildcards() -> None:
    policies = one_statement(
        Effect="Allow",
        Action="sagemaker:Describe?abelingJob",
        Resource=f"{SM}:labeling-job/job-??",
    )
    assert allows(policies, "sagemaker:DescribeLabelingJob", f"{SM}:labeling-job/job-01")
    assert not allows(policies, "sagemaker:DescribeLabelingJob", f"{SM}:labeling-job/job-001")
    star = one_statement(Effect="Allow", Action="*", Resource="*")
    assert allows(star, "anything:AtAll", "arn:aws:whatever")


def test_simulator_default_resource_star_only_meets_star_resources() -> None:
    assert not allows(policy(EXECUTION_ROLE_POLICY), "s3:GetObject", "*")
    assert allows(policy(S3_FULL_ACCESS), "s3:GetObject", "*")


def test_statement_without_matching_effect_or_action_is_ignored() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Maybe", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Allow", "Resource": "*"},
        ],
    }
    assert evaluate(policy(document), "s3:GetObject", object_arn("a")).decision == IMPLICIT_DENY
    assert evaluate([], "s3:GetObject", object_arn("a")).decision == IMPLICIT_DENY


# --- condition operators --------------------------------------------------------------------------


def conditioned(condition: Mapping[str, Any], effect: str = "Allow") -> list[NamedPolicy]:
    """A single-statement policy on everything, guarded by a condition."""
    return one_statement(Effect=effect, Action="*", Resource="*", Condition=condition)


def decide(condition: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> str:
    """The decision for an allow-everything statement guarded by the condition."""
    return evaluate(conditioned(condition), "s3:GetObject", "*", context).decision


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, "us-east-1", ALLOWED),
        ({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, "US-EAST-1", IMPLICIT_DENY),
        ({"StringEqualsIgnoreCase": {"aws:RequestedRegion": "us-east-1"}}, "US-EAST-1", ALLOWED),
        ({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}, "eu-west-1", ALLOWED),
        ({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}, "us-east-1", IMPLICIT_DENY),
        ({"StringLike": {"aws:RequestedRegion": "us-*"}}, "us-west-2", ALLOWED),
        ({"StringLike": {"aws:RequestedRegion": "us-?ast-1"}}, "us-east-1", ALLOWED),
        ({"StringNotLike": {"aws:RequestedRegion": "us-*"}}, "us-west-2", IMPLICIT_DENY),
        (
            {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}},
            "us-east-1",
            ALLOWED,
        ),
    ],
)
def test_string_operators(condition: dict[str, Any], context: str, expected: str) -> None:
    assert decide(condition, {"aws:RequestedRegion": context}) == expected


def test_condition_keys_are_case_insensitive_and_values_are_not() -> None:
    condition = {"StringEquals": {"AWS:RequestedRegion": "us-east-1"}}
    assert decide(condition, {"aws:requestedregion": ["us-east-1"]}) == ALLOWED


def test_multiple_keys_are_anded_and_all_missing_keys_reported() -> None:
    condition = {
        "StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": ACCOUNT},
        "Bool": {"aws:SecureTransport": "true"},
    }
    full = {
        "aws:RequestedRegion": "us-east-1",
        "aws:PrincipalAccount": ACCOUNT,
        "aws:SecureTransport": True,
    }
    assert decide(condition, full) == ALLOWED
    assert decide(condition, {**full, "aws:SecureTransport": "false"}) == IMPLICIT_DENY
    decision = evaluate(conditioned(condition), "s3:GetObject", "*", {"aws:RequestedRegion": "x"})
    assert decision.missing_context == ("aws:PrincipalAccount", "aws:SecureTransport")


def test_arn_operators_match_component_by_component() -> None:
    condition = {"ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:*:{ACCOUNT}:labeling-job/*"}}
    assert decide(condition, {"aws:SourceArn": f"{SM}:labeling-job/cars"}) == ALLOWED
    assert decide(condition, {"aws:SourceArn": f"{SM}:training-job/cars"}) == IMPLICIT_DENY
    assert decide(condition, {"aws:SourceArn": "not-an-arn"}) == IMPLICIT_DENY
    # The region wildcard may not swallow the account component.
    spanning = {"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:*:labeling-job/*"}}
    assert decide(spanning, {"aws:SourceArn": f"{SM}:labeling-job/cars"}) == IMPLICIT_DENY
    equals = {"ArnEquals": {"aws:SourceArn": f"{SM}:labeling-job/cars"}}
    assert decide(equals, {"aws:SourceArn": f"{SM}:labeling-job/cars"}) == ALLOWED
    not_like = {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/admin-*"}}
    assert decide(not_like, {"aws:PrincipalArn": EXECUTION_ROLE}) == ALLOWED
    not_equals = {"ArnNotEquals": {"aws:PrincipalArn": EXECUTION_ROLE}}
    assert decide(not_equals, {"aws:PrincipalArn": EXECUTION_ROLE}) == IMPLICIT_DENY


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("NumericEquals", "3600", ALLOWED),
        ("NumericEquals", "3601", IMPLICIT_DENY),
        ("NumericNotEquals", "3601", ALLOWED),
        ("NumericLessThan", "3599.5", ALLOWED),
        ("NumericLessThan", "3600", IMPLICIT_DENY),
        ("NumericLessThanEquals", "3600", ALLOWED),
        ("NumericGreaterThan", "3601", ALLOWED),
        ("NumericGreaterThanEquals", "3599", IMPLICIT_DENY),
        ("NumericEquals", "not-a-number", IMPLICIT_DENY),
    ],
)
def test_numeric_operators(operator: str, value: str, expected: str) -> None:
    assert decide({operator: {"s3:max-keys": 3600}}, {"s3:max-keys": value}) == expected


def test_bool_operator_accepts_json_booleans_and_strings() -> None:
    condition = {"Bool": {"aws:MultiFactorAuthPresent": True}}
    assert decide(condition, {"aws:MultiFactorAuthPresent": "TRUE"}) == ALLOWED
    assert decide(condition, {"aws:MultiFactorAuthPresent": False}) == IMPLICIT_DENY


def test_date_and_ip_operators() -> None:
    before = {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}
    assert decide(before, {"aws:CurrentTime": "2026-05-01T12:00:00Z"}) == ALLOWED
    assert decide(before, {"aws:CurrentTime": "1893456000"}) == IMPLICIT_DENY  # 2030-01-01
    ip = {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.7"]}}
    assert decide(ip, {"aws:SourceIp": "10.1.2.3"}) == ALLOWED
    assert decide(ip, {"aws:SourceIp": "192.0.2.7"}) == ALLOWED
    assert decide(ip, {"aws:SourceIp": "203.0.113.9"}) == IMPLICIT_DENY
    assert decide({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "::1"}) == (
        ALLOWED
    )


def test_for_any_value() -> None:
    condition = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["project", "owner"]}}
    assert decide(condition, {"aws:TagKeys": ["cost-center", "project"]}) == ALLOWED
    assert decide(condition, {"aws:TagKeys": ["cost-center"]}) == IMPLICIT_DENY
    absent = evaluate(conditioned(condition), "s3:GetObject", "*")
    assert absent.decision == IMPLICIT_DENY
    assert absent.missing_context == ("aws:TagKeys",)


def test_for_all_values() -> None:
    condition = {"ForAllValues:StringLike": {"aws:TagKeys": ["project", "gt-*"]}}
    assert decide(condition, {"aws:TagKeys": ["project", "gt-job"]}) == ALLOWED
    assert decide(condition, {"aws:TagKeys": ["project", "owner"]}) == IMPLICIT_DENY
    # IAM: ForAllValues also holds when the key is absent (hence the usual Null guard).
    assert decide(condition) == ALLOWED
    not_equals = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["DataClass", "Owner"]}}
    assert decide(not_equals, {"aws:TagKeys": ["project"]}) == ALLOWED
    assert decide(not_equals, {"aws:TagKeys": ["project", "Owner"]}) == IMPLICIT_DENY


def test_if_exists() -> None:
    condition = {"StringEqualsIfExists": {"sagemaker:WorkteamType": ["private-crowd"]}}
    present = evaluate(
        conditioned(condition), "s3:GetObject", "*", {"sagemaker:WorkteamType": "public-crowd"}
    )
    assert present.decision == IMPLICIT_DENY
    absent = evaluate(conditioned(condition), "s3:GetObject", "*")
    assert absent.decision == ALLOWED
    assert absent.missing_context == ()


def test_null() -> None:
    must_be_absent = {"Null": {"aws:TokenIssueTime": "true"}}
    assert decide(must_be_absent) == ALLOWED
    assert decide(must_be_absent, {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}) == IMPLICIT_DENY
    must_be_present = {"Null": {"aws:TokenIssueTime": False}}
    assert decide(must_be_present, {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}) == ALLOWED
    decision = evaluate(conditioned(must_be_present), "s3:GetObject", "*")
    assert decision.decision == IMPLICIT_DENY
    assert decision.missing_context == ()


def test_negated_operator_holds_when_key_is_absent() -> None:
    """IAM: a negated operator whose key is missing evaluates to true."""
    deny_other_regions = conditioned(
        {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}, effect="Deny"
    )
    policies = [*policy(S3_FULL_ACCESS), *deny_other_regions]
    decision = evaluate(policies, "s3:GetObject", object_arn("a"))
    assert decision.decision == EXPLICIT_DENY
    assert decision.missing_context == ("aws:RequestedRegion",)
    ok = {"aws:RequestedRegion": "us-east-1"}
    assert evaluate(policies, "s3:GetObject", object_arn("a"), ok).decision == ALLOWED


def test_unknown_operator_does_not_apply_and_is_reported() -> None:
    condition = {"StringSortOf": {"aws:RequestedRegion": "us-east-1"}}
    decision = evaluate(conditioned(condition), "s3:GetObject", "*", {"aws:RequestedRegion": "x"})
    assert decision.decision == IMPLICIT_DENY
    assert decision.unsupported == ("StringSortOf",)
    qualifier = {"ForSomeValues:StringEquals": {"aws:TagKeys": "a"}}
    assert evaluate(conditioned(qualifier), "s3:GetObject", "*").unsupported == (
        "ForSomeValues:StringEquals",
    )


# --- policy variables -----------------------------------------------------------------------------


def test_policy_variables_in_resource() -> None:
    policies = one_statement(
        Effect="Allow",
        Action=["s3:GetObject", "s3:PutObject"],
        Resource="arn:aws:s3:::walkthrough-bucket/home/${aws:username}/*",
    )
    alice = {"aws:username": "alice"}
    assert allows(policies, "s3:PutObject", object_arn("home/alice/notes.txt"), alice)
    assert not allows(policies, "s3:PutObject", object_arn("home/bob/notes.txt"), alice)
    # A variable value is literal text: a "*" in it is no wildcard.
    assert not allows(policies, "s3:GetObject", object_arn("home/x/a"), {"aws:username": "*"})
    unresolved = evaluate(policies, "s3:GetObject", object_arn("home/alice/notes.txt"))
    assert unresolved.decision == IMPLICIT_DENY
    assert unresolved.missing_context == ("aws:username",)


def test_policy_variable_defaults_and_special_characters() -> None:
    policies = one_statement(
        Effect="Allow",
        Action="s3:GetObject",
        Resource="arn:aws:s3:::walkthrough-bucket/${aws:username, 'shared'}/${*}",
    )
    assert allows(policies, "s3:GetObject", object_arn("shared/*"))
    assert not allows(policies, "s3:GetObject", object_arn("shared/file"))
    assert allows(policies, "s3:GetObject", object_arn("alice/*"), {"aws:username": "alice"})


def test_policy_variables_in_condition_values() -> None:
    condition = {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}}
    same = {"aws:ResourceAccount": ACCOUNT, "aws:PrincipalAccount": ACCOUNT}
    assert decide(condition, same) == ALLOWED
    assert decide(condition, {**same, "aws:ResourceAccount": "210987654321"}) == IMPLICIT_DENY


def test_variables_are_literal_in_old_policy_language() -> None:
    document = {
        "Version": "2008-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::walkthrough-bucket/${aws:username}/*",
            }
        ],
    }
    alice = {"aws:username": "alice"}
    assert not allows(policy(document), "s3:GetObject", object_arn("alice/a"), alice)
    assert allows(policy(document), "s3:GetObject", object_arn("${aws:username}/a"), alice)


# --- documents and helpers ------------------------------------------------------------------------


def test_parse_document_accepts_json_and_url_encoded_json() -> None:
    text = json.dumps(POD_ROLE_POLICY)
    assert parse_document(text) == POD_ROLE_POLICY
    assert parse_document(quote(text)) == POD_ROLE_POLICY
    assert parse_document(POD_ROLE_POLICY) is POD_ROLE_POLICY
    with pytest.raises(ValueError):
        parse_document("[]")
    with pytest.raises(ValueError):
        parse_document("{not json")


def test_s3_arn_helpers() -> None:
    assert s3_bucket_arn("b") == "arn:aws:s3:::b"
    assert s3_object_arn("b", "dir/k.json") == "arn:aws:s3:::b/dir/k.json"
    assert s3_object_arn("b", "k", partition="aws-cn") == "arn:aws-cn:s3:::b/k"


# --- a real AWS managed policy (moto's bundled copy) ----------------------------------------------


@pytest.fixture(scope="module")
def sagemaker_full_access() -> list[NamedPolicy]:
    """AmazonSageMakerFullAccess as moto bundles it."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    document = json.loads(aws_managed_policies_data)["AmazonSageMakerFullAccess"]["Document"]
    return [NamedPolicy("AmazonSageMakerFullAccess", document)]


def test_managed_policy_allows_labeling_jobs(sagemaker_full_access: list[NamedPolicy]) -> None:
    decision = evaluate(sagemaker_full_access, "sagemaker:CreateLabelingJob", "*")
    assert decision.decision == ALLOWED
    assert [m.sid for m in decision.matched] == ["AllowAllNonAdminSageMakerActions"]
    assert allows(sagemaker_full_access, "sagemaker:CreateLabelingJob", f"{SM}:labeling-job/cars")


def test_managed_policy_not_resource_keeps_domains_out(
    sagemaker_full_access: list[NamedPolicy],
) -> None:
    domain = f"{SM}:domain/d-abc123"
    assert not allows(sagemaker_full_access, "sagemaker:DeleteDomain", domain)
    assert allows(sagemaker_full_access, "sagemaker:DescribeDomain", domain)


def test_managed_policy_pass_role(sagemaker_full_access: list[NamedPolicy]) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/x"
    to_sagemaker = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    decision = evaluate(sagemaker_full_access, "iam:PassRole", role, to_sagemaker)
    assert decision.decision == ALLOWED
    assert [m.sid for m in decision.matched] == ["AllowPassRoleToSageMaker"]
    to_glue = {"iam:PassedToService": "glue.amazonaws.com"}
    assert not allows(sagemaker_full_access, "iam:PassRole", role, to_glue)
    sagemaker_named = f"arn:aws:iam::{ACCOUNT}:role/AmazonSageMaker-ExecutionRole"
    assert allows(sagemaker_full_access, "iam:PassRole", sagemaker_named, to_glue)
    blind = evaluate(sagemaker_full_access, "iam:PassRole", role)
    assert blind.decision == IMPLICIT_DENY
    assert blind.missing_context == ("iam:PassedToService",)


def test_managed_policy_s3_access_depends_on_bucket_name_or_tag(
    sagemaker_full_access: list[NamedPolicy],
) -> None:
    sagemaker_bucket = s3_object_arn(f"sagemaker-us-east-1-{ACCOUNT}", "gt/manifest.json")
    assert allows(sagemaker_full_access, "s3:PutObject", sagemaker_bucket)
    plain = s3_object_arn("walkthrough-bucket", "gt/manifest.json")
    assert not allows(sagemaker_full_access, "s3:PutObject", plain)
    untagged = evaluate(sagemaker_full_access, "s3:GetObject", plain)
    assert untagged.decision == IMPLICIT_DENY
    assert "s3:ExistingObjectTag/SageMaker" in untagged.missing_context
    tagged = {"s3:ExistingObjectTag/SageMaker": "TRUE"}  # StringEqualsIgnoreCase
    assert allows(sagemaker_full_access, "s3:GetObject", plain, tagged)
    assert allows(sagemaker_full_access, "s3:ListBucket", s3_bucket_arn("walkthrough-bucket"))


def test_managed_policy_space_apps_use_variables_and_arn_like(
    sagemaker_full_access: list[NamedPolicy],
) -> None:
    app = f"{SM}:app/d-abc123/alice-space/JupyterLab/default"
    context = {
        "sagemaker:DomainId": "d-abc123",
        "sagemaker:UserProfileName": "alice",
        "sagemaker:OwnerUserProfileArn": f"{SM}:user-profile/d-abc123/alice",
        "sagemaker:SpaceSharingType": "Private",
    }
    decision = evaluate(sagemaker_full_access, "sagemaker:CreateApp", app, context)
    assert decision.decision == ALLOWED
    assert [m.sid for m in decision.matched] == [
        "RestrictMutatingActionsOnPrivateSpaceAppsToOwnerUserProfile"
    ]
    someone_elses = {**context, "sagemaker:OwnerUserProfileArn": f"{SM}:user-profile/d-abc123/bob"}
    assert not allows(sagemaker_full_access, "sagemaker:CreateApp", app, someone_elses)
