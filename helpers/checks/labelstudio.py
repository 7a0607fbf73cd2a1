"""Checks of the Label Studio backend (labeling_backend=label_studio): server, user, storage.

They run with labeling_backend=label_studio only. The token is never part of
what a check shows.
"""

from __future__ import annotations

import json
from typing import Any

from helpers import policies
from helpers.checks.context import Context
from helpers.checks.model import Outcome, combine, failed, passed, skipped
from helpers.checks.storage import create_bucket_command
from helpers.errors import InputError, WalkthroughError
from helpers.labelstudio import api, token
from helpers.labelstudio.annotators import annotator_email, annotator_emails
from helpers.s3 import bucket_region
from helpers.settings import Settings

#: The permission whoami lists for a user who may create projects.
CREATE_PROJECTS = "projects.create"
#: The project the storage check validates in (Label Studio validates a storage per project);
#: deleted right after.
SCRATCH_PROJECT = "walkthrough setup check"
SCRATCH_DESCRIPTION = "Made by the walkthrough's setup checks to validate S3 access; deleted after."


def _not_label_studio(settings: Settings) -> Outcome | None:
    if settings.label_studio:
        return None
    return skipped(f"labeling backend is {settings.labeling_backend}")


def _client(ctx: Context) -> tuple[api.Client, None] | tuple[None, Outcome]:
    """The API client, or the outcome that says why there is none (no token, no cluster...)."""
    try:
        return ctx.studio, None
    except token.ClusterUnreachable as exc:
        return None, skipped(str(exc))
    except InputError as exc:
        return None, failed(f"{exc.setting}: {exc.rule}", exc.fix + ".")
    except WalkthroughError as exc:
        return None, failed(str(exc), _server_fix(ctx.settings))


def _server_fix(settings: Settings) -> str:
    if settings.mode == "local":
        return (
            "install the local Label Studio (scripts/install-label-studio) and run this again: "
            "local mode starts it on demand (python -m helpers.local stop restarts it)."
        )
    return (
        "check label_studio_url: from here, `curl <url>/api/version` must answer (inside the "
        "cluster use its service, http://<release>.<namespace>.svc.cluster.local:8080)."
    )


# --- 15. the server -------------------------------------------------------------------------------


def server(ctx: Context) -> Outcome:
    """Label Studio answers at its URL (the version it runs)."""
    s = ctx.settings
    if (other := _not_label_studio(s)) is not None:
        return other
    try:
        url = ctx.label_studio_url(s)
        version = api.server_version(url, timeout=15)
    except api.LabelStudioError as exc:
        return failed(f"Label Studio at {url} does not answer: {exc.detail}", _server_fix(s))
    except InputError as exc:
        return failed(f"{exc.setting}: {exc.rule}", exc.fix + ".")
    except WalkthroughError as exc:
        return failed(str(exc), _server_fix(s))
    return passed(f"Label Studio {version} answers at {url}")


# --- 16. the token's user -------------------------------------------------------------------------


def user(ctx: Context) -> Outcome:
    """The API token works, and its user may create projects."""
    s = ctx.settings
    if (other := _not_label_studio(s)) is not None:
        return other
    client, problem = _client(ctx)
    if client is None:
        return problem
    try:
        me = client.whoami()
    except api.LabelStudioError as exc:
        if exc.status in (401, 403):
            return failed(
                f"Label Studio refuses the API token ({exc.status}: {exc.detail})",
                "give a valid token (Label Studio: Account & Settings > Personal Access Token, "
                f"or the legacy token) in one of: {'; '.join(token.SOURCES)}.",
            )
        return failed(f"Label Studio at {client.url}: {exc}", _server_fix(s))
    who = me.get("email") or f"user {me.get('id')}"
    permissions = me.get("permissions")
    if isinstance(permissions, list) and CREATE_PROJECTS not in permissions:
        return failed(
            f"the token's user {who} may not create projects (no {CREATE_PROJECTS} permission)",
            "use the token of a user who may (an owner or administrator of the organization); "
            "annotators' tokens cannot make the run's projects.",
        )
    return passed(f"the token works: user {who}, who may create projects")


# --- 17. the S3 storage ---------------------------------------------------------------------------


def storage_fields(settings: Settings, endpoint_url: str | None, credentials: Any) -> dict:
    """An S3 source storage of the staged images, as the labeling step connects it."""
    fields: dict[str, Any] = {
        "title": f"walkthrough images {settings.prefix}",
        "bucket": settings.bucket,
        "prefix": settings.layout.image_keys,
        "region_name": settings.region,
        "use_blob_urls": True,
        "presign": True,
        "recursive_scan": False,
    }
    if endpoint_url:  # local mode: the local AWS, with its (not secret) test keys
        fields["s3_endpoint"] = endpoint_url
        fields["aws_access_key_id"] = credentials.access_key
        fields["aws_secret_access_key"] = credentials.secret_key
    return fields


def storage(ctx: Context) -> Outcome:
    """Label Studio can list the staged images in S3 (validating a source storage of the prefix)."""
    s = ctx.settings
    if (other := _not_label_studio(s)) is not None:
        return other
    client, problem = _client(ctx)
    if client is None:
        return problem
    endpoint = getattr(ctx.aws, "endpoint_url", None)
    credentials = ctx.aws.session.get_credentials() if endpoint else None
    fields = storage_fields(s, endpoint, credentials)
    where = f"s3://{s.bucket}/{fields['prefix']}"
    try:
        _validate_in_scratch_project(client, fields)
    except api.LabelStudioError as exc:
        return _storage_problem(ctx, client, where, exc)
    return passed(
        f"Label Studio can list {where} (presigned URLs for the annotators' browsers"
        + (f"; through the local AWS at {endpoint})" if endpoint else ")")
    )


