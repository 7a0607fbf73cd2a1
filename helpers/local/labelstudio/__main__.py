"""Command line: `python -m helpers.local.labelstudio start|stop|status` (and `annotate`).

`start` and `status` print the URL and, in local mode, the annotators' e-mails and passwords:
the one place the local accounts' passwords are shown (to sign in and label in the browser).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from helpers.errors import WalkthroughError
from helpers.local.labelstudio import server


def _settings() -> Any | None:
    from helpers import settings

    try:
        return settings.load()
    except WalkthroughError:
        return None


def describe(account: dict[str, Any], show_passwords: bool) -> str:
    """The lines `start` prints: the URL, then each annotator (with a password in local mode)."""
    lines = [f"Label Studio: {account['url']}"]
    for email, spec in sorted(account.get("annotators", {}).items()):
        lines.append(
            f"  annotator {email}" + (f"  password {spec['password']}" if show_passwords else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Start, stop or describe the local Label Studio (or run its simulated annotators)."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.local.labelstudio",
        description="Manage local mode's Label Studio server.",
    )
    parser.add_argument("command", choices=["start", "stop", "status", "annotate"])
    parser.add_argument("--folder", type=Path, default=None, help="its state folder")
    args = parser.parse_args(argv)
    try:
        if args.command == "annotate":
            from helpers.local.labelstudio import annotators

            annotators.run(args.folder or server.default_folder())
            return 0
        if args.command == "stop":
            print("stopped" if server.stop(args.folder) else "not running")
            return 0
        settings = _settings()
        local = settings is not None and settings.mode == "local"
        if args.command == "start":
            names = None
            if settings is not None and settings.labelers:
                names = [n for n in settings.labelers.split(",") if n.strip()]
            account = server.ensure_running(args.folder, annotators=names)
            print(describe(account, show_passwords=local))
            return 0
        info = server.status(args.folder)
        print(json.dumps(info, indent=2))
        account = server.read_account(args.folder)
        if info["running"] and account:
            print(describe(account, show_passwords=local))
        return 0 if info["running"] else 3
    except WalkthroughError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
