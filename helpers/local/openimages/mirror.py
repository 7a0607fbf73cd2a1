"""A generated, deterministic stand-in for the public Open Images test split (local mode).

:func:`build` draws the pictures and writes the two Open Images CSV files the walkthrough reads;
:func:`upload` copies them into the local S3 under the public bucket's own keys, so the
walkthrough code runs unchanged with no network. Layout of a built mirror::

    dest/images/<ImageID>.jpg
    dest/test-annotations-human-imagelabels-boxable.csv  header: ImageID,Source,LabelName,Confidence
    dest/class-descriptions-boxable.csv                  no header; MID,Name rows
    dest/VERSION                                         cache marker, written last

Every ImageID with a positive or negative row for one of :data:`CLASSES` has a picture. Rows for
other classes also exist on ImageIDs that have no picture, as in the real file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from helpers.errors import InputError, LocalAwsError
from helpers.local.openimages import drawing

MIRROR_VERSION = 1
BUCKET = "open-images-dataset"
REGION = "us-east-1"
ANNOTATIONS_KEY = "2018_04/test/test-annotations-human-imagelabels-boxable.csv"
CLASS_DESCRIPTIONS_KEY = "2018_04/class-descriptions-boxable.csv"
IMAGE_PREFIX = "test/"
ANNOTATIONS_FILE = "test-annotations-human-imagelabels-boxable.csv"
CLASS_DESCRIPTIONS_FILE = "class-descriptions-boxable.csv"
IMAGES_DIR = "images"
VERSION_FILE = "VERSION"
ANNOTATIONS_HEADER: tuple[str, ...] = ("ImageID", "Source", "LabelName", "Confidence")
MIN_IMAGES_PER_CLASS = 5
#: The largest mirror: enough for a 5,000-object walkthrough (5 classes x 1,000) and its test set.
MAX_IMAGES_PER_CLASS = 2000
#: The mirror the local AWS loads unless `WALKTHROUGH_LOCAL_OPENIMAGES_PER_CLASS` asks for more.
DEFAULT_IMAGES_PER_CLASS = 80

#: The five drawn classes, display name (spelled as Open Images spells it) -> MID.
CLASSES: MappingProxyType[str, str] = MappingProxyType(
    {
        "Musical instrument": "/m/04szw",
        "Fruit": "/m/02xwb",
        "Cheetah": "/m/0cd4d",
        "Tiger": "/m/07dm6",
        "Snowman": "/m/0152hh",
    }
)

#: Other real boxable Open Images classes: listed in the descriptions, used in rows only.
OTHER_CLASSES: MappingProxyType[str, str] = MappingProxyType(
    {
        "Apple": "/m/014j1m",
        "Banana": "/m/09qck",
        "Orange": "/m/0cyhj_",
        "Pear": "/m/061_f",
        "Grape": "/m/0388q",
        "Strawberry": "/m/07fbm7",
        "Lemon": "/m/09k_b",
        "Guitar": "/m/0342h",
        "Violin": "/m/07y_7",
        "Drum": "/m/026t6",
        "Trumpet": "/m/07gql",
        "Musical keyboard": "/m/057cc",
        "Piano": "/m/05r5c",
        "Cat": "/m/01yrx",
        "Dog": "/m/0bt9lr",
        "Bird": "/m/015p6",
        "Car": "/m/0k4j",
        "Bus": "/m/01bjv",
        "Mammal": "/m/04rky",
        "Carnivore": "/m/01lrl",
        "Leopard": "/m/0c29q",
        "Lion": "/m/096mb",
        "Pretzel": "/m/01f91_",
        "Umbrella": "/m/0hnnb",
        "Fish": "/m/0ch_cf",
        "Invertebrate": "/m/03xxp",
        "Glasses": "/m/0jyfg",
        "Camera": "/m/0dv5r",
        "Scarf": "/m/02h19r",
        "Food": "/m/02wbm",
    }
)

#: The image the real walkthrough drops because it shows personal information (a Fruit image).
PERSONAL_INFO_IMAGE_ID = "02a54f6864478101"
#: Images the original walkthrough's labeling UI shows as examples, MID -> ImageID.
EXAMPLE_IMAGE_IDS: MappingProxyType[str, str] = MappingProxyType(
    {
        "/m/04szw": "0634825fc1dcc96b",
        "/m/02xwb": "0415b6a36f3381ed",
    }
)

_KIND_BY_MID: MappingProxyType[str, str] = MappingProxyType(
    dict(
        zip(
            CLASSES.values(),
            ("musical_instrument", "fruit", "cheetah", "tiger", "snowman"),
            strict=True,
        )
    )
)
_VARIANT_WEIGHTS: MappingProxyType[str, float] = MappingProxyType(
    {
        "acoustic_guitar": 0.28,
        "electric_guitar": 0.16,
        "violin": 0.2,
        "drum": 0.14,
        "trumpet": 0.12,
        "keyboard": 0.1,
    }
)
#: A second, non-drawn positive label that makes sense for what a variant shows.
_EXTRA_LABEL: MappingProxyType[str, str] = MappingProxyType(
    {
        "acoustic_guitar": "Guitar",
        "electric_guitar": "Guitar",
        "violin": "Violin",
        "drum": "Drum",
        "trumpet": "Trumpet",
        "keyboard": "Musical keyboard",
        "apples": "Apple",
        "oranges": "Orange",
        "lemons": "Lemon",
        "bananas": "Banana",
        "pears": "Pear",
        "grapes": "Grape",
        "strawberries": "Strawberry",
        "mixed": "Food",
        "cheetah": "Mammal",
        "tiger": "Carnivore",
        "snowman": "Scarf",
    }
)
#: ImageIDs the real walkthrough names, placed at fixed (class MID, index) slots.
_FIXED_IDS: MappingProxyType[tuple[str, int], str] = MappingProxyType(
    {
        ("/m/02xwb", 0): PERSONAL_INFO_IMAGE_ID,
        ("/m/02xwb", 1): EXAMPLE_IMAGE_IDS["/m/02xwb"],
        ("/m/04szw", 0): EXAMPLE_IMAGE_IDS["/m/04szw"],
    }
)
_EXTRA_POSITIVE_RATE = 0.05
_CROWDSOURCE_RATE = 0.04
_DUAL_PER_CLASS = 3


@dataclass(frozen=True)
class MirrorImage:
    """One picture of the mirror: its id, what it shows and how it is drawn."""

    image_id: str
    mid: str
    variant: str
    size: tuple[int, int]
    seed: int
    also_mid: str | None = None
    also_variant: str | None = None

    @property
    def items(self) -> list[tuple[str, str]]:
        """Return the (kind, variant) pairs the drawing module draws, left to right."""
        out = [(_KIND_BY_MID[self.mid], self.variant)]
        if self.also_mid is not None and self.also_variant is not None:
            out.append((_KIND_BY_MID[self.also_mid], self.also_variant))
        return out


def _int_hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def _image_id(mid: str, index: int) -> str:
    fixed = _FIXED_IDS.get((mid, index))
    return fixed or hashlib.sha1(f"{mid}-{index}".encode()).hexdigest()[:16]


def _pick_variant(kind: str, rng: random.Random) -> str:
    variants = list(drawing.SUBJECTS[kind])
    weights = [_VARIANT_WEIGHTS.get(v, 1.0) for v in variants]
    return rng.choices(variants, weights)[0]


def _check_images_per_class(images_per_class: object) -> int:
    if (
        not isinstance(images_per_class, int)
        or isinstance(images_per_class, bool)
        or not MIN_IMAGES_PER_CLASS <= images_per_class <= MAX_IMAGES_PER_CLASS
    ):
        raise InputError(
            "images_per_class",
            images_per_class,
            f"must be a whole number from {MIN_IMAGES_PER_CLASS} to {MAX_IMAGES_PER_CLASS}",
            f"use the default ({DEFAULT_IMAGES_PER_CLASS}) or any whole number from "
            f"{MIN_IMAGES_PER_CLASS} to {MAX_IMAGES_PER_CLASS}",
        )
    return images_per_class


def plan(images_per_class: int = DEFAULT_IMAGES_PER_CLASS) -> list[MirrorImage]:
    """Return every picture of a mirror with ``images_per_class`` pictures per class.

    A picture depends on its class and index only (not on the mirror's size), so a larger
    mirror adds pictures and keeps the ones a smaller one has: the few that also show another
    class sit just below index 80 (or at the end of a smaller mirror).
    """
    n = _check_images_per_class(images_per_class)
    dual_end = min(n, DEFAULT_IMAGES_PER_CLASS)
    mids = list(CLASSES.values())
    out: list[MirrorImage] = []
    for k, mid in enumerate(mids):
        for i in range(n):
            image_id = _image_id(mid, i)
            seed = _int_hash(f"{MIRROR_VERSION}:{image_id}")
            rng = random.Random(seed)
            variant = _pick_variant(_KIND_BY_MID[mid], rng)
            size = rng.choice(drawing.SIZES)
            also_mid = also_variant = None
            dual = dual_end - 1 - i  # a few pictures of each class also show another class
            if 0 <= dual < _DUAL_PER_CLASS:
                also_mid = mids[(k + 1 + dual) % len(mids)]
                also_variant = _pick_variant(_KIND_BY_MID[also_mid], rng)
            out.append(MirrorImage(image_id, mid, variant, size, seed, also_mid, also_variant))
    if len({m.image_id for m in out}) != len(out):  # cannot happen with sha1 ids; be loud if so
        raise RuntimeError("mirror plan produced a duplicate ImageID")
    return out


def annotation_rows(images: Sequence[MirrorImage]) -> list[tuple[str, str, str, str]]:
    """Return the image-level label rows, sorted by ImageID as in the real file (classes mixed)."""
    rng = random.Random(_int_hash(f"{MIRROR_VERSION}:annotations:{len(images)}"))
    drawn = list(CLASSES.values())
    others = list(OTHER_CLASSES.values())
    rows: list[tuple[str, str, str, str]] = []
    for img in images:
        source = "crowdsource-verification" if rng.random() < _CROWDSOURCE_RATE else "verification"
        rows.append((img.image_id, source, img.mid, "1"))
        positives = {img.mid}
        if img.also_mid is not None:
            rows.append((img.image_id, "verification", img.also_mid, "1"))
            positives.add(img.also_mid)
        extra = OTHER_CLASSES[_EXTRA_LABEL[img.variant]]
        if rng.random() < _EXTRA_POSITIVE_RATE:
            rows.append((img.image_id, "verification", extra, "1"))
        if rng.random() < 0.3:
            candidates = [m for m in drawn if m not in positives]
            for mid in rng.sample(candidates, rng.randint(1, 2)):
                rows.append((img.image_id, "verification", mid, "0"))
        if rng.random() < 0.15:
            mid = rng.choice([m for m in others if m != extra])
            rows.append((img.image_id, "verification", mid, "0"))
    for i in range(max(10, len(images) // 10)):  # pictures of other classes: rows only
        image_id = hashlib.sha1(f"other-{i}".encode()).hexdigest()[:16]
        for mid in rng.sample(others, rng.randint(1, 3)):
            source = rng.choice(("verification", "verification", "crowdsource-verification"))
            rows.append((image_id, source, mid, "1" if rng.random() < 0.7 else "0"))
    rows.sort(key=lambda r: (r[0], r[2]))
    return rows


def _csv_text(rows: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")  # quotes a field only if it needs it
    writer.writerows(rows)
    return buf.getvalue()


def annotations_csv(images: Sequence[MirrorImage]) -> str:
    """Return the annotations file text (with the real header line)."""
    return _csv_text([ANNOTATIONS_HEADER, *annotation_rows(images)])


def class_descriptions_csv() -> str:
    """Return the class descriptions file text: ``MID,Name`` rows sorted by MID, no header."""
    pairs = {**{m: n for n, m in CLASSES.items()}, **{m: n for n, m in OTHER_CLASSES.items()}}
    return _csv_text(sorted(pairs.items()))


def _marker(images_per_class: int) -> str:
    return (
        json.dumps(
            {"mirror_version": MIRROR_VERSION, "images_per_class": images_per_class}, sort_keys=True
        )
        + "\n"
    )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _read_marker(dest: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((dest / VERSION_FILE).read_text(encoding="utf-8")))
    except (FileNotFoundError, NotADirectoryError, ValueError, TypeError):
        return {}


def _reusable(previous: dict[str, Any], images_per_class: int) -> bool:
    """Whether the pictures of a previous build are the same as this size's (so kept)."""
    if previous.get("mirror_version") != MIRROR_VERSION:
        return False
    before = int(previous.get("images_per_class", 0))
    # below 80 per class the pictures showing two classes sit at the end: they move with the size
    return before == images_per_class or min(before, images_per_class) >= DEFAULT_IMAGES_PER_CLASS


def _is_current(dest: Path, images: Sequence[MirrorImage], marker: str) -> bool:
    try:
        if (dest / VERSION_FILE).read_text(encoding="utf-8") != marker:
            return False
        present = set(os.listdir(dest / IMAGES_DIR))
    except (FileNotFoundError, NotADirectoryError):
        return False
    return (
        (dest / ANNOTATIONS_FILE).is_file()
        and (dest / CLASS_DESCRIPTIONS_FILE).is_file()
        and all(f"{img.image_id}.jpg" in present for img in images)
    )


def render(img: MirrorImage) -> bytes:
    """Return the JPEG bytes of one planned picture."""
    return drawing.render_jpeg(img.items, img.seed, img.size)


def build(dest: Path, images_per_class: int = DEFAULT_IMAGES_PER_CLASS) -> Path:
    """Write the mirror's pictures, CSVs and VERSION marker into ``dest``; reuse it if current.

    Pictures already drawn by a mirror of this version of 80 or more per class are kept and
    reused, so growing the mirror draws only the new ones, and going back to a smaller one (of
    80 or more) draws none.
    """
    n = _check_images_per_class(images_per_class)
    dest = Path(dest)
    images = plan(n)
    marker = _marker(n)
    if _is_current(dest, images, marker):
        return dest
    images_dir = dest / IMAGES_DIR
    images_dir.mkdir(parents=True, exist_ok=True)
    previous = _read_marker(dest)
    (dest / VERSION_FILE).unlink(missing_ok=True)
    if not _reusable(previous, n):
        for stale in images_dir.glob("*.jpg"):
            stale.unlink()
    present = set(os.listdir(images_dir))
    for img in images:  # ~7 ms a picture on 2 slow cores: 80 per class ~3 s, 1,010 ~40 s
        if f"{img.image_id}.jpg" not in present:
            _write_atomic(images_dir / f"{img.image_id}.jpg", render(img))
    _write_atomic(dest / ANNOTATIONS_FILE, annotations_csv(images).encode())
    _write_atomic(dest / CLASS_DESCRIPTIONS_FILE, class_descriptions_csv().encode())
    _write_atomic(dest / VERSION_FILE, marker.encode())
    return dest


# --- Upload to the local S3 -----------------------------------------------------------------------


def _objects(dest: Path) -> list[tuple[str, Path, str]]:
    """Return (key, file, content type) for everything :func:`upload` puts."""
    if not (dest / VERSION_FILE).is_file():
        raise InputError(
            "dest",
            str(dest),
            "is not a built Open Images mirror (no VERSION file)",
            "call helpers.local.openimages.mirror.build(dest) first",
        )
    per_class = int(_read_marker(dest).get("images_per_class", 0))
    names = sorted(f"{img.image_id}.jpg" for img in plan(per_class)) if per_class else []
    out = [(f"{IMAGE_PREFIX}{name}", dest / IMAGES_DIR / name, "image/jpeg") for name in names]
    out.append((ANNOTATIONS_KEY, dest / ANNOTATIONS_FILE, "text/csv"))
    out.append((CLASS_DESCRIPTIONS_KEY, dest / CLASS_DESCRIPTIONS_FILE, "text/csv"))
    return out


def _error_code(exc: Exception) -> str:
    response: Any = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _ensure_bucket(s3_client: Any) -> None:
    try:
        s3_client.head_bucket(Bucket=BUCKET)
        return
    except Exception as exc:  # botocore raises ClientError (404/403) or connection errors
        code = _error_code(exc)
        if code in ("403", "AccessDenied"):
            raise LocalAwsError(
                f"s3://{BUCKET} exists but this client may not use it; upload() only writes to "
                "the embedded local AWS, so point the client at its endpoint_url"
            ) from exc
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise LocalAwsError(f"cannot reach the local S3 to check s3://{BUCKET}: {exc}") from exc
    region = getattr(getattr(s3_client, "meta", None), "region_name", None)
    if region not in (None, REGION):
        raise InputError(
            "s3_client region",
            region,
            f"the Open Images bucket must be created in {REGION}",
            f"pass boto3.client('s3', region_name='{REGION}', endpoint_url=...)",
        )
    try:
        s3_client.create_bucket(Bucket=BUCKET)
    except Exception as exc:
        if _error_code(exc) != "BucketAlreadyOwnedByYou":
            raise LocalAwsError(f"cannot create s3://{BUCKET} in the local S3: {exc}") from exc


def _existing_keys(s3_client: Any) -> set[str]:
    keys: set[str] = set()
    try:
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            keys.update(obj["Key"] for obj in page.get("Contents", []))
    except Exception as exc:
        raise LocalAwsError(f"cannot list s3://{BUCKET} in the local S3: {exc}") from exc
    return keys


def upload(s3_client: Any, dest: Path, max_workers: int = 16) -> int:
    """Put a built mirror into s3://open-images-dataset, skipping present keys; return the count."""
    if not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1:
        raise InputError(
            "max_workers",
            max_workers,
            "must be a whole number of at least 1",
            "use the default (16)",
        )
    objects = _objects(Path(dest))
    _ensure_bucket(s3_client)
    present = _existing_keys(s3_client)
    todo = [o for o in objects if o[0] not in present]
    if not todo:
        return 0

    def put(obj: tuple[str, Path, str]) -> None:
        """Put one file (runs in a worker thread)."""
        key, path, content_type = obj
        try:
            s3_client.put_object(
                Bucket=BUCKET, Key=key, Body=path.read_bytes(), ContentType=content_type
            )
        except Exception as exc:
            raise LocalAwsError(f"cannot put s3://{BUCKET}/{key} into the local S3: {exc}") from exc

    with ThreadPoolExecutor(max_workers=min(max_workers, len(todo))) as pool:
        list(pool.map(put, todo))
    return len(todo)
