"""Choose a small labeled subset of Open Images and stage its pictures in the user's bucket.

The same code runs against real AWS and the local AWS (whose ``open-images-dataset`` bucket holds
a generated mirror). All table work is vectorised pandas: the annotations file has 600k+ rows.
"""

from __future__ import annotations

import difflib
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import requests
from botocore.exceptions import ClientError

from helpers.awserrors import error_code, is_missing
from helpers.errors import InputError, WalkthroughError
from helpers.layout import Layout
from helpers.progress import progress

OPEN_IMAGES_BUCKET = "open-images-dataset"
#: Images never used (one shows personal information).
EXCLUDED_IMAGES = frozenset({"02a54f6864478101"})
#: Annotation sources whose labels a person checked.
HUMAN_SOURCES = ("verification", "crowdsource-verification")
ANNOTATION_COLUMNS = ("ImageID", "Source", "LabelName", "Confidence")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
_ANNOTATION_DTYPES = {
    "ImageID": str,
    "Source": "category",
    "LabelName": "category",
    "Confidence": "int8",
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CopyReport:
    """What `copy_images` did: objects copied and skipped, every destination key, and how many
    copy requests had to be retried (S3 answered `SlowDown` or a 5xx, and the retry succeeded)."""

    copied: int
    skipped: int
    keys: tuple[str, ...]
    retries: int = 0


# --- downloads ------------------------------------------------------------------------------------


def fetch(url: str, cache_dir: Path, s3: Any = None) -> Path:
    """Download `url` (https, http or s3) into `cache_dir` once; later calls reuse the file.

    An s3:// file is downloaded again when its ETag has changed (with a client to ask): the
    local Open Images mirror's annotations change with its size.
    """
    parsed = urlparse(url)
    name = PurePosixPath(parsed.path).name
    if parsed.scheme not in ("https", "http", "s3") or not parsed.netloc or not name:
        raise InputError(
            "download URL",
            url,
            "must be an https://, http:// or s3://bucket/key URL ending in a file name",
            "check annotations_url and class_descriptions_url",
        )
    target = Path(cache_dir) / name
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if target.is_file() and (parsed.scheme != "s3" or s3 is None):
        return target
    tag = target.with_name(f".{name}.etag")
    if target.is_file() and _etag(s3, bucket, key) in (None, _read_tag(tag)):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _partial_file(target) as part:
        if parsed.scheme == "s3":
            etag = _download_s3(s3, bucket, key, part, name)
        else:
            _download_http(url, part, name)
    if parsed.scheme == "s3":
        tag.write_text(etag, encoding="utf-8")
    return target


def _etag(s3: Any, bucket: str, key: str) -> str | None:
    """The S3 object's ETag, or None when it cannot be read (the cached copy is used then)."""
    try:
        return str(s3.head_object(Bucket=bucket, Key=key)["ETag"])
    except ClientError:
        return None


def _read_tag(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


@contextmanager
def _partial_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to `target`; rename it into place only on success."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    part = Path(name)
    try:
        yield part
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def _download_http(url: str, part: Path, name: str) -> None:
    """Stream `url` into `part` with a progress bar sized by Content-Length."""
    try:
        with requests.get(url, stream=True, timeout=(10, 60)) as response:
            response.raise_for_status()
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with part.open("wb") as out, progress(total=total, desc=name, unit="B") as bar:
                for chunk in response.iter_content(chunk_size=_CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
    except requests.RequestException as exc:
        raise InputError(
            "download URL",
            url,
            f"the download failed ({exc})",
            "check the URL and the network connection, then run the cell again",
        ) from exc


def _download_s3(s3: Any, bucket: str, key: str, part: Path, name: str) -> str:
    """Download s3://bucket/key into `part` with a progress bar; return its ETag."""
    if s3 is None:
        raise ValueError("fetch needs an s3 client for s3:// URLs")
    uri = f"s3://{bucket}/{key}"
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        with progress(total=head["ContentLength"], desc=name, unit="B") as bar:
            s3.download_file(bucket, key, str(part), Callback=_locked(bar.update))
        return str(head["ETag"])
    except ClientError as exc:
        if is_missing(exc):
            raise InputError(
                "download URL",
                uri,
                "no such S3 object",
                "check annotations_url and class_descriptions_url (in local mode, restart "
                "the local AWS so it uploads the Open Images mirror)",
            ) from exc
        raise


def _locked(function: Callable[[int], Any]) -> Callable[[int], None]:
    """Wrap a callback so threads (boto3's transfer workers) call it one at a time."""
    lock = threading.Lock()

    def call(amount: int) -> None:
        with lock:
            function(amount)

    return call


# --- reading the CSV files ------------------------------------------------------------------------


def read_annotations(path: Path | str) -> pd.DataFrame:
    """Read the image-level labels CSV (ImageID, Source, LabelName, Confidence) compactly."""
    header = pd.read_csv(path, nrows=0).columns
    missing = [c for c in ANNOTATION_COLUMNS if c not in header]
    if missing:
        raise InputError(
            "annotations_url",
            str(path),
            f"the file lacks the column(s) {missing}; it has {list(header)}",
            "point annotations_url at an Open Images image-level labels CSV",
        )
    try:
        return pd.read_csv(path, usecols=list(ANNOTATION_COLUMNS), dtype=_ANNOTATION_DTYPES)
    except ValueError as exc:
        raise InputError(
            "annotations_url",
            str(path),
            f"the file cannot be read as annotations ({exc})",
            "point annotations_url at an Open Images image-level labels CSV (Confidence 0 or 1)",
        ) from exc


def read_class_descriptions(path: Path | str) -> pd.DataFrame:
    """Read the header-less `MID,Name` class descriptions CSV into columns `mid`, `name`."""
    return pd.read_csv(path, header=None, names=["mid", "name"], dtype=str, keep_default_na=False)


# --- choosing classes and images ------------------------------------------------------------------


def _norm(names: pd.Series | Sequence[str]) -> pd.Series:
    return pd.Series(list(names), dtype=object).astype(str).str.strip().str.casefold()


def resolve_classes(names: Sequence[str], descriptions: pd.DataFrame) -> dict[str, str]:
    """Map each class name (as given) to its Open Images MID; case and spaces don't matter."""
    names = list(names)
    if len(names) < 2:
        raise InputError(
            "classes",
            names,
            "an image classification task needs at least 2 classes",
            "list two or more class names",
        )
    normalized = _norm(names)
    duplicated = [n for n, d in zip(names, normalized.duplicated(keep=False), strict=True) if d]
    if duplicated:
        raise InputError(
            "classes",
            names,
            f"{duplicated} name the same class (case and spaces are ignored)",
            "list each class once",
        )
    table = pd.DataFrame(
        {
            "key": _norm(descriptions["name"]),
            "name": descriptions["name"].values,
            "mid": descriptions["mid"].values,
        }
    ).drop_duplicates("key")
    lookup = dict(zip(table["key"], table["mid"], strict=True))
    unknown = [n for n, key in zip(names, normalized, strict=True) if key not in lookup]
    if unknown:
        raise _unknown_classes(unknown, table)
    return {n: lookup[key] for n, key in zip(names, normalized, strict=True)}


def _unknown_classes(unknown: list[str], table: pd.DataFrame) -> InputError:
    """Build the error for class names Open Images doesn't have, with close matches."""
    spelled = dict(zip(table["key"], table["name"], strict=True))
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name.strip().casefold(), list(spelled), n=5, cutoff=0.6)
        hints.append(
            f"{name!r}: did you mean {', '.join(repr(spelled[c]) for c in close)}?"
            if close
            else f"{name!r}: no close match"
        )
    return InputError(
        "classes",
        unknown[0] if len(unknown) == 1 else unknown,
        "not an Open Images boxable class name",
        "use a name from class-descriptions-boxable.csv; " + "; ".join(hints),
    )


def _rank_keys(ids: pd.Series, seed: int, salt: str) -> np.ndarray:
    """A seeded pseudo-random number per image id that does not depend on row order."""
    text = (f"{seed}:{salt}:" + ids.astype(str)).to_numpy(dtype=object)
    return pd.util.hash_array(text, categorize=False)


def eligible_images(annotations: pd.DataFrame, classes: dict[str, str]) -> pd.DataFrame:
    """Images human-verified as showing exactly one of `classes` (columns image_id, mid)."""
    mids = list(classes.values())
    keep = (
        annotations["Source"].isin(HUMAN_SOURCES)
        & (annotations["Confidence"] == 1)
        & annotations["LabelName"].isin(mids)
    )
    rows = annotations.loc[keep, ["ImageID", "LabelName"]].astype(str).drop_duplicates()
    rows = rows[~rows["ImageID"].isin(EXCLUDED_IMAGES)]
    single = rows["ImageID"].map(rows["ImageID"].value_counts()) == 1
    return rows[single].rename(columns={"ImageID": "image_id", "LabelName": "mid"})


def classes_pictured_alone(annotations: pd.DataFrame) -> set[str]:
    """The class ids (mids) of images human-verified to show that one class and no other."""
    verified = annotations["Source"].isin(HUMAN_SOURCES) & (annotations["Confidence"] == 1)
    labels = annotations.loc[verified, ["ImageID", "LabelName"]].drop_duplicates()
    alone = labels["ImageID"].map(labels["ImageID"].value_counts()) == 1
    return set(labels.loc[alone, "LabelName"].astype(str))


def select_images(
    annotations: pd.DataFrame, classes: dict[str, str], images_per_class: int, seed: int
) -> pd.DataFrame:
    """Pick `images_per_class` unambiguous human-verified images per class, reproducibly."""
    if images_per_class < 1:
        raise InputError(
            "images_per_class",
            images_per_class,
            "must be at least 1",
            "set images_per_class to a positive number",
        )
    names = pd.Series(list(classes), index=list(classes.values()))
    rows = eligible_images(annotations, classes).sort_values(["mid", "image_id"])
    available = rows["mid"].value_counts().reindex(names.index, fill_value=0)
    _check_enough(available.set_axis(names.values), images_per_class)
    rows = rows.assign(key=_rank_keys(rows["image_id"], seed, "select"))
    chosen = rows.sort_values(["mid", "key", "image_id"]).groupby("mid").head(images_per_class)
    chosen = chosen.assign(
        class_name=chosen["mid"].map(names),
        order=chosen["mid"].map(pd.Series(range(len(names)), index=names.index)),
    )
    chosen = chosen.sort_values(["order", "image_id"])
    return chosen[["image_id", "class_name", "mid"]].reset_index(drop=True)


def select_examples(
    annotations: pd.DataFrame, classes: dict[str, str], exclude: Iterable[str], seed: int
) -> pd.DataFrame:
    """Pick one eligible image per class outside `exclude`, reproducibly, for the instructions.

    A class with no image left over gets no example (columns image_id, class_name, mid).
    """
    names = pd.Series(list(classes), index=list(classes.values()))
    rows = eligible_images(annotations, classes)
    rows = rows[~rows["image_id"].isin(set(exclude))]
    rows = rows.assign(key=_rank_keys(rows["image_id"], seed, "example"))
    picked = rows.sort_values(["mid", "key", "image_id"]).groupby("mid").head(1)
    picked = picked.assign(
        class_name=picked["mid"].map(names),
        order=picked["mid"].map(pd.Series(range(len(names)), index=names.index)),
    ).sort_values("order")
    return picked[["image_id", "class_name", "mid"]].reset_index(drop=True)


def select_held_out(
    annotations: pd.DataFrame,
    classes: dict[str, str],
    exclude: Iterable[str],
    per_class: int,
    seed: int,
) -> pd.DataFrame:
    """Pick up to `per_class` eligible images per class outside `exclude`, reproducibly.

    A class with fewer images left gets what is left (columns image_id, class_name, mid, in the
    classes' order, then by image id).
    """
    names = pd.Series(list(classes), index=list(classes.values()))
    rows = eligible_images(annotations, classes)
    rows = rows[~rows["image_id"].isin(set(exclude))]
    rows = rows.assign(key=_rank_keys(rows["image_id"], seed, "test"))
    picked = rows.sort_values(["mid", "key", "image_id"]).groupby("mid").head(per_class)
    picked = picked.assign(
        class_name=picked["mid"].map(names),
        order=picked["mid"].map(pd.Series(range(len(names)), index=names.index)),
    ).sort_values(["order", "image_id"])
    return picked[["image_id", "class_name", "mid"]].reset_index(drop=True)


def _check_enough(available: pd.Series, images_per_class: int) -> None:
    """Raise naming every class with fewer eligible images than asked for."""
    short = available[available < images_per_class]
    if short.empty:
        return
    counts = ", ".join(f"{name!r} has {n}" for name, n in short.items())
    fix = f"choose another class instead of {', '.join(repr(n) for n in short.index)}"
    if short.min() > 0:
        fix = f"lower images_per_class to {int(short.min())} or less, or {fix}"
    raise InputError(
        "images_per_class",
        images_per_class,
        f"not enough human-verified images that show only one of the chosen classes: {counts}",
        fix,
    )


def split(selection: pd.DataFrame, validation_fraction: float, seed: int) -> pd.DataFrame:
    """Add a stratified `split` column (train/validation): each class gets at least 1 of each."""
    if not 0 < validation_fraction < 1:
        raise InputError(
            "validation_fraction",
            validation_fraction,
            "must be between 0 and 1",
            "use a fraction such as 0.2",
        )
    out = selection.reset_index(drop=True)
    sizes = out["class_name"].value_counts()
    too_small = sizes[sizes < 2]
    if not too_small.empty:
        raise InputError(
            "validation_fraction",
            validation_fraction,
            f"classes {list(too_small.index)} have a single image, so they cannot have one "
            "image in each split",
            "use images_per_class of 2 or more",
        )
    n_validation = (sizes * validation_fraction).round().clip(lower=1, upper=sizes - 1)
    order = out.assign(key=_rank_keys(out["image_id"], seed, "split"))
    order = order.sort_values(["class_name", "key", "image_id"])
    rank = order.groupby("class_name").cumcount()
    is_validation = rank < order["class_name"].map(n_validation)
    out["split"] = np.where(is_validation.reindex(out.index), "validation", "train")
    return out


# --- S3 -------------------------------------------------------------------------------------------


def image_file(image_id: str) -> str:
    """The staged file name of an image: Open Images ids get `.jpg`, own files keep their name."""
    return image_id if image_id.lower().endswith(IMAGE_EXTENSIONS) else f"{image_id}.jpg"


def image_uri(bucket: str, prefix: str, image_id: str) -> str:
    """Return the S3 URI where `copy_images` puts an image."""
    return Layout(bucket, prefix.strip("/")).image_uri(image_file(image_id))


def _split_s3_uri(uri: str, setting: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InputError(setting, uri, "must look like s3://bucket/prefix/", "fix the S3 URI")
    return parsed.netloc, parsed.path.lstrip("/")


def _list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under `prefix` (all pages)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _sources(selection: pd.DataFrame, source_bucket: str) -> list[tuple[str, str]]:
    """(bucket, key) of each selected image: its `source_uri` if present, else Open Images."""
    if "source_uri" in selection.columns:
        return [_split_s3_uri(u, "source_uri") for u in selection["source_uri"]]
    return [(source_bucket, f"test/{i}.jpg") for i in selection["image_id"]]


def copy_images(
    s3: Any,
    selection: pd.DataFrame,
    dest_bucket: str,
    dest_prefix: str,
    max_workers: int = 16,
    source_bucket: str = OPEN_IMAGES_BUCKET,
    dest_keys: str | None = None,
) -> CopyReport:
    """Copy the selected images server-side to `<dest_prefix>/images/`, skipping ones present.

    `dest_keys` is another key prefix (ending in '/') to copy to, e.g. the test images'.
    """
    images = dest_keys or Layout(dest_bucket, dest_prefix.strip("/")).image_keys
    keys = [images + image_file(str(i)) for i in selection["image_id"]]
    present = set(_list_keys(s3, dest_bucket, images))
    jobs = {
        key: (str(image_id), source)
        for key, image_id, source in zip(
            keys, selection["image_id"], _sources(selection, source_bucket), strict=True
        )
        if key not in present
    }
    retries = _run_copies(s3, dest_bucket, jobs, max_workers) if jobs else 0
    return CopyReport(
        copied=len(jobs), skipped=len(set(keys)) - len(jobs), keys=tuple(keys), retries=retries
    )


def _run_copies(
    s3: Any, bucket: str, jobs: dict[str, tuple[str, tuple[str, str]]], max_workers: int
) -> int:
    """Run the copies on a thread pool with a progress bar; stop at the first failure.

    Returns how many retries the copies needed in all.
    """
    retries = 0
    with (
        ThreadPoolExecutor(max_workers=max_workers) as pool,
        progress(total=len(jobs), desc="copy images") as bar,
    ):
        futures = [
            pool.submit(_copy_one, s3, image_id, source, bucket, key)
            for key, (image_id, source) in jobs.items()
        ]
        try:
            for future in as_completed(futures):
                retries += future.result()
                bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return retries


def _copy_one(s3: Any, image_id: str, source: tuple[str, str], bucket: str, key: str) -> int:
    """Copy one object server-side; return its retries. A missing source is an error naming it."""
    try:
        answer = s3.copy_object(
            CopySource={"Bucket": source[0], "Key": source[1]}, Bucket=bucket, Key=key
        )
        return int(answer.get("ResponseMetadata", {}).get("RetryAttempts", 0))
    except ClientError as exc:
        if is_missing(exc) and error_code(exc) != "NoSuchBucket":  # either bucket may be it
            raise WalkthroughError(
                f"image {image_id}: the source object s3://{source[0]}/{source[1]} does not "
                "exist, so it cannot be copied. Check the source bucket (in local mode, restart "
                "the local AWS so it uploads the Open Images mirror) or choose other images."
            ) from exc
        raise


def list_own_images(s3: Any, s3_uri: str) -> pd.DataFrame:
    """List the .jpg/.jpeg/.png images under an S3 prefix (columns image_id, uri)."""
    bucket, prefix = _split_s3_uri(s3_uri, "source")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    try:
        keys = _list_keys(s3, bucket, prefix)
    except ClientError as exc:
        raise InputError(
            "source",
            s3_uri,
            f"cannot list it ({error_code(exc)})",
            "check the bucket name and your permission to list it",
        ) from exc
    images = sorted(k for k in keys if k.lower().endswith(IMAGE_EXTENSIONS))
    if not images:
        raise InputError(
            "source",
            s3_uri,
            "there are no .jpg, .jpeg or .png images under it",
            "upload your images there, or point source at the right prefix",
        )
    return pd.DataFrame(
        {
            "image_id": [k[len(prefix) :] for k in images],
            "uri": [f"s3://{bucket}/{k}" for k in images],
        }
    )
