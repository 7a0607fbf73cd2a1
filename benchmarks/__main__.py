"""`python -m benchmarks [staging] [annotations] [walkthrough]`: run them and print the results."""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks import annotations, staging, walkthrough
from benchmarks.isolated import bench_folder, own_local_aws
from benchmarks.report import Result

NAMES = ("staging", "annotations", "walkthrough")


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
    args = parser.parse_args(argv)
    chosen = args.names or list(NAMES)
    unknown = [n for n in chosen if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmarks {unknown}: choose from {', '.join(NAMES)}")
    started = time.monotonic()
    results: list[Result] = []
    with bench_folder() as folder, own_local_aws(folder) as url:
        for name in chosen:
            print(f"\n== {name}", flush=True)
            if name == "staging":
                result = staging.run(url, repeats=args.repeats or staging.REPEATS)
            elif name == "annotations":
                result = annotations.run(folder, repeats=args.repeats or 3)
            else:
                result = walkthrough.run(folder)
            print(result.render(), flush=True)
            results.append(result)
    print(f"\nSummary ({time.monotonic() - started:.0f} s in all):")
    for result in results:
        print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
