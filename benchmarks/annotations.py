"""Benchmark `annotations`: read the image-level labels CSV and select five classes' images.

Ours is notebook 01's code (`helpers.openimages.read_annotations` with pandas, then
`select_images`); upstream is `prep_inputs.py` call for call (`readlines`, `split(',')`, one list
comprehension per class). Each run of each side is a fresh process (`benchmarks.annotations_side`),
so its time excludes imports and its peak memory (`ru_maxrss`) is its own; the sides alternate,
and the median of the repeats is reported. Both must select the same images, or it fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.annotations_data import REAL_ROWS, generate
from benchmarks.report import Result, median, quantity
from helpers.local.openimages.mirror import CLASSES
from helpers.paths import project_root

NAME = "annotations"
SIDES = ("ours", "upstream")


def run_side(side: str, csv: Path, per_class: int) -> dict[str, Any]:
    """Run one side in a new Python process and return what it measured."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.annotations_side",
            side,
            str(csv),
            json.dumps(dict(CLASSES)),
            str(per_class),
        ],
        capture_output=True,
        text=True,
        cwd=project_root(),
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the {side} side failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def check_same_selection(runs: dict[str, list[dict[str, Any]]], per_class: int) -> None:
    """Fail unless every run of both sides selected the same `per_class` images of each class."""
    expected = runs["ours"][0]["selection"]
    for side, side_runs in runs.items():
        for run in side_runs:
            if run["selection"] != expected:
                raise AssertionError(f"the {side} side selected other images than ours did")
    sizes = {name: len(ids) for name, ids in expected.items()}
    if sorted(sizes) != sorted(CLASSES) or set(sizes.values()) != {per_class}:
        raise AssertionError(f"expected {per_class} images of each of {list(CLASSES)}: {sizes}")


def run(folder: Path, rows: int = REAL_ROWS, per_class: int = 500, repeats: int = 5) -> Result:
    """Generate the CSV under `folder`, measure both sides `repeats` times, check, report."""
    csv = generate(folder / "annotations" / "image-labels.csv", rows=rows, per_class=per_class)
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for i in range(repeats):
        for side in SIDES if i % 2 == 0 else SIDES[::-1]:
            runs[side].append(run_side(side, csv, per_class))
    check_same_selection(runs, per_class)
    seconds = {side: median([r["seconds"] for r in runs[side]]) for side in SIDES}
    peak = {side: median([r["rss_peak_mb"] for r in runs[side]]) for side in SIDES}
    with csv.open() as lines:
        data_rows = sum(1 for _ in lines) - 1
    table = (
        ("side", "time (median)", "peak RSS (process)", "runs"),
        *(
            (
                side,
                quantity(seconds[side], "s"),
                quantity(peak[side], "MB"),
                str(len(runs[side])),
            )
            for side in SIDES
        ),
    )
    note = (
        f"{data_rows:,} rows, {len(CLASSES)} classes x {per_class} images; peak memory "
        f"ours {quantity(peak['ours'], 'MB')} vs upstream {quantity(peak['upstream'], 'MB')}"
    )
    return Result(NAME, seconds["ours"], seconds["upstream"], table, note)
