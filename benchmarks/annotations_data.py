"""A generated stand-in for the real Open Images image-level labels CSV, at the real file's size.

The real `test-annotations-human-imagelabels-boxable.csv` has about 625,000 rows on 112,000
images (five to six labels per image, 600 boxable classes, `Confidence` 1 or 0). This file has the
same schema, sort order and shape. Each of the five walkthrough classes is verified present
(`Confidence` 1) on exactly `per_class` images, and no image shows two of them, so "every image of
each class" is the same selection whether or not a reader also drops ambiguous images; the
personal-information image the upstream sample removes is one more Fruit image. The five classes
also appear as verified absent (`Confidence` 0) on other images, so a reader must check the
confidence.
"""

from __future__ import annotations

import random
from pathlib import Path

from helpers.local.openimages.mirror import CLASSES, OTHER_CLASSES, PERSONAL_INFO_IMAGE_ID

HEADER = "ImageID,Source,LabelName,Confidence\n"
#: Rows of the real file (test split, human-verified, boxable classes), rounded.
REAL_ROWS = 625_000
#: How many label classes the file uses (Open Images has 600 boxable classes).
LABEL_CLASSES = 600
_MID_CHARS = "0123456789bcdfghjklmnpqrstvwxyz_"
_NEGATIVE_SHARE = 0.03  # images that also carry a "verified absent" row for one of the five
_POSITIVE_SHARE = 0.62  # other labels verified present (the rest verified absent)


def _label_pool(rng: random.Random) -> list[str]:
    """MIDs for every class but the five: the mirror's own, then made-up ones of the real shape."""
    pool = list(dict.fromkeys(OTHER_CLASSES.values()))
    taken = set(pool) | set(CLASSES.values())
    while len(pool) < LABEL_CLASSES - len(CLASSES):
        mid = "/m/0" + "".join(rng.choices(_MID_CHARS, k=rng.randint(3, 6)))
        if mid not in taken:
            taken.add(mid)
            pool.append(mid)
    return pool


def _source(rng: random.Random) -> str:
    return "crowdsource-verification" if rng.random() < 0.1 else "verification"


def generate(path: Path, rows: int = REAL_ROWS, per_class: int = 500, seed: int = 0) -> Path:
    """Write the CSV to `path` (at least `rows` data rows); return the path."""
    rng = random.Random(seed)
    pool = _label_pool(rng)
    labels: dict[str, list[tuple[str, str, str]]] = {}
    count = 0
    while count < rows or len(labels) < len(CLASSES) * per_class + 1:
        image_id = f"{rng.getrandbits(64):016x}"
        if image_id in labels or image_id == PERSONAL_INFO_IMAGE_ID:
            continue
        picked = rng.sample(pool, rng.randint(1, 10))
        labels[image_id] = [
            (_source(rng), mid, "1" if rng.random() < _POSITIVE_SHARE else "0") for mid in picked
        ]
        count += len(picked)
    images = sorted(labels)
    chosen = rng.sample(images, len(CLASSES) * per_class)
    for k, mid in enumerate(CLASSES.values()):
        for image_id in chosen[k * per_class : (k + 1) * per_class]:
            labels[image_id].append((_source(rng), mid, "1"))
    labels[PERSONAL_INFO_IMAGE_ID] = [("verification", CLASSES["Fruit"], "1")]
    positive = set(chosen)
    for image_id in rng.sample(images, int(len(images) * _NEGATIVE_SHARE)):
        if image_id not in positive:
            labels[image_id].append(("verification", rng.choice(list(CLASSES.values())), "0"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for image_id in sorted(labels):
            out.writelines(
                f"{image_id},{source},{mid},{confidence}\n"
                for source, mid, confidence in sorted(labels[image_id], key=lambda r: r[1])
            )
    return path
