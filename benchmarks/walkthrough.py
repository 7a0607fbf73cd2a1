"""Benchmark `walkthrough`: wall time of notebooks 01-05 run headlessly on the local AWS.

Each notebook runs as `make demo` runs it (`helpers.demo.run_notebook`: papermill, mode=local),
once, in order, into the benchmark's own run folder. There is no upstream value: the upstream
sample cannot run without AWS and a cluster. Reported with each notebook's share of the total.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.report import Result, quantity
from helpers import demo

NAME = "walkthrough"


def run(folder: Path) -> Result:
    """Run every notebook once; fail if one fails; report the times and shares."""
    run_dir = folder / "walkthrough-run"
    run_dir.mkdir(parents=True, exist_ok=True)
    results = [demo.run_notebook(nb, run_dir, {"mode": "local"}) for nb in demo.notebooks()]
    failed = [r for r in results if not r.ok]
    if failed:
        raise AssertionError(f"{failed[0].name} failed: {failed[0].error}")
    total = sum(r.seconds for r in results)
    table = (
        ("notebook", "time", "share"),
        *((r.name, quantity(r.seconds, "s"), f"{r.seconds / total:.0%}") for r in results),
    )
    shares = ", ".join(f"{r.name[:2]} {r.seconds / total:.0%}" for r in results)
    return Result(NAME, total, None, table, f"{shares}; no upstream value: it needs AWS")
