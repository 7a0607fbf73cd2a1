"""Notebook 01's steps: choose images, stage them in the bucket, write the Ground Truth inputs."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from helpers import gt_inputs, openimages
from helpers.awserrors import is_missing
from helpers.errors import InputError
from helpers.layout import INPUT_FILES
from helpers.paths import cache_dir, run_path
from helpers.s3 import objects_exist, read_object, read_objects, split_uri
from helpers.settings import Settings


@dataclass(frozen=True)
class StagedInputs:
    """Where notebook 01 put the Ground Truth inputs."""

    train_manifest: str
    validation_manifest: str
    label_config: str
    ui_template: str


def input_uris(settings: Settings) -> StagedInputs:
    """Return the S3 URIs of the Ground Truth inputs under the settings' prefix."""
    return StagedInputs(*(settings.layout.input(name) for name in INPUT_FILES))


def _cached(settings: Settings, name: str, s3: Any) -> Any:
    """Download the file the setting `name` points at once; a bad URL is an error naming it."""
    url = getattr(settings, name)
    folder = cache_dir() / "downloads" / hashlib.sha256(url.encode()).hexdigest()[:12]
    try:
        return openimages.fetch(url, folder, s3=s3)
    except InputError as exc:
        raise InputError(name, url, exc.rule, exc.fix) from exc


