"""A real Label Studio server for the walkthrough-side tests (checks, clean-up).

Interim: helper A's `tests/label_studio_support.py` (with `helpers.local.labelstudio.server`)
replaces this once merged. It starts `label-studio` from `.venv-ls` (A's
scripts/install-label-studio) or the trial install, on 127.0.0.1, with SQLite in a temporary
folder, loopback storage endpoints allowed (the local AWS), and writes the account file where
`helpers.labelstudio.token` reads it (`<state_dir()>/label-studio/account.json`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.paths import project_root

CANDIDATES = (project_root() / ".venv-ls", Path("/work/ls-try/.venv-ls"))
ADMIN = "admin@walkthrough.local"
#: Creates annotator accounts with passwords in the server's own Django (the API cannot).
ADD_USERS = """
import json, sys
import django
django.setup()
from organizations.models import Organization
from users.models import User
org = Organization.objects.order_by("id").first()
for email, password in json.loads(sys.argv[1]).items():
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email=email, password=password, username=email)
    org.add_user(user)
    user.active_organization = org
    user.save()
"""


def venv() -> Path | None:
    """The Label Studio virtual environment, or None when it is not installed."""
    return next((v for v in CANDIDATES if (v / "bin" / "label-studio").exists()), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running Label Studio: its URL, admin token, data folder and process."""

    url: str
    token: str
    data: Path
    process: subprocess.Popen[bytes]
    account_file: Path

    def environment(self) -> dict[str, str]:
        """The server's environment (for its Django management code)."""
        return _environment(self.data)

    def add_annotators(self, emails: list[str]) -> dict[str, str]:
        """Make annotator accounts (random passwords); record them in the account file."""
        passwords = {email: secrets.token_urlsafe(12) for email in emails}
        python = (venv() or Path("/nonexistent")) / "bin" / "python"
        subprocess.run(
            [str(python), "-c", ADD_USERS, json.dumps(passwords)],
            env=self.environment(),
            check=True,
            capture_output=True,
            cwd=str(self.data),
        )
        account = json.loads(self.account_file.read_text())
        for email, password in passwords.items():
            account["annotators"][email] = {"password": password}
        self.account_file.write_text(json.dumps(account))
        return passwords

    def stop(self) -> None:
        """Stop the server."""
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _environment(data: Path) -> dict[str, str]:
    base = venv() or Path("/nonexistent")
    site = next((base / "lib").glob("python3*/site-packages/label_studio"), base)
    return {
        "PATH": f"{base / 'bin'}:/usr/bin:/bin",
        "HOME": str(data),
        "LABEL_STUDIO_BASE_DATA_DIR": str(data),
        "DJANGO_DB": "sqlite",
        "DJANGO_SETTINGS_MODULE": "core.settings.label_studio",
        "PYTHONPATH": str(site),
        "LATEST_VERSION_CHECK": "false",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "SSRF_PROTECTION_ENABLED": "false",  # the local AWS listens on 127.0.0.1
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",  # else it reports errors to sentry.io
        "FRONTEND_SENTRY_DSN": "",
    }


def start(data: Path, state: Path, timeout: float = 240.0) -> Server:
    """Start Label Studio with SQLite in `data`; write `<state>/label-studio/account.json`."""
    base = venv()
    if base is None:
        raise RuntimeError("Label Studio is not installed (scripts/install-label-studio)")
    data.mkdir(parents=True, exist_ok=True)
    port, token = _free_port(), secrets.token_hex(20)
    password = secrets.token_urlsafe(12)
    env = _environment(data)
    env.pop("DJANGO_SETTINGS_MODULE")
    env.pop("PYTHONPATH")
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(base / "bin" / "label-studio"),
            "start",
            "--no-browser",
            "--internal-host",
            "127.0.0.1",
            "--port",
            str(port),
            "--username",
            ADMIN,
            "--password",
            password,
            "--user-token",
            token,
            "--enable-legacy-api-token",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(data),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Label Studio exited: see {data / 'server.log'}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(1)
    else:
        process.kill()
        raise RuntimeError(f"Label Studio did not start in {timeout:.0f}s")
    folder = state / "label-studio"
    folder.mkdir(parents=True, exist_ok=True)
    account: dict[str, Any] = {
        "url": url,
        "admin": {"email": ADMIN, "password": password, "token": token},
        "annotators": {},
    }
    account_file = folder / "account.json"
    account_file.write_text(json.dumps(account))
    os.chmod(account_file, 0o600)
    return Server(url, token, data, process, account_file)


@pytest.fixture(scope="session")
def label_studio_server(
    local_aws_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One real Label Studio for the test session; its account file is the local state's."""
    from helpers.paths import state_dir

    started = start(tmp_path_factory.mktemp("label-studio"), state_dir())
    try:
        yield started
    finally:
        started.stop()
