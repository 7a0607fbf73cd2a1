"""`make lab`: works as root and as a user, prints the URL with its token, and stops the local
AWS it started when JupyterLab ends (and leaves one it did not start alone)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from helpers import local
from helpers.lab import LocalAws, lab_command, lab_url, session
from helpers.paths import project_root


def test_the_command_allows_root_only_for_root_and_carries_port_and_token() -> None:
    as_root = lab_command(8899, "tok", Path("/nb"), uid=0, python="py")
    as_user = lab_command(8899, "tok", Path("/nb"), uid=1000, python="py")
    assert "--allow-root" in as_root and "--allow-root" not in as_user
    assert as_user[:3] == ["py", "-m", "jupyterlab"]
    for option in (
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=8899",
        "--ServerApp.port_retries=0",  # the printed URL's port is the one it listens on
        "--IdentityProvider.token=tok",
        "--ServerApp.root_dir=/nb",
    ):
        assert option in as_user
    assert lab_url(8899, "tok") == "http://127.0.0.1:8899/lab?token=tok"


class FakeAws:
    def __init__(self, running: bool) -> None:
        self.running = running
        self.calls: list[str] = []

    def aws(self) -> LocalAws:
        def status() -> dict[str, Any]:
            return {"running": self.running}

        def start() -> str:
            self.calls.append("start")
            self.running = True
            return "http://127.0.0.1:1"

        def stop() -> bool:
            self.calls.append("stop")
            self.running = False
            return True

        return LocalAws(status, start, stop)


def test_a_local_aws_the_lab_started_is_stopped_when_the_lab_ends_even_on_error() -> None:
    fake, said = FakeAws(running=False), []

    def lab() -> int:
        assert fake.running, "JupyterLab starts with the local AWS running"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        session(lab, fake.aws(), said.append)
    assert fake.calls == ["start", "stop"] and not fake.running
    assert "stopped when JupyterLab ends" in said[0]


def test_a_local_aws_that_was_running_is_left_running() -> None:
    fake, said = FakeAws(running=True), []
    assert session(lambda: 0, fake.aws(), said.append) == 0
    assert "stop" not in fake.calls and fake.running
    assert "left running" in said[0]


@pytest.mark.usefixtures("local_aws_url")
def test_make_lab_serves_with_the_printed_token_and_stops_its_local_aws(tmp_path: Path) -> None:
    # A state folder with no local AWS in it (the mirror's cache is the session's, already built).
    folder = tmp_path / "state"
    env = dict(os.environ, WALKTHROUGH_STATE_DIR=str(folder), JUPYTER_CONFIG_DIR=str(tmp_path))
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    lab = subprocess.Popen(
        [sys.executable, "-m", "helpers.lab"],
        cwd=project_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
    )
    try:
        lines = []
        assert lab.stdout is not None
        for line in lab.stdout:
            lines.append(line)
            if line.startswith("JupyterLab: open "):
                break
        assert any("started for JupyterLab" in line for line in lines), lines
        url = lines[-1].split()[2]
        assert "token=" in url
        assert local.status(folder)["running"]
        base, token = url.split("/lab?token=")
        status = _wait_for(f"{base}/api/status?token={token}", lab)
        assert status == 200
        os.killpg(lab.pid, signal.SIGINT)  # Ctrl-C in the terminal
        try:
            rest, _ = lab.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: Ctrl-C again, as a user would
            os.killpg(lab.pid, signal.SIGINT)
            rest, _ = lab.communicate(timeout=120)
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGKILL)
        local.stop(folder)
    assert lab.returncode == 0
    assert "Stopped the local AWS" in rest
    assert not local.status(folder)["running"]


def _wait_for(url: str, lab: subprocess.Popen[str], timeout: float = 90.0) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url, timeout=5) as response:
                return int(response.status)
        except OSError:
            if time.monotonic() > deadline or lab.poll() is not None:
                raise
            time.sleep(0.3)