def load_annotations(settings: Settings, s3: Any) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Read the Open Images annotations and class names (downloaded once, then cached)."""
    if settings.source != "openimages":
        return None
    annotations = openimages.read_annotations(_cached(settings, "annotations_url", s3))
    descriptions = openimages.read_class_descriptions(
        _cached(settings, "class_descriptions_url", s3)
    )
    return annotations, descriptions


def choose_images(
    settings: Settings, s3: Any, open_images: tuple[pd.DataFrame, pd.DataFrame] | None
) -> pd.DataFrame:
    """Pick the images and split them; one row per image with its class, split and S3 URIs."""
    if open_images is not None:
        annotations, descriptions = open_images
        mids = openimages.resolve_classes(settings.classes, descriptions)  # names it knows
        require_pictures(settings, annotations, descriptions, mids)
        try:
            chosen = openimages.select_images(
                annotations, mids, settings.images_per_class, settings.seed
            )
        except InputError as exc:
            raise _with_mirror_hint(settings, exc) from None
        chosen = openimages.split(chosen, settings.validation_fraction, settings.seed)
        chosen["source_uri"] = [
            f"s3://{openimages.OPEN_IMAGES_BUCKET}/test/{i}.jpg" for i in chosen["image_id"]
        ]
    else:
        chosen = _own_images(settings, s3)
    chosen["uri"] = [
        settings.layout.image_uri(openimages.image_file(i)) for i in chosen["image_id"]
    ]
    return chosen.reset_index(drop=True)


def _with_mirror_hint(settings: Settings, exc: InputError) -> InputError:
    """In local mode, too few pictures also says how to generate more (up to 2,000 per class)."""
    if settings.mode != "local" or exc.setting != "images_per_class":  # no AWS call here
        return exc
    wanted = settings.images_per_class + settings.test_images_per_class + 5
    return InputError(
        exc.setting,
        exc.value,
        exc.rule,
        f"{exc.fix}; or generate more local pictures: stop the local AWS (`python -m "
        f"helpers.local stop`) and start it again with WALKTHROUGH_LOCAL_OPENIMAGES_PER_CLASS="
        f"{min(wanted, 2000)} (up to 2000 per class)",
    )


def choose_examples(
    settings: Settings,
    open_images: tuple[pd.DataFrame, pd.DataFrame] | None,
    chosen: pd.DataFrame,
) -> pd.DataFrame:
    """One example image per class for the worker instructions, from outside both manifests.

    Workers must not be shown the answer to a task they will label, so an example is never one
    of the chosen images. Own images (no classes known) and a class with no image left get none.
    """
    columns = ["image_id", "class_name", "mid", "source_uri", "uri"]
    if open_images is None:
        return pd.DataFrame(columns=columns)
    annotations, descriptions = open_images
    mids = openimages.resolve_classes(settings.classes, descriptions)
    examples = openimages.select_examples(annotations, mids, chosen["image_id"], settings.seed)
    examples["source_uri"] = [
        f"s3://{openimages.OPEN_IMAGES_BUCKET}/test/{i}.jpg" for i in examples["image_id"]
    ]
    examples["uri"] = [
        settings.layout.image_uri(openimages.image_file(i)) for i in examples["image_id"]
    ]
    return examples[columns]


def choose_test_images(
    settings: Settings,
    open_images: tuple[pd.DataFrame, pd.DataFrame] | None,
    chosen: pd.DataFrame,
    examples: pd.DataFrame,
) -> pd.DataFrame:
    """Up to `test_images_per_class` held-out images per class for the model's predictions.

    Held out means in neither manifest and not an instructions example: no worker ever sees
    one, and the model never trains on one. The choice is seeded like the others. Own images
    (no classes known) and `test_images_per_class=0` get none.
    """
    columns = ["image_id", "class_name", "mid", "source_uri", "uri"]
    if open_images is None or not settings.predictions:
        return pd.DataFrame(columns=columns)
    annotations, descriptions = open_images
    mids = openimages.resolve_classes(settings.classes, descriptions)
    used = set(chosen["image_id"]) | set(examples["image_id"])
    test = openimages.select_held_out(
        annotations, mids, used, settings.test_images_per_class, settings.seed
    )
    test["source_uri"] = [
        f"s3://{openimages.OPEN_IMAGES_BUCKET}/test/{i}.jpg" for i in test["image_id"]
    ]
    test["uri"] = [
        settings.layout.test_image_uri(openimages.image_file(i)) for i in test["image_id"]
    ]
    return test[columns]


def test_set_notes(settings: Settings, open_images: object | None, test: pd.DataFrame) -> list[str]:
    """What a reader should know about the test set: why there is none, or which class is short."""
    if not settings.predictions:
        return [
            "test_images_per_class is 0: no test images are staged, and the pipeline makes no "
            "predictions"
        ]
    if open_images is None:
        return [
            "your own images have no known classes, so there is no test set to score "
            "predictions against: set test_images_per_class=0 before notebook 03 (it then "
            "trains without the prediction steps)"
        ]
    counts = test["class_name"].value_counts()
    notes = []
    for name in settings.classes:
        have = int(counts.get(name, 0))
        if have < settings.test_images_per_class:
            notes.append(
                f"{name!r} has only {have} image(s) left for the test set after the labeling "
                f"images and the example (test_images_per_class={settings.test_images_per_class}"
                "): lower images_per_class to leave more, or accept fewer test images"
            )
    return notes


def require_pictures(
    settings: Settings,
    annotations: pd.DataFrame,
    descriptions: pd.DataFrame,
    mids: dict[str, str],
) -> None:
    """In local mode, raise when a chosen class is not one the generated image set draws.

    The local mirror draws a few classes, each image alone; real Open Images images carry many
    labels, so there `select_images` says how many images each class has instead.
    """
    if settings.mode != "local":  # only what is checked differs: no AWS call here
        return
    drawn = openimages.classes_pictured_alone(annotations)
    missing = [name for name, mid in mids.items() if mid not in drawn]
    if missing:
        have = sorted(descriptions.loc[descriptions["mid"].isin(drawn), "name"].astype(str))
        raise InputError(
            "classes",
            list(settings.classes),
            f"the local (generated) image set has pictures of these {len(have)} classes only: "
            f"{', '.join(have)}; it has none of {missing}",
            "choose classes from those, or label other classes with your own images (set "
            "source to an s3:// prefix of them) or in aws mode (the real Open Images)",
        )


def _own_images(settings: Settings, s3: Any) -> pd.DataFrame:
    own = openimages.list_own_images(s3, settings.source).rename(columns={"uri": "source_uri"})
    own = own.sort_values("image_id").reset_index(drop=True)
    n_validation = max(1, round(len(own) * settings.validation_fraction))
    if len(own) - n_validation < 1:
        raise InputError(
            "source",
            settings.source,
            "needs at least 2 images (one per split)",
            "add images under the prefix",
        )
    order = own.sample(frac=1.0, random_state=settings.seed).index
    own["split"] = "train"
    own.loc[order[:n_validation], "split"] = "validation"
    own["class_name"] = None
    own["mid"] = None
    return own


def stage_images(
    settings: Settings,
    s3: Any,
    chosen: pd.DataFrame,
    examples: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
) -> openimages.CopyReport:
    """Copy the chosen, example and test images into the bucket, server-side, skipping those there.

    The test images go under `test/images/` (the batch transform's input), the rest under
    `images/`. An object already at a key is never overwritten.
    """
    every = chosen if examples is None or examples.empty else pd.concat([chosen, examples])
    report = openimages.copy_images(s3, every, settings.bucket, settings.prefix)
    if test is None or test.empty:
        return report
    held_out = openimages.copy_images(
        s3, test, settings.bucket, settings.prefix, dest_keys=settings.layout.test_image_keys
    )
    return openimages.CopyReport(
        copied=report.copied + held_out.copied,
        skipped=report.skipped + held_out.skipped,
        keys=report.keys + held_out.keys,
        retries=report.retries + held_out.retries,
    )


def write_test_labels(settings: Settings, s3: Any, test: pd.DataFrame) -> str | None:
    """Write test/labels.jsonl (each test image's Open Images class); None when there is none."""
    if test.empty:
        return None
    body = gt_inputs.test_labels(zip(test["uri"], test["class_name"], strict=True))
    bucket, key = split_uri(settings.layout.test_labels)
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType="application/x-ndjson")
    return settings.layout.test_labels


def input_files(
    settings: Settings, chosen: pd.DataFrame, examples: pd.DataFrame | None = None
) -> dict[str, str]:
    """Build the four Ground Truth input files' contents (examples: from `choose_examples`)."""
    gallery: dict[str, str] = {}
    if examples is not None and not examples.empty:
        in_manifests = set(chosen["uri"])
        by_class = dict(zip(examples["class_name"], examples["uri"], strict=True))
        gallery = {
            name: by_class[name]
            for name in settings.classes
            if name in by_class and by_class[name] not in in_manifests
        }
    return {
        "train.manifest": gt_inputs.manifest(chosen.loc[chosen["split"] == "train", "uri"]),
        "validation.manifest": gt_inputs.manifest(
            chosen.loc[chosen["split"] == "validation", "uri"]
        ),
        "class_labels.json": json.dumps(gt_inputs.label_config(list(settings.classes)), indent=2),
        "instructions.template": gt_inputs.ui_template(gallery),
    }


def write_inputs(
    settings: Settings, s3: Any, chosen: pd.DataFrame, examples: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Upload the Ground Truth inputs; return a table of what was written where."""
    files = input_files(settings, chosen, examples)
    uris = gt_inputs.upload_inputs(s3, settings.bucket, settings.prefix, files)
    purpose = {
        "train.manifest": "objects for the train labeling job",
        "validation.manifest": "objects for the validation labeling job",
        "class_labels.json": "the label categories (order = class index)",
        "instructions.template": "the worker task page (Liquid HTML)",
    }
    return pd.DataFrame(
        [
            {
                "file": name,
                "uri": uris[name],
                "bytes": len(files[name].encode()),
                "what it is": purpose[name],
            }
            for name in INPUT_FILES
        ]
    )


def sample_images(
    s3: Any, chosen: pd.DataFrame, per_class: int, seed: int
) -> list[tuple[str, bytes]]:
    """Return (caption, image bytes) for a few images of each class, read from the bucket."""
    labelled = chosen.assign(group=chosen["class_name"].fillna("(unlabeled)"))
    picks = pd.concat(
        group.sample(min(per_class, len(group)), random_state=seed)
        for _, group in labelled.groupby("group", sort=False)
    )
    data = read_objects(s3, picks["uri"])
    return [(f"{row.group}\n{row.image_id}", data[row.uri]) for row in picks.itertuples()]


def verify(settings: Settings, s3: Any) -> dict[str, Any]:
    """Re-read what notebook 01 wrote and report what a labeling job will find.

    A manifest or label configuration that does not parse raises an InputError naming its file.
    """
    staged = input_uris(settings)
    texts = {name: read_object(s3, *split_uri(uri)).decode() for name, uri in vars(staged).items()}
    lines = {
        split: gt_inputs.parse_manifest(
            texts[f"{split}_manifest"], getattr(staged, f"{split}_manifest")
        )
        for split in ("train", "validation")
    }
    refs = [line["source-ref"] for rows in lines.values() for line in rows]
    exists = read_exists(s3, refs)
    missing = {
        split: [row["source-ref"] for row in rows if not exists[row["source-ref"]]]
        for split, rows in lines.items()
    }
    labels = gt_inputs.parse_label_config(texts["label_config"], staged.label_config)
    return {
        "objects": {split: len(rows) for split, rows in lines.items()},
        "missing_objects": [uri for uri, ok in exists.items() if not ok],
        "missing_by_split": missing,
        "labels": labels,
        "duplicates": len(refs) - len(set(refs)),
        "template_has_classifier": gt_inputs.has_classifier(texts["ui_template"]),
        **verify_test_set(settings, s3, labels, set(refs), texts["ui_template"]),
    }


def verify_test_set(
    settings: Settings, s3: Any, labels: list[str], refs: set[str], template: str
) -> dict[str, Any]:
    """Re-read test/labels.jsonl: how many test images, which are missing, which are not held out.

    `test_images` is None when there is no test set (no file). `test_not_held_out` lists test
    images that are a manifest's object or an instructions example, `test_outside_input` those
    not under `test/images/` (the batch transform's input); there should be none of either.
    """
    uri = settings.layout.test_labels
    try:
        text = read_object(s3, *split_uri(uri)).decode()
    except ClientError as exc:
        if not is_missing(exc):
            raise
        return {
            "test_images": None,
            "missing_test_objects": [],
            "test_not_held_out": [],
            "test_outside_input": [],
        }
    rows = gt_inputs.parse_test_labels(text, labels, uri)
    test = [row["source-ref"] for row in rows]
    exists = read_exists(s3, test)
    return {
        "test_images": len(test),
        "missing_test_objects": [u for u, ok in exists.items() if not ok],
        "test_not_held_out": [u for u in test if u in refs or u in template],
        # the batch transform reads the test images' prefix: one elsewhere gets no prediction
        "test_outside_input": [u for u in test if not u.startswith(settings.layout.test_images)],
    }


def read_exists(s3: Any, uris: list[str]) -> dict[str, bool]:
    """Check many objects for existence (from listings where many share a prefix)."""
    return objects_exist(s3, uris)


def stratification(chosen: pd.DataFrame) -> pd.DataFrame:
    """Share of validation images per class (equal shares mean a stratified split)."""
    table = chosen.groupby(["class_name", "split"]).size().unstack("split", fill_value=0)
    table["validation share"] = (table["validation"] / table.sum(axis=1)).round(2)
    return table


def worker_preview(settings: Settings, aws: Any, chosen: pd.DataFrame) -> str:
    """Render the uploaded worker template for the first training image, as HTML to display."""
    from helpers import worker_ui

    if not settings.role_arn:
        return (
            "<p>Set <code>role_arn</code> (the SageMaker execution role) to preview the worker "
            "task: RenderUiTemplate renders it with that role's access to your images.</p>"
        )
    bucket, key = split_uri(input_uris(settings).ui_template)
    template = read_object(aws.client("s3"), bucket, key).decode()
    first = chosen.loc[chosen["split"] == "train", "uri"].iloc[0]
    rendered = worker_ui.render_task(
        aws.client("sagemaker"), template, first, list(settings.classes), settings.role_arn
    )
    return worker_ui.preview_html(rendered, worker_ui.fetch_url)


def objects_summary(
    chosen: pd.DataFrame, examples: pd.DataFrame, test: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Objects written per class and split, each class's example image and held-out test images.

    `total` counts the labeling objects (both manifests); examples and test images are in none.
    """
    named = chosen.assign(class_name=chosen["class_name"].fillna("(unlabeled)"))
    table = named.groupby(["class_name", "split"], sort=False).size().unstack("split", fill_value=0)
    table = table.reindex(columns=["train", "validation"], fill_value=0)
    table["total"] = table.sum(axis=1)
    shown = dict(zip(examples["class_name"], examples["image_id"], strict=True))
    table["example image (instructions)"] = [shown.get(name, "none") for name in table.index]
    held_out = (test if test is not None else pd.DataFrame(columns=["class_name"]))[
        "class_name"
    ].value_counts()
    table["test (held out)"] = [int(held_out.get(name, 0)) for name in table.index]
    table.loc["all classes"] = [
        int(table["train"].sum()),
        int(table["validation"].sum()),
        int(table["total"].sum()),
        f"{len(shown)} images",
        int(table["test (held out)"].sum()),
    ]
    return table.rename_axis("class").rename_axis(None, axis=1)


def export_folder(settings: Settings) -> Path:
    """Where notebook 01 exports its table: the demo's run folder when set, else runs/dataset/."""
    given = os.environ.get("WALKTHROUGH_RUN_DIR")
    return (
        Path(given) if given else run_path("dataset", settings.bucket, *settings.prefix.split("/"))
    )


def export_objects(
    folder: Path, chosen: pd.DataFrame, examples: pd.DataFrame, test: pd.DataFrame | None = None
) -> Path:
    """Write every object written (examples and test images too) to `objects.csv`; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "objects.csv"
    rows = chosen.assign(role="labeling task")
    if not examples.empty:
        shown = examples.assign(split="example", role="instructions example")
        rows = pd.concat([rows, shown], ignore_index=True)
    if test is not None and not test.empty:
        held_out = test.assign(split="test", role="held-out test image (predicted)")
        rows = pd.concat([rows, held_out], ignore_index=True)
    rows[["image_id", "class_name", "split", "role", "uri"]].to_csv(path, index=False)
    return path
