"""Benchmark `staging`: copy 200 Open Images pictures into the user's bucket, 30 ms per request.

Ours is notebook 01's `helpers.openimages.copy_images` (server-side copies on a thread pool,
after one listing to skip what is there). Upstream is `prep_inputs.py` call for call: a loop of
boto3's managed `s3.copy(...)`, one image after the other, with a default `boto3.client("s3")`.
The local AWS adds `latency_ms` to every S3 request (its fault injection), standing in for the
round trip from a notebook to S3. Both must end with the same objects (keys and ETags), or it
fails.

The figure should say how the clients compare, not how busy the machine is: ours is short and
bound by the local AWS's CPU (one Python process serves every request), so it is run
`OURS_PER_ROUND` times in each of the `repeats` rounds, the sides alternating in the rounds;
the summary compares the medians (see `_result`), with the best runs and the spreads (lowest
to highest run, and the ratio over the rounds) beside them. Each side's S3 requests are counted
by the local AWS, and so is their critical path: the requests one after the other (upstream:
all of them; ours: its listing, then its copies `max_workers` at a time), which at
`latency_ms` each is the least time that side can take, whatever the CPU; their quotient is
the most the ratio can be.
"""

from __future__ import annotations

import inspect
import math
import time
from collections import Counter
from collections.abc import Sequence
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
#: Runs of our side per round (it takes about 1/20 of upstream's time, and varies the most).
OURS_PER_ROUND = 3
#: Rounds by default (`python -m benchmarks staging --repeats N` changes it).
REPEATS = 5


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


def copy_workers() -> int:
    """How many copies ours makes at a time (`copy_images`' default thread pool)."""
    return int(inspect.signature(openimages.copy_images).parameters["max_workers"].default)


def critical_path(side: str, counts: Counter[str]) -> int:
    """The S3 requests of a side that wait for one another (see the module's docstring)."""
    if side == "upstream":
        return sum(counts.values())
    copies = counts["CopyObject"]
    return sum(counts.values()) - copies + math.ceil(copies / copy_workers())


def s3_requests(url: str) -> Counter[str]:
    """The S3 requests the local AWS answered since its counts were reset, by operation."""
    return Counter(
        {k.split(".", 1)[1]: v for k, v in local.request_counts(url).items() if k[:3] == "s3."}
    )


def spread(values: Sequence[float], unit: str) -> str:
    """Lowest to highest, and half that range as a share of the median: `0.70-0.85 s (±10%)`."""
    low, high = min(values), max(values)
    half = (high - low) / 2 / median(values) * 100 if median(values) else 0.0
    return f"{quantity(low, unit).split()[0]}-{quantity(high, unit)} (±{half:.0f}%)"


def run(url: str, images: int = 200, latency_ms: float = 30.0, repeats: int = REPEATS) -> Result:
    """Measure both sides over `repeats` rounds under the added latency, check, report."""
    s3, chosen = choose(images)
    plain = boto3.client("s3", region_name=REGION)  # what prep_inputs.py creates
    sides = {"ours": (ours, s3), "upstream": (upstream, plain)}
    seconds: dict[str, list[float]] = {side: [] for side in SIDES}
    rounds: list[dict[str, list[float]]] = []
    requests: dict[str, set[tuple[tuple[str, int], ...]]] = {side: set() for side in SIDES}
    prefixes = []
    local.set_faults(url, latency_ms=latency_ms)
    try:
        for i in range(repeats):
            rounds.append({side: [] for side in SIDES})
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                for _ in range(OURS_PER_ROUND if side == "ours" else 1):
                    prefix = f"bench/{side}-{i}-{time.time_ns()}"
                    function, client = sides[side]
                    local.reset_request_counts(url)
                    started = time.perf_counter()
                    function(client, chosen, prefix)
                    elapsed = time.perf_counter() - started
                    requests[side].add(tuple(sorted(s3_requests(url).items())))
                    seconds[side].append(elapsed)
                    rounds[-1][side].append(elapsed)
                    prefixes.append(prefix)
    finally:
        local.clear_faults(url)
    check_same_objects(s3, chosen, prefixes)
    return _result(chosen, latency_ms, seconds, rounds, requests)


def _result(
    chosen: pd.DataFrame,
    latency_ms: float,
    seconds: dict[str, list[float]],
    rounds: list[dict[str, list[float]]],
    requests: dict[str, set[tuple[tuple[str, int], ...]]],
) -> Result:
    """The table and summary: medians, best runs, spreads, S3 requests and critical paths.

    The summary compares the medians: in three series of five runs on a busy 2-core machine
    (issue 15) each series' ratios of the medians stayed within 18% of their median, while
    the ratio of the best runs, which one lucky fast run of ours moves, strayed by 23%.
    """
    best = {side: min(seconds[side]) for side in SIDES}
    typical = {side: median(seconds[side]) for side in SIDES}
    counted = {side: [Counter(dict(c)) for c in requests[side]] for side in SIDES}
    paths = {side: sorted({critical_path(side, c) for c in counted[side]}) for side in SIDES}
    totals = {side: sorted({sum(c.values()) for c in counted[side]}) for side in SIDES}
    table = (
        (
            "side",
            "median",
            "best",
            "lowest-highest",
            "runs",
            "S3 requests",
            "critical path",
            "floor",
        ),
        *(
            (
                side,
                quantity(typical[side], "s"),
                quantity(best[side], "s"),
                spread(seconds[side], "s"),
                str(len(seconds[side])),
                "/".join(map(str, totals[side])),
                "/".join(map(str, paths[side])),
                quantity(paths[side][-1] * latency_ms / 1000, "s"),
            )
            for side in SIDES
        ),
    )
    ratios = [median(r["upstream"]) / median(r["ours"]) for r in rounds]
    limit = paths["upstream"][-1] / paths["ours"][-1]
    note = (
        f"{len(chosen)} images, {latency_ms:g} ms added per S3 request; medians of "
        f"{len(seconds['ours'])} and {len(seconds['upstream'])} runs; best runs "
        f"{quantity(best['ours'], 's')} and {quantity(best['upstream'], 's')} = "
        f"{best['upstream'] / best['ours']:.1f}x; ratio per round "
        f"{spread(ratios, 'x').replace(' x', 'x')}; critical path {paths['ours'][-1]} vs "
        f"{paths['upstream'][-1]} requests: at most {limit:.1f}x"
    )
    return Result(NAME, typical["ours"], typical["upstream"], table, note)
