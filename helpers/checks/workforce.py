"""Checks of the private workforce (Cognito pool, app client, group) and of the run's names."""

from __future__ import annotations

from typing import Any

from helpers import cognito
from helpers.awserrors import unless_missing
from helpers.checks.context import Context
from helpers.checks.model import (
    Outcome,
    cli,
    combine,
    failed,
    passed,
    warned,
)
from helpers.settings import Settings
from helpers.tags import RUN_TAG, SETUP_TAG, SHARED_TAG, WORKFORCE_NAME, tag_option

CREATE_MISSING = "python -m helpers.checks --create-missing"


def add_users_commands(
    settings: Settings, idp: Any, pool: str, group: str, members: set[str], needed: int
) -> list[str]:
    """Commands that add `needed` users to a group: `labelers` first, then labeler-N names."""
    names = [n for n in cognito.labeler_names(settings) if n not in members]
    number = 1
    while len(names) < needed:
        candidate = f"labeler-{number}"
        if candidate not in members and candidate not in names:
            names.append(candidate)
        number += 1
    commands = []
    region = settings.region
    for name in names[:needed]:
        add = cli(
            "cognito-idp",
            "admin-add-user-to-group",
            region,
            user_pool_id=pool,
            username=name,
            group_name=group,
        )
        if not cognito.user_exists(idp, pool, name):
            options: dict[str, Any] = {"user_pool_id": pool, "username": name}
            if "@" in name:
                options["user_attributes"] = (
                    f"Name=email,Value={name}",
                    "Name=email_verified,Value=true",
                )
            add = cli("cognito-idp", "admin-create-user", region, **options) + " && " + add
        commands.append(add)
    return commands


def workforce(ctx: Context) -> Outcome:
    """Cognito pool, app client and group exist; the group is big enough; the workforce agrees."""
    s = ctx.settings
    idp = ctx.client("cognito-idp")
    if not s.user_pool:
        return failed(
            f"user_pool is unset and {s.region} has no private workforce to take it from",
            "an administrator creates the pool, domain, group, app client and workforce with "
            f"`{CREATE_MISSING}`; or set user_pool, client_id and user_groups.",
        )
    pool = unless_missing(idp.describe_user_pool, UserPoolId=s.user_pool)
    if pool is None:
        return failed(
            f"Cognito user pool {s.user_pool} does not exist in {s.region}",
            "set user_pool to the pool of your private workforce (`"
            + cli("sagemaker", "list-workforces", s.region)
            + "` shows it), or leave it unset to take it from the workforce.",
        )
    pool = pool["UserPool"]
    parts = [_client(ctx, idp), _domain(ctx, pool), *_groups(ctx, idp), _matches_workforce(ctx)]
    endpoint = ctx.client("sagemaker").meta.endpoint_url
    url = cognito.sign_in_url(ctx.workforce, endpoint) if ctx.workforce else None
    groups = ", ".join(cognito.group_names(s))
    outcome = combine(
        parts,
        f"pool {s.user_pool} (domain {pool.get('Domain') or pool.get('CustomDomain')}), app "
        f"client {s.client_id}, group {groups} with at least "
        f"{s.ground_truth_num_workers_per_object} user(s); the private workforce "
        f"{(ctx.workforce or {}).get('WorkforceName')} uses this pool and client",
    )
    if url:
        outcome = Outcome(
            outcome.status,
            f"{outcome.found}; labeling portal: {url}",
            outcome.fix,
            outcome.commands,
        )
    return outcome


def _client(ctx: Context, idp: Any) -> Outcome:
    s = ctx.settings
    listing = cli("cognito-idp", "list-user-pool-clients", s.region, user_pool_id=s.user_pool)
    if not s.client_id:
        return failed(
            "client_id is unset",
            f"set client_id to the pool's app client for the labeling portal (`{listing}`).",
        )
    found = unless_missing(
        idp.describe_user_pool_client, UserPoolId=s.user_pool, ClientId=s.client_id
    )
    if found is None:
        return failed(
            f"app client {s.client_id} does not exist in pool {s.user_pool}",
            f"set client_id to one of the pool's app clients (`{listing}`).",
        )
    return passed("")


def _domain(ctx: Context, pool: dict[str, Any]) -> Outcome:
    s = ctx.settings
    if pool.get("Domain") or pool.get("CustomDomain"):
        return passed("")
    domain = f"gt-walkthrough-{s.user_pool.split('_', 1)[1][:12].lower()}"
    return warned(
        f"pool {s.user_pool} has no domain: a private workforce needs one for its sign-in page",
        "give it a domain (any free prefix):",
        cli(
            "cognito-idp",
            "create-user-pool-domain",
            s.region,
            domain=domain,
            user_pool_id=s.user_pool,
        ),
    )


