"""`python -m benchmarks [staging] [annotations] [walkthrough] [scale]`: run them, print results."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks import annotations, scale, staging, walkthrough
from benchmarks.isolated import bench_folder, own_local_aws
from benchmarks.report import Result

NAMES = ("staging", "annotations", "walkthrough", "scale")


def main(argv: list[str] | None = None) -> int:
    """Run the named benchmarks (all by default) in a local AWS of their own."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(NAMES)}")
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"repeats per side (default 3; staging: {staging.REPEATS} rounds)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(str(n) for n in scale.SIZES),
        help="objects per walkthrough for `scale`, comma-separated (default 500,1000,5000)",
    )
    args = parser.parse_args(argv)
    try:
        sizes = [int(n) for n in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes must be whole numbers, comma-separated: {args.sizes!r}")
    if any(n < 10 or n % len(scale.CLASSES) for n in sizes):
        parser.error(f"--sizes must be multiples of {len(scale.CLASSES)} from 10: {args.sizes!r}")
    chosen = args.names or list(NAMES)
    unknown = [n for n in chosen if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmarks {unknown}: choose from {', '.join(NAMES)}")
    started = time.monotonic()
    results: list[Result] = []
    shared = [n for n in chosen if n != "scale"]
    with bench_folder() as folder:
        if shared:
            with own_local_aws(folder) as url:
                for name in shared:
                    print(f"\n== {name}", flush=True)
                    results.append(_run_one(name, url, folder, args.repeats))
        if "scale" in chosen:  # a local AWS of its own per size
            print("\n== scale", flush=True)
            result = scale.run(folder, sizes)
            print(result.render(), flush=True)
            results.append(result)
    print(f"\nSummary ({time.monotonic() - started:.0f} s in all):")
    for result in results:
        print(result.summary())
    return 0


def _run_one(name: str, url: str, folder: Path, repeats: int | None) -> Result:
    """Run one benchmark in the shared local AWS and print its table."""
    if name == "staging":
        result = staging.run(url, repeats=repeats or staging.REPEATS)
    elif name == "annotations":
        result = annotations.run(folder, repeats=repeats or 3)
    else:
        result = walkthrough.run(folder)
    print(result.render(), flush=True)
    return result


if __name__ == "__main__":
    sys.exit(main())
