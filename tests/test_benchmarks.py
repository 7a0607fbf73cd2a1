"""The benchmarks' code at a tiny size: both sides end the same, and the lines read as promised.

Timings are never asserted here (speed targets live in `make bench`). The `walkthrough`
benchmark runs the notebooks as `make demo` does, which tests/test_notebooks.py covers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import annotations, staging
from benchmarks.report import Result
from helpers.paths import project_root

SUMMARY = re.compile(r"^(\w+): ours [\d.]+ \w+ vs upstream [\d.]+ \w+ = [\d.]+x( \(.+\))?$")


def test_staging_sides_end_with_the_same_objects(local_aws_url: str) -> None:
    result = staging.run(local_aws_url, images=8, latency_ms=0, repeats=1)
    assert SUMMARY.match(result.summary()), result.summary()
    assert result.summary().startswith("staging: ") and "8 images" in result.summary()
    assert [row[0] for row in result.table[1:]] == ["ours", "upstream"]


def test_staging_check_catches_a_missing_or_changed_object(local_aws_url: str) -> None:
    s3, chosen = staging.choose(4)
    staging.ours(s3, chosen, "bench/check")
    staging.check_same_objects(s3, chosen, ["bench/check"])
    first = chosen["image_id"].iloc[0]
    s3.put_object(Bucket=staging.BUCKET, Key=f"bench/check/images/{first}.jpg", Body=b"other")
    with pytest.raises(AssertionError):
        staging.check_same_objects(s3, chosen, ["bench/check"])


def test_annotations_sides_select_the_same_images(tmp_path: Path) -> None:
    result = annotations.run(tmp_path, rows=5000, per_class=12, repeats=1)
    assert SUMMARY.match(result.summary()), result.summary()
    assert "5 classes x 12 images" in result.summary() and "peak memory" in result.summary()


def test_annotations_check_catches_a_different_selection() -> None:
    same = {"A": ["1", "2"], "B": ["3", "4"]}
    runs = {"ours": [{"selection": same}], "upstream": [{"selection": {**same, "B": ["3"]}}]}
    with pytest.raises(AssertionError):
        annotations.check_same_selection(runs, 2)


def test_a_result_without_upstream_says_so() -> None:
    result = Result("walkthrough", 47.9, None, (("notebook", "time"), ("01", "4 s")), "no upstream")
    assert result.ratio is None
    assert result.summary() == "walkthrough: ours 47.9 s (no upstream)"
    assert result.render().splitlines()[1].startswith("--------")


def test_unknown_benchmark_names_are_refused_before_anything_starts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "stagign"],
        capture_output=True,
        text=True,
        cwd=project_root(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "unknown benchmarks ['stagign']" in done.stderr