def _groups(ctx: Context, idp: Any) -> list[Outcome]:
    s = ctx.settings
    pool = s.user_pool or ""
    names = cognito.group_names(s)
    need = s.ground_truth_num_workers_per_object
    if not names:
        return [
            failed(
                "user_groups is unset",
                "set user_groups to a group of the pool ("
                + f"`{cli('cognito-idp', 'list-groups', s.region, user_pool_id=pool)}`).",
            )
        ]
    parts: list[Outcome] = []
    members: set[str] = set()
    for group in names:
        if unless_missing(idp.get_group, UserPoolId=pool, GroupName=group) is None:
            create = cli(
                "cognito-idp", "create-group", s.region, user_pool_id=pool, group_name=group
            )
            users = add_users_commands(s, idp, pool, group, set(), need)
            parts.append(
                failed(
                    f"Cognito group {group} does not exist in pool {pool}",
                    f"create it and add {need} user(s) (use e-mail addresses as names, so "
                    "Cognito invites them):",
                    create,
                    *users,
                )
            )
            return parts
        members |= set(cognito.group_members(idp, pool, group))
    count = len(members)
    if count >= need:
        return parts
    group = names[0]
    commands = add_users_commands(s, idp, pool, group, members, need - count)
    if count == 0 and need == 1:
        parts.append(
            warned(
                f"group {', '.join(names)} has no users: nobody would receive the tasks",
                "add a user (use an e-mail address as the name, so Cognito invites them):",
                *commands,
            )
        )
    else:
        parts.append(
            failed(
                f"group {', '.join(names)} has {count} user(s), fewer than the {need} workers "
                "per object: no object could get enough answers, so every task would expire",
                f"add {need - count} user(s) (use e-mail addresses as names, so Cognito invites "
                "them), or lower ground_truth_num_workers_per_object:",
                *commands,
            )
        )
    return parts


def _matches_workforce(ctx: Context) -> Outcome:
    s = ctx.settings
    create = cli(
        "sagemaker",
        "create-workforce",
        s.region,
        workforce_name=WORKFORCE_NAME,
        cognito_config=f"UserPool={s.user_pool},ClientId={s.client_id}",
        tags=tag_option(SETUP_TAG, SHARED_TAG),
    )
    if ctx.workforce is None:
        return warned(
            f"{s.region} has no private workforce yet (the first team creates one with this pool)",
            "create it now to get the labeling portal's sign-in URL:",
            create,
        )
    config = ctx.workforce["CognitoConfig"]
    if (config["UserPool"], config["ClientId"]) == (s.user_pool, s.client_id):
        return passed("")
    name = ctx.workforce["WorkforceName"]
    return failed(
        f"the account's private workforce {name} in {s.region} uses pool {config['UserPool']} "
        f"and app client {config['ClientId']}, not {s.user_pool} / {s.client_id}: there is one "
        "per account and region, and every private team must use its pool",
        f"use its pool: set user_pool={config['UserPool']!r} and client_id="
        f"{config['ClientId']!r} (or leave both unset) and a group of that pool in user_groups; "
        "or, only if no team uses the workforce, replace it:",
        cli("sagemaker", "delete-workforce", s.region, workforce_name=name) + " && " + create,
    )


# --- 10. names ------------------------------------------------------------------------------------


def names(ctx: Context) -> Outcome:
    """The team and job names the settings give are free (jobs: ignoring case), or ours."""
    s = ctx.settings
    jobs = {
        "ground_truth_train_job_name": s.ground_truth_train_job_name,
        "ground_truth_validation_job_name": s.ground_truth_validation_job_name,
    }
    given = [n for n in (s.team_name, *jobs.values()) if n]
    if not given:
        return passed("no names are set: they are generated per run (a run id suffix)")
    sm = ctx.client("sagemaker")
    parts = [_team(ctx, sm)] if s.team_name else []
    for setting, name in jobs.items():
        if name:
            parts.append(_job(ctx, sm, setting, name))
    train, validation = jobs.values()
    if train and validation and train.lower() == validation.lower():
        parts.append(
            failed(
                f"the train and validation job names are the same ({train}), ignoring case",
                "give them different names, or leave them unset.",
            )
        )
    return combine(parts, f"{', '.join(given)}: free (or ours to reuse)")


def _team(ctx: Context, sm: Any) -> Outcome:
    s = ctx.settings
    name = s.team_name or ""
    pages = sm.get_paginator("list_workteams").paginate(NameContains=name)
    team = next((t for page in pages for t in page["Workteams"] if t["WorkteamName"] == name), None)
    if team is None:
        return passed("")
    tags = {t["Key"] for t in sm.list_tags(ResourceArn=team["WorkteamArn"]).get("Tags", [])}
    if tags & {RUN_TAG, SETUP_TAG}:
        return passed("")
    return failed(
        f"workteam {name} already exists and is not the walkthrough's (no {RUN_TAG} tag)",
        "set team_name to a new name (or leave it unset for a unique one); if the team is "
        "yours and may be reused, tag it:",
        cli(
            "sagemaker",
            "add-tags",
            s.region,
            resource_arn=team["WorkteamArn"],
            tags=tag_option(SETUP_TAG),
        ),
    )


def _job(ctx: Context, sm: Any, setting: str, name: str) -> Outcome:
    taken = None
    for contains in dict.fromkeys((name, name.lower())):
        pages = sm.get_paginator("list_labeling_jobs").paginate(NameContains=contains)
        for page in pages:
            for job in page["LabelingJobSummaryList"]:
                if job["LabelingJobName"].lower() == name.lower():
                    taken = job["LabelingJobName"]
    if taken is None:
        return passed("")
    return failed(
        f"a labeling job named {taken} already exists: job names are unique per account and "
        "region, ignoring case, and are never freed",
        f"set {setting} to a new name, or leave it unset for a unique one.",
    )