def _validate_in_scratch_project(client: api.Client, fields: dict[str, Any]) -> None:
    """Validate a storage (Label Studio validates it for a project) in a project made for it."""
    project = client.create_project(title=SCRATCH_PROJECT, description=SCRATCH_DESCRIPTION)
    try:
        client.validate_s3_storage(project=project["id"], **fields)
    finally:
        client.delete_project(project["id"])


def _storage_problem(ctx: Context, client: api.Client, where: str, exc: Exception) -> Outcome:
    s = ctx.settings
    detail = getattr(exc, "detail", str(exc))
    s3 = ctx.client("s3")
    if bucket_region(s3, s.bucket) is None:
        return failed(
            f"Label Studio cannot list {where}: the bucket does not exist ({detail})",
            "create it with the CORS rule, then stage the images with notebook 01 (which also "
            "creates the bucket with create_bucket=True):",
            create_bucket_command(s),
        )
    listed = s3.list_objects_v2(Bucket=s.bucket, Prefix=s.layout.image_keys, MaxKeys=1)
    if not listed.get("KeyCount"):
        return failed(
            f"Label Studio finds nothing under {where}: no images are staged there",
            "run notebook 01 (01_prepare_dataset) with these settings: it stages the images.",
        )
    if s.mode == "local":
        return failed(
            f"Label Studio at {client.url} cannot list {where}: {detail}",
            "the local Label Studio must be allowed to reach the local AWS on 127.0.0.1 (its "
            "SSRF protection blocks loopback addresses otherwise): restart it with "
            "`python -m helpers.local stop`, then run this notebook again.",
        )
    document = policies.label_studio_policy(s.layout)
    return failed(
        f"Label Studio at {client.url} cannot list {where}: {detail}",
        "give Label Studio's own role (the IAM role of its service account, through IRSA) read "
        "access to the images and list access to the prefix, nothing more; replace "
        "<label-studio-role> with that role's name:",
        "aws iam put-role-policy --role-name <label-studio-role> --policy-name "
        f"{policies.LABEL_STUDIO_POLICY_NAME} --policy-document '{json.dumps(document)}'",
    )


# --- 18. the annotators ---------------------------------------------------------------------------


def annotators(ctx: Context) -> Outcome:
    """Each labeler has a Label Studio account; there are enough for the annotations per task."""
    s = ctx.settings
    if (other := _not_label_studio(s)) is not None:
        return other
    wanted = annotator_emails(s)
    need = s.ground_truth_num_workers_per_object
    if not wanted:
        return failed(
            "labelers is unset: no annotator would label",
            f"set labelers to at least {need} annotators' e-mail addresses (comma-separated).",
        )
    client, problem = _client(ctx)
    if client is None:
        return problem
    try:
        accounts = {str(u.get("email", "")).lower() for u in client.users()}
    except api.LabelStudioError as exc:
        return failed(f"cannot list Label Studio's users: {exc}", _server_fix(s))
    missing = [e for e in wanted if e.lower() not in accounts]
    add = (
        "notebook 02 creates them in local mode (create_missing=True; or "
        "`python -m helpers.checks --create-missing`)"
        if s.mode == "local"
        else "invite them to the organization (Label Studio: Organization > Add People) and let "
        "them sign up with these e-mail addresses"
    )
    parts = []
    if missing:
        parts.append(
            failed(
                f"{len(missing)} of {len(wanted)} labelers have no Label Studio account: "
                + ", ".join(missing),
                f"{add}.",
            )
        )
    if len(wanted) < need:
        parts.append(
            failed(
                f"{len(wanted)} labeler(s), but each task asks for {need} annotations "
                "(ground_truth_num_workers_per_object): tasks could never be finished",
                f"add annotators to labelers (and {add}), or lower "
                "ground_truth_num_workers_per_object.",
            )
        )
    return combine(
        parts,
        f"all {len(wanted)} labelers have Label Studio accounts ({need} annotations per task)",
    )


# --- signing in (local mode) ----------------------------------------------------------------------


def annotator_sign_in_lines(settings: Settings) -> list[str]:
    """Local mode: the local Label Studio's URL and each annotator's e-mail and password.

    The passwords are the local server's random ones (account.json, local mode only); the admin's
    API token is never shown. In aws mode nothing is shown: your annotators have their own.
    """
    if settings.mode != "local" or not settings.label_studio:
        return []
    account = token.local_account(start=False)
    if account is None:
        return ["The local Label Studio has not been set up yet (create_missing=True does)."]
    url = str(account["url"]).rstrip("/")
    if settings.label_studio_url and settings.label_studio_url.rstrip("/") != url:
        return [
            f"label_studio_url is {settings.label_studio_url}, not the local server: its "
            "annotators sign in with their own passwords."
        ]
    people = {n.strip() for n in (settings.person_labelers or "").split(",") if n.strip()}
    lines = [f"Local Label Studio at {url}: sign in as an annotator with"]
    known = account.get("annotators", {})
    names = [n.strip() for n in (settings.labelers or "").split(",") if n.strip()]
    for name in names:
        email = annotator_email(name)
        entry = known.get(email)
        who = " (a person labels: person_labelers)" if name in people else ""
        if entry:
            lines.append(f"  {email}  password {entry['password']}{who}")
        else:
            lines.append(f"  {email}: no account yet (create_missing=True makes it)")
    if not people:
        lines.append(
            "Simulated annotators answer every task (person_labelers is unset); "
            "your own annotations count like theirs."
        )
    return lines
