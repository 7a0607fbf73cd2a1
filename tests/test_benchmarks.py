"""The benchmarks' code at a tiny size: both sides end the same, and the lines read as promised.

Timings are never asserted here (speed targets live in `make bench`). The `walkthrough`
benchmark's notebooks are stood in for here (tests/test_notebooks.py runs the real ones).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks import annotations, scale, staging, walkthrough
from benchmarks.report import Result
from helpers import demo
from helpers.paths import project_root

Runner = Callable[[Path, Path, dict[str, object]], demo.NotebookResult]

SUMMARY = re.compile(r"^(\w+): ours [\d.]+ \w+ vs upstream [\d.]+ \w+ = [\d.]+x( \(.+\))?$")


def test_staging_sides_end_with_the_same_objects(local_aws_url: str) -> None:
    result = staging.run(local_aws_url, images=8, latency_ms=0, repeats=1)
    assert SUMMARY.match(result.summary()), result.summary()
    assert result.summary().startswith("staging: ") and "8 images" in result.summary()
    rows = {row[0]: dict(zip(result.table[0], row, strict=True)) for row in result.table[1:]}
    assert list(rows) == ["ours", "upstream"]
    assert rows["ours"]["runs"] == str(staging.OURS_PER_ROUND) and rows["upstream"]["runs"] == "1"
    # ours: one listing, then the 8 copies at once; upstream: a HeadObject and a copy per image
    assert (rows["ours"]["S3 requests"], rows["ours"]["critical path"]) == ("9", "2")
    assert (rows["upstream"]["S3 requests"], rows["upstream"]["critical path"]) == ("16", "16")
    assert "critical path 2 vs 16 requests: at most 8.0x" in result.summary()
    for row in rows.values():  # the best run is the lowest of the spread
        assert row["lowest-highest"].startswith(row["best"].split()[0] + "-")
    assert "medians of 3 and 1 runs; best runs" in result.summary()


def test_a_spread_is_lowest_to_highest_and_half_its_range_around_the_median() -> None:
    assert staging.spread([0.7, 0.8, 0.86], "s") == "0.700-0.860 s (±10%)"


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


def _fake_notebooks(seconds: dict[str, float], failing: str = "") -> Runner:
    """A stand-in for `demo.run_notebook` that takes the given seconds per notebook."""

    def run(source: Path, run_dir: Path, parameters: dict[str, object]) -> demo.NotebookResult:
        assert parameters == {"mode": "local"} and run_dir.is_dir()
        ok = source.stem != failing
        return demo.NotebookResult(source.stem, seconds[source.stem[:2]], ok, "", "" if ok else "E")

    return run


def test_walkthrough_reports_each_notebooks_share(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seconds = {"01": 1.0, "02": 2.0, "03": 4.0, "04": 2.0, "05": 1.0}
    monkeypatch.setattr(demo, "run_notebook", _fake_notebooks(seconds))
    result = walkthrough.run(tmp_path)
    assert result.summary().startswith(
        "walkthrough: ours 10.0 s (01 10%, 02 20%, 03 40%, 04 20%, 05 10%; no upstream"
    )
    assert result.upstream is None and len(result.table) == 6


def test_walkthrough_fails_when_a_notebook_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seconds = dict.fromkeys(("01", "02", "03", "04", "05"), 1.0)
    monkeypatch.setattr(demo, "run_notebook", _fake_notebooks(seconds, "03_run_pipeline"))
    with pytest.raises(AssertionError, match="03_run_pipeline failed"):
        walkthrough.run(tmp_path)


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


SCALE_LINE = re.compile(
    r"^scale: ours [\d.]+ s \((?:[\d,]+: \d+ s, \d+ s/1,000, \d+ MB; )+"
    r"per-1,000 ratio [\d,]+/[\d,]+ [\d.]+x \(goal <= 1.5x\), [\d,]+ in \d+ s "
    r"\(goal <= 300 s\), peak \d+ MB \(goal <= 2048 MB\)\)$"
)


def test_scale_runs_each_size_in_a_local_aws_of_its_own_and_prints_the_scale_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[tuple[str, int | None]] = []
    staged: list[str] = []

    @contextmanager
    def fake_local_aws(
        folder: Path, cache: Path | None = None, mirror_per_class: int | None = None
    ) -> Iterator[str]:
        started.append((folder.name, mirror_per_class))
        yield "http://127.0.0.1:1"

    def run(source: Path, run_dir: Path, parameters: dict[str, object]) -> demo.NotebookResult:
        staged.append(os.environ["WALKTHROUGH_IMAGES_PER_CLASS"])
        assert len(os.environ["WALKTHROUGH_LABELERS"].split(",")) == scale.TEAM
        return demo.NotebookResult(source.stem, 0.5, True, "")

    monkeypatch.setattr(scale, "own_local_aws", fake_local_aws)
    monkeypatch.setattr(scale, "_local_aws_pid", lambda: None)
    monkeypatch.setattr(demo, "run_notebook", run)
    for name in ("CLASSES", "IMAGES_PER_CLASS", "LABELERS", "RUN_DIR"):
        name = f"WALKTHROUGH_{name}"
        monkeypatch.setenv(name, "")  # restored (or removed again) after the test
    result = scale.run(tmp_path, sizes=(10, 20))
    assert started == [("scale-10", 80), ("scale-20", 80)]
    assert staged == ["2"] * 5 + ["4"] * 5
    assert SCALE_LINE.match(result.summary()), result.summary()
    assert [row[0] for row in result.table] == ["objects", "10", "20"]
    assert all(row[3].endswith(" MB") and int(row[3][:-3]) > 0 for row in result.table[1:])


def test_the_scale_line_reads_each_size_and_the_goals() -> None:
    runs = [
        scale.SizeRun(500, 60.0, (), 300 * 1024**2, "local AWS"),
        scale.SizeRun(5000, 240.0, (), 900 * 1024**2, "kernel"),
    ]
    assert scale.result(runs).summary() == (
        "scale: ours 240.0 s (500: 60 s, 120 s/1,000, 300 MB; 5,000: 240 s, 48 s/1,000, "
        "900 MB; per-1,000 ratio 5,000/500 0.40x (goal <= 1.5x), 5,000 in 240 s (goal <= 300 s), "
        "peak 900 MB (goal <= 2048 MB))"
    )
    assert scale.mirror_size(1000) == 1040 and scale.mirror_size(10) == 80
