"""Check of what accounts with enforced encryption and networking set: KMS keys and the VPC.

Unset, there is nothing to check. Set, the keys must exist and be enabled in the region and the
execution role must be allowed to use them (IAM's policy simulator: the key's own key policy
must allow the role too, and that is not simulated); the subnets and security groups must exist
in the region, in one VPC, and the execution role must be allowed to manage the training job's
network interfaces there.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from helpers import policies
from helpers.checks.context import Context
from helpers.checks.model import (
    FAIL,
    Outcome,
    cli,
    combine,
    error_code,
    failed,
    is_denied,
    passed,
    skipped,
)
from helpers.checks.roles import describe_denied, keeping_current, put_policy_command, simulate
from helpers.settings import KMS_SETTINGS

#: The policy's wildcard actions, as one action the simulator is asked about.
SIMULATED = {"kms:ReEncrypt*": "kms:ReEncryptFrom", "kms:GenerateDataKey*": "kms:GenerateDataKey"}
#: Stands for the execution role's policy command until it is built (once, for every part).
ROLE_FIX = "<execution role policy>"


def keys_and_network(ctx: Context) -> Outcome:
    """The KMS keys and the VPC the settings name exist, and the execution role may use them."""
    s = ctx.settings
    keys = policies.configured_keys(s)
    if not keys and not s.vpc_subnets:
        return passed(
            "no KMS key or VPC is set: the jobs use SageMaker's default encryption and network"
        )
    role = s.role_arn if s.role_arn and ctx.role(s.role_arn) is not None else None
    parts = [_key(ctx, setting, key, role) for setting, key in keys.items()]
    if s.vpc_subnets:
        parts.append(_network(ctx, role))
    if role is None:
        parts.append(
            skipped(
                f"the execution role {s.role_arn or '(role_arn unset)'} does not exist (check 5): "
                "whether it may use the keys and the VPC was not checked"
            )
        )
    elif any(p.commands == (ROLE_FIX,) for p in parts):
        name = policies.role_name(role)
        wanted = policies.execution_policy(s, ctx.account, ctx.key_arns)
        merged = keeping_current(ctx.client("iam"), name, policies.EXECUTION_POLICY_NAME, wanted)
        put = put_policy_command(s, role, policies.EXECUTION_POLICY_NAME, merged)
        first = next(i for i, p in enumerate(parts) if p.commands == (ROLE_FIX,))
        parts = [
            p
            if p.commands != (ROLE_FIX,)
            else Outcome(p.status, p.found, p.fix, (put,))
            if i == first
            else Outcome(p.status, p.found)  # one policy fixes them all
            for i, p in enumerate(parts)
        ]
    used = ", ".join(f"{setting} ({key})" for setting, key in keys.items())
    network = (
        f"subnets {', '.join(s.vpc_subnets)} with security groups "
        f"{', '.join(s.vpc_security_group_ids)}"
        if s.vpc_subnets
        else ""
    )
    return combine(
        parts,
        "; ".join(
            part
            for part in (
                f"{used}: enabled keys of {s.region} that the execution role may use (the keys' "
                "own key policies must allow the role too: not simulated)"
                if keys
                else "",
                f"{network} exist in one VPC of {s.region}; the execution role may manage the "
                "training job's network interfaces"
                if network
                else "",
            )
            if part
        ),
    )


def _role_fix(found: str) -> Outcome:
    """A FAIL whose fix is the execution role's policy (the command is filled in once)."""
    return Outcome(
        FAIL,
        found,
        "give the execution role the least-privilege policy, which names these settings' keys "
        "and VPC (the key policy must also allow the role):",
        (ROLE_FIX,),
    )


