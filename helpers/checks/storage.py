"""Checks of the bucket (region, CORS) and of notebook 01's Ground Truth inputs."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from helpers import gt_inputs, openimages
from helpers.checks.context import Context
from helpers.checks.model import Outcome, cli, combine, error_code, failed, passed, warned
from helpers.dataset import input_uris, read_exists
from helpers.errors import InputError
from helpers.s3 import GROUND_TRUTH_CORS_RULE, bucket_region, read_text
from helpers.settings import Settings

#: How many copy commands a missing-images fix lists at most.
MAX_COPY_COMMANDS = 10


def cors_allows_ground_truth(rule: dict[str, Any]) -> bool:
    """Return True when a CORS rule lets the labeling portal GET objects from any origin."""
    return "GET" in rule.get("AllowedMethods", []) and "*" in rule.get("AllowedOrigins", [])


def create_bucket_command(settings: Settings) -> str:
    """The commands that create the bucket in the settings' region, with Ground Truth's CORS."""
    options: dict[str, Any] = {"bucket": settings.bucket}
    if settings.region != "us-east-1":
        options["create_bucket_configuration"] = f"LocationConstraint={settings.region}"
    return (
        cli("s3api", "create-bucket", settings.region, **options)
        + " && "
        + put_cors_command(settings, [])
    )


def put_cors_command(settings: Settings, existing: list[dict[str, Any]]) -> str:
    """The command that sets the bucket's CORS rules to the existing ones plus Ground Truth's."""
    rules = [*existing, GROUND_TRUTH_CORS_RULE]
    return cli(
        "s3api",
        "put-bucket-cors",
        settings.region,
        bucket=settings.bucket,
        cors_configuration={"CORSRules": rules},
    )


def bucket(ctx: Context) -> Outcome:
    """The bucket exists, is in the session region and has the CORS rule Ground Truth needs."""
    s = ctx.settings
    s3 = ctx.client("s3")
    try:
        found = bucket_region(s3, s.bucket)
    except InputError as exc:
        return failed(f"s3://{s.bucket}: {exc.rule}", exc.fix + ".")
    if found is None:
        return failed(
            f"s3://{s.bucket} does not exist",
            "create it with the CORS rule (notebook 01 does with create_bucket=True):",
            create_bucket_command(s),
        )
    if found != s.region:
        return failed(
            f"s3://{s.bucket} is in {found}, but the session region is {s.region}; Ground Truth "
            "and SageMaker use buckets in their own region only",
            f"a bucket cannot be moved: set region='{found}' (if Ground Truth runs there), or set "
            f"bucket to a bucket in {s.region} and run notebook 01 again.",
        )
    try:
        rules = list(s3.get_bucket_cors(Bucket=s.bucket).get("CORSRules", []))
    except ClientError as exc:
        if error_code(exc) != "NoSuchCORSConfiguration":
            raise
        rules = []
    if not any(cors_allows_ground_truth(rule) for rule in rules):
        return failed(
            f"s3://{s.bucket} has no CORS rule that allows GET from any origin "
            f"({len(rules)} other rule(s)): the labeling portal could not show the images",
            "add Ground Truth's CORS rule (the command keeps the bucket's other rules):",
            put_cors_command(s, rules),
        )
    return passed(f"s3://{s.bucket} is in {s.region}; its CORS rule allows GET from any origin")


def inputs(ctx: Context) -> Outcome:
    """Notebook 01's inputs exist and agree with each other and with the settings."""
    s = ctx.settings
    s3 = ctx.client("s3")
    staged = vars(input_uris(s))
    texts = {name: read_text(s3, uri) for name, uri in staged.items()}
    missing = [staged[name].rsplit("/", 1)[1] for name, text in texts.items() if text is None]
    if missing:
        return failed(
            f"missing under {s.s3_prefix_uri}: {', '.join(missing)}",
            "run notebook 01 (01_prepare_dataset) with these settings: it writes them.",
        )
    try:
        rows = {
            split: gt_inputs.parse_manifest(texts[f"{split}_manifest"] or "", f"{split}.manifest")
            for split in ("train", "validation")
        }
    except InputError as exc:
        return failed(f"{exc.setting} does not parse: {exc.rule}", exc.fix + ".")
    refs = [row["source-ref"] for split_rows in rows.values() for row in split_rows]
    parts = [_objects(s, s3, refs), _labels(s, texts["label_config"] or "")]
    if not gt_inputs.has_classifier(texts["ui_template"] or ""):
        problem = gt_inputs.classifier_error("instructions.template")
        parts.append(failed(f"instructions.template: {problem.rule}", problem.fix + "."))
    if len(set(refs)) != len(refs):
        parts.append(
            warned(
                f"{len(refs) - len(set(refs))} objects appear twice in the manifests",
                "run notebook 01 again to rewrite the manifests.",
            )
        )
    counts = {split: len(split_rows) for split, split_rows in rows.items()}
    return combine(
        parts,
        f"{counts['train']} train + {counts['validation']} validation objects, all present; "
        f"labels {list(s.classes)}; the template has <crowd-image-classifier>",
    )


def _objects(settings: Settings, s3: Any, refs: list[str]) -> Outcome:
    if not refs:
        return failed("the manifests list no objects", "run notebook 01 again.")
    exists = read_exists(s3, refs)
    gone = [uri for uri in refs if not exists[uri]]
    if not gone:
        return combine([], "")
    commands = [
        f"aws s3 cp {source} {uri} --region {settings.region}"
        for uri in gone[:MAX_COPY_COMMANDS]
        if (source := _copy_source(settings, uri))
    ]
    more = f" ({len(gone) - MAX_COPY_COMMANDS} more not listed)" if len(gone) > 10 else ""
    return failed(
        f"{len(gone)} of {len(refs)} objects named in the manifests are missing, e.g. {gone[0]}",
        "copy them back from their source, or run notebook 01 again (it copies what is "
        f"missing){more}:"
        if commands
        else "run notebook 01 again (it copies what is missing), or remove their lines.",
        *commands,
    )


def _copy_source(settings: Settings, uri: str) -> str | None:
    """Where notebook 01 copied a staged image from (None when it cannot be told)."""
    name = uri.rsplit("/", 1)[1]
    if settings.source == "openimages":
        if not name.endswith(".jpg"):
            return None
        return f"s3://{openimages.OPEN_IMAGES_BUCKET}/test/{name}"
    return f"{settings.source.rstrip('/')}/{name}"


def _labels(settings: Settings, text: str) -> Outcome:
    try:
        labels = gt_inputs.parse_label_config(text)
        gt_inputs.require_labels(labels, settings.classes, "class_labels.json")
    except InputError as exc:
        return failed(f"class_labels.json = {exc.value!r}: {exc.rule}", exc.fix + ".")
    return combine([], "")
