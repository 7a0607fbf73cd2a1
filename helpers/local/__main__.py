"""Command line: `python -m helpers.local start|stop|status`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from helpers.errors import LocalAwsError
from helpers.local import process


def main(argv: list[str] | None = None) -> int:
    """Start, stop or describe the local AWS endpoint."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.local", description="Manage the embedded local AWS endpoint."
    )
    parser.add_argument("command", choices=["start", "stop", "status", "serve"])
    parser.add_argument("--port", type=int, default=0, help="(serve) port; 0 picks a free one")
    parser.add_argument("--state-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            process.serve(args.port, args.state_dir or process.state_dir())
        elif args.command == "start":
            print(process.start(args.state_dir))
        elif args.command == "stop":
            print("stopped" if process.stop(args.state_dir) else "not running")
        else:
            info = process.status(args.state_dir)
            print(json.dumps(info, indent=2))
            return 0 if info["running"] else 3
    except LocalAwsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
