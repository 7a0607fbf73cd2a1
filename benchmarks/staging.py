"""Benchmark `staging`: copy 200 Open Images pictures into the user's bucket, 30 ms per request.

Ours is notebook 01's `helpers.openimages.copy_images` (server-side copies on a thread pool,
after one listing to skip what is there). Upstream is `prep_inputs.py` call for call: a loop of
boto3's managed `s3.copy(...)`, one image after the other, with a default `boto3.client("s3")`.
The local AWS adds `latency_ms` to every S3 request (its fault injection), standing in for the
round trip from a notebook to S3. The sides alternate over the repeats, each into a fresh prefix;
the median is reported. Both must end with the same objects (keys and ETags), or it fails.
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pandas as pd

from benchmarks.isolated import REGION
from benchmarks.report import Result, median, quantity
from helpers import dataset, local, openimages
from helpers.aws import connect
from helpers.local.openimages.mirror import CLASSES
from helpers.s3 import ensure_bucket
from helpers.settings import load

NAME = "staging"
BUCKET = "gt-walkthrough-bench"
SIDES = ("ours", "upstream")


def choose(images: int) -> tuple[Any, pd.DataFrame]:
    """Our S3 client and `images` pictures chosen as notebook 01 chooses them (all 5 classes)."""
    per_class = max(2, -(-images // len(CLASSES)))
    settings = load(
        {"bucket": BUCKET, "classes": list(CLASSES), "images_per_class": per_class}, env={}
    )
    s3 = connect(settings).client("s3")
    chosen = dataset.choose_images(settings, s3, dataset.load_annotations(settings, s3))
    ensure_bucket(s3, BUCKET, REGION, create=True)
    return s3, chosen.head(images)


def ours(s3: Any, chosen: pd.DataFrame, prefix: str) -> None:
    """Notebook 01's way."""
    openimages.copy_images(s3, chosen, BUCKET, prefix)


def upstream(s3: Any, chosen: pd.DataFrame, prefix: str) -> None:
    """`prep_inputs.py`'s way: one managed `s3.copy` after another."""
    for image_id in chosen["image_id"]:
        copy_source = {"Bucket": "open-images-dataset", "Key": f"test/{image_id}.jpg"}
        s3.copy(copy_source, BUCKET, f"{prefix}/images/{image_id}.jpg")


def etags(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    """File name -> ETag of every object under `prefix`."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {
        item["Key"].rsplit("/", 1)[1]: item["ETag"]
        for page in pages
        for item in page.get("Contents", [])
    }


def check_same_objects(s3: Any, chosen: pd.DataFrame, prefixes: list[str]) -> None:
    """Fail unless every prefix holds exactly the chosen pictures, identical to their sources."""
    source = {
        f"{i}.jpg": s3.head_object(Bucket="open-images-dataset", Key=f"test/{i}.jpg")["ETag"]
        for i in chosen["image_id"]
    }
    for prefix in prefixes:
        found = etags(s3, BUCKET, f"{prefix}/images/")
        if found != source:
            missing = sorted(set(source) - set(found))[:3]
            raise AssertionError(
                f"{prefix}: not the same objects as the source (missing {missing})"
            )


def run(url: str, images: int = 200, latency_ms: float = 30.0, repeats: int = 3) -> Result:
    """Measure both sides `repeats` times under the added latency, check, report."""
    s3, chosen = choose(images)
    plain = boto3.client("s3", region_name=REGION)  # what prep_inputs.py creates
    sides = {"ours": (ours, s3), "upstream": (upstream, plain)}
    seconds: dict[str, list[float]] = {side: [] for side in SIDES}
    prefixes = []
    local.set_faults(url, latency_ms=latency_ms)
    try:
        for i in range(repeats):
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                prefix = f"bench/{side}-{i}-{time.time_ns()}"
                function, client = sides[side]
                started = time.perf_counter()
                function(client, chosen, prefix)
                seconds[side].append(time.perf_counter() - started)
                prefixes.append(prefix)
    finally:
        local.clear_faults(url)
    check_same_objects(s3, chosen, prefixes)
    typical = {side: median(seconds[side]) for side in SIDES}
    table = (
        ("side", "time (median)", "per image", "runs"),
        *(
            (
                side,
                quantity(typical[side], "s"),
                quantity(typical[side] / len(chosen) * 1000, "ms"),
                str(len(seconds[side])),
            )
            for side in SIDES
        ),
    )
    note = f"{len(chosen)} images, {latency_ms:g} ms added per S3 request"
    return Result(NAME, typical["ours"], typical["upstream"], table, note)
