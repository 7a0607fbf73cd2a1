"""`make lab`: JupyterLab on the notebooks, with the local AWS running while it runs.

It works as root (containers) and as a user, prints the URL with its token, and stops the local
AWS when JupyterLab ends if it started it (one that was already running is left alone).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.demo import stop_local_aws
from helpers.paths import project_root

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """Return a TCP port that is free on `host` now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def lab_command(port: int, token: str, folder: Path, uid: int, python: str = "") -> list[str]:
    """The JupyterLab command line: loopback, this port and token, `--allow-root` as root."""
    command = [
        python or sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={folder}",
        "--ServerApp.answer_yes=True",  # Ctrl-C stops it without asking (and then the local AWS)
    ]
    if uid == 0:
        command.append("--allow-root")
    return command


def lab_url(port: int, token: str) -> str:
    """The URL to open, token included."""
    return f"http://{HOST}:{port}/lab?token={token}"


@dataclass(frozen=True)
class LocalAws:
    """How the lab session finds, starts and stops the local AWS (helpers.local by default)."""

    status: Callable[[], dict[str, Any]]
    start: Callable[[], str]
    stop: Callable[[], bool]


def _local_aws() -> LocalAws:
    from helpers import local

    return LocalAws(status=local.status, start=local.start, stop=local.stop)


def session(
    run_lab: Callable[[], int],
    aws: LocalAws | None = None,
    say: Callable[[str], None] = print,
) -> int:
    """Start the local AWS unless it runs, run JupyterLab, then stop the AWS if it was ours."""
    aws = aws or _local_aws()
    was_running = bool(aws.status()["running"])
    url = aws.start()
    if was_running:
        say(f"Local AWS at {url} (already running; left running when JupyterLab ends).")
    else:
        say(f"Local AWS at {url} (started for JupyterLab; stopped when JupyterLab ends).")
    try:
        return run_lab()
    finally:
        if not was_running:
            stop_local_aws(aws.stop, aws.status)
            say("Stopped the local AWS this command started.")


def run_jupyterlab(command: list[str]) -> int:
    """Run JupyterLab until it ends; Ctrl-C and SIGTERM stop it (not this process first)."""
    # A Ctrl-C that this process ignores (started in the background, say) would be ignored by
    # JupyterLab too: a handler, unlike an ignore, is not inherited, so the child gets Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    child = subprocess.Popen(command)
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child gets Ctrl-C itself
    previous_term = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)


def main(argv: list[str] | None = None) -> int:
    """Run `make lab`."""
    del argv
    port, token = free_port(), secrets.token_urlsafe(24)
    command = lab_command(port, token, project_root() / "notebooks", os.getuid())

    def run_lab() -> int:
        print(f"JupyterLab: open {lab_url(port, token)}  (Ctrl-C here stops it)", flush=True)
        return run_jupyterlab(command)

    return session(run_lab)


if __name__ == "__main__":
    sys.exit(main())