def _key(ctx: Context, setting: str, key: str, role: str | None) -> Outcome:
    """One KMS key: it exists and is enabled; the execution role may use it."""
    s = ctx.settings
    what = KMS_SETTINGS[setting]
    try:
        meta = ctx.client("kms").describe_key(KeyId=key)["KeyMetadata"]
    except ClientError as exc:
        if is_denied(exc):
            return skipped(
                f"{setting}: not allowed to call kms:DescribeKey on {key} ({error_code(exc)}): "
                "whether the key exists was not checked",
                "allow kms:DescribeKey on the key (the README's minimal policy does), or ask the "
                "key's administrator.",
            )
        if error_code(exc) not in ("NotFoundException", "InvalidArnException"):
            raise
        return failed(
            f"{setting}: KMS key {key} does not exist in {s.region} (it would encrypt {what})",
            "set it to a key of this region (`" + cli("kms", "list-aliases", s.region) + "`), "
            "or leave it unset.",
        )
    if meta.get("KeyState") != "Enabled" or not meta.get("Enabled", True):
        return failed(
            f"{setting}: KMS key {key} is {meta.get('KeyState')}, not Enabled: jobs could not "
            "use it",
            "enable it, or set another key:",
            cli("kms", "enable-key", s.region, key_id=meta["KeyId"]),
        )
    if role is None:
        return passed("")
    actions = [SIMULATED.get(a, a) for a in policies.key_actions(setting)]
    denied = simulate(ctx.client("iam"), role, [(a, meta["Arn"]) for a in actions])
    if denied:
        return _role_fix(
            f"{setting}: role {policies.role_name(role)} may not use KMS key {key} "
            f"({describe_denied(denied)})"
        )
    return passed("")


def _network(ctx: Context, role: str | None) -> Outcome:
    """The subnets and security groups exist in one VPC; the role may manage ENIs."""
    s = ctx.settings
    ec2 = ctx.client("ec2")
    try:
        subnets = _existing(ec2.describe_subnets, "subnet-id", s.vpc_subnets, "Subnets", "SubnetId")
        groups = _existing(
            ec2.describe_security_groups,
            "group-id",
            s.vpc_security_group_ids,
            "SecurityGroups",
            "GroupId",
        )
    except ClientError as exc:
        if not is_denied(exc):
            raise
        return skipped(
            f"not allowed to call {exc.operation_name} ({error_code(exc)}): whether the subnets "
            "and security groups exist was not checked",
            "allow ec2:DescribeSubnets and ec2:DescribeSecurityGroups (the README's minimal "
            "policy does when a VPC is set).",
        )
    parts = []
    for name, wanted, found, kind in (
        ("vpc_subnets", s.vpc_subnets, subnets, "subnets"),
        ("vpc_security_group_ids", s.vpc_security_group_ids, groups, "security-groups"),
    ):
        missing = [i for i in wanted if i not in found]
        if missing:
            parts.append(
                failed(
                    f"{name}: {', '.join(missing)} do(es) not exist in {s.region}",
                    f"set {name} to ids of this region (`"
                    + cli("ec2", f"describe-{kind}", s.region)
                    + "` lists them).",
                )
            )
    vpcs = {v for v in (*subnets.values(), *groups.values()) if v}
    if len(vpcs) > 1:
        parts.append(
            failed(
                "the subnets and security groups are in more than one VPC "
                f"({', '.join(sorted(vpcs))})",
                "choose subnets and security groups of one VPC.",
            )
        )
    if role is not None:
        denied = simulate(ctx.client("iam"), role, [(a, "*") for a in policies.VPC_ACTIONS])
        if denied:
            parts.append(
                _role_fix(
                    f"role {policies.role_name(role)} may not manage the training job's network "
                    f"interfaces ({describe_denied(denied)})"
                )
            )
    return combine(parts, "")


def _existing(
    call: Any, filter_name: str, ids: tuple[str, ...], key: str, id_key: str
) -> dict[str, str]:
    """Which of the ids exist (a filter, so missing ones are left out, not an error): id -> VPC."""
    found = call(Filters=[{"Name": filter_name, "Values": list(ids)}])[key]
    return {item[id_key]: item.get("VpcId", "") for item in found}
