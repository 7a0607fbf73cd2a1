"""Local mode's Label Studio server: started on demand on 127.0.0.1, its accounts, and stopping it.

It runs Label Studio's own program from its own virtualenv (`.venv-ls`, made by
`scripts/install-label-studio`: its Django and pins clash with ours), with SQLite and its files
under `<state_dir()>/label-studio/`. A file lock keeps two kernels from starting two; liveness is
Label Studio's `/health` over HTTP. An admin and one annotator account per labeler are made with
random passwords and legacy API tokens, kept in `account.json` (mode 0600):
`{"url", "admin": {"email", "password", "token"}, "annotators": {email: {"password", "token",
"id"}}}`. The first start migrates a database (about half a minute); the migrated database is
kept as a template in the cache, per Label Studio version, and copied for a new state folder.
While it runs, the simulated annotators (`annotators.py`) answer its tasks from a small process
started and stopped with it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock

from helpers.errors import LocalAwsError
from helpers.labelstudio.accounts import annotator_email
from helpers.paths import cache_dir, project_root, state_dir

#: The Label Studio release `locks/label-studio.txt` pins (the template database is per release).
VERSION = "1.23.2"
ACCOUNT_FILE = "account.json"
SERVER_FILE = "server.json"
ANNOTATORS_FILE = "annotators.json"
LOG_FILE = "server.log"
ANNOTATORS_LOG = "annotators.log"
DATABASE = "label_studio.sqlite3"
ADMIN_EMAIL = "admin@walkthrough.local"
#: The local mode's default labelers (settings: `labelers` = labeler-1..3 in local mode).
DEFAULT_ANNOTATORS = ("labeler-1", "labeler-2", "labeler-3")
START_TIMEOUT = 240.0
#: S3 for storages without an endpoint when no local AWS runs: a closed port on loopback.
NO_ENDPOINT = "http://127.0.0.1:9"
#: Label Studio 1.23.2's default banned subnets (core/utils/io.py, validate_ip), loopback aside.
DEFAULT_BANNED_SUBNETS = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "233.252.0.0/24", "240.0.0.0/4",
    "255.255.255.255/32", "::/128", "::1/128", "::ffff:0:0/96", "::ffff:0:0:0/96",
    "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001:0000::/32", "2001:20::/28",
    "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "ff00::/8",
)  # fmt: skip


class LabelStudioUnavailable(LocalAwsError):
    """The local Label Studio is not installed, or did not start; says why and the fix."""


def default_folder() -> Path:
    """The local Label Studio's state folder: `<state_dir()>/label-studio`."""
    return state_dir() / "label-studio"


def venv() -> Path:
    """Label Studio's own virtualenv (`scripts/install-label-studio` makes it)."""
    return project_root() / ".venv-ls"


def installed_version() -> str:
    """The Label Studio release installed in `.venv-ls` (VERSION when it cannot be read)."""
    found = sorted(venv().glob("lib/python*/site-packages/label_studio-*.dist-info"))
    return found[-1].name.removesuffix(".dist-info").split("-", 1)[1] if found else VERSION


def template_folder(cache: Path | None = None) -> Path:
    """Where the migrated, empty template database of the installed Label Studio is kept."""
    return (cache or cache_dir()) / "label-studio-template" / installed_version()


def installed() -> bool:
    """Whether Label Studio's virtualenv is there."""
    return (venv() / "bin" / "label-studio").exists()


def _require_installed() -> None:
    if not installed():
        raise LabelStudioUnavailable(
            f"Label Studio is not installed here: {venv()} is missing. Fix: run "
            "`scripts/install-label-studio` (about 1 GB, a minute with uv), then run this again."
        )


# --- records ------------------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _write_private(path: Path, record: dict[str, Any]) -> None:
    """Write a JSON record only its owner can read (0600), atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(record, out, indent=1)
    tmp.replace(path)


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether a Label Studio answers `/health` at `url`."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/health", timeout=timeout) as answer:
            return answer.status == 200 and b"UP" in answer.read()
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _answers(record: dict[str, Any], patience: float = 30.0) -> bool:
    """Whether the recorded server answers; one whose process runs is given `patience` seconds
    (a busy machine), one whose process has ended is not waited for."""
    deadline = time.monotonic() + patience
    while True:
        if healthy(record["url"], timeout=5.0):
            return True
        if not _ours(int(record["pid"]), "label-studio") or time.monotonic() > deadline:
            return False
        time.sleep(0.5)


def serving(folder: Path, url: str) -> bool:
    """Whether the server that `folder` records at `url` still runs (its process; no HTTP, so a
    server slow to answer on a busy machine still counts)."""
    record = _read(folder / SERVER_FILE)
    return bool(record) and record["url"] == url and _ours(int(record["pid"]), "label-studio")  # type: ignore[index]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ours(pid: int, word: str) -> bool:
    """Whether process `pid` runs and its command line names `word` (not a reused pid)."""
    try:
        return word in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return _alive(pid) and not Path("/proc").is_dir()


def _end_group(pid: int, word: str, timeout: float = 15.0) -> None:
    """End process `pid` and its children (its own session), politely then not."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _ours(pid, word):
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _ours(pid, word):
            _reap(pid)
            time.sleep(0.1)
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit of `pid` when this process started it (else it lingers as a zombie)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


# --- public -------------------------------------------------------------------------------------


def status(folder: Path | None = None) -> dict[str, Any]:
    """Say whether the local Label Studio runs, where (checked over HTTP), and its log."""
    folder = folder or default_folder()
    server = _read(folder / SERVER_FILE)
    running = bool(server) and healthy(server["url"])  # type: ignore[index]
    annotators = _read(folder / ANNOTATORS_FILE)
    return {
        "running": running,
        "url": server["url"] if server and running else None,
        "pid": server["pid"] if server and running else None,
        "annotators_running": bool(annotators) and _ours(annotators["pid"], "annotate"),  # type: ignore[index]
        "folder": str(folder),
        "log": str(folder / LOG_FILE),
    }


def ensure_running(
    folder: Path | None = None,
    annotators: Iterable[str] | None = None,
    timeout: float = START_TIMEOUT,
    template: Path | None = None,
    simulate: bool = True,
) -> dict[str, Any]:
    """Start the local Label Studio unless it answers; return its URL and accounts.

    `annotators` are labeler names or e-mails (default labeler-1..3); missing accounts are
    added. `template` is where the migrated template database is kept (default the cache's).
    With `simulate`, the simulated annotators run while the server runs.
    """
    _require_installed()
    folder = folder or default_folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    emails = [
        annotator_email(n) for n in (DEFAULT_ANNOTATORS if annotators is None else annotators)
    ]
    with FileLock(str(folder / "lock"), timeout=timeout + 30):
        account = _read(folder / ACCOUNT_FILE)
        server = _read(folder / SERVER_FILE)
        if not (account and server and _answers(server)):
            account = _start(folder, account, emails, timeout, template or template_folder())
        missing = [e for e in emails if e not in account["annotators"]]
        if missing:
            account = _make_accounts(folder, account, missing)
            _write_private(folder / ACCOUNT_FILE, account)
        if simulate:
            _ensure_annotators(folder)
        return public_account(account)


def add_annotators(emails: Iterable[str], folder: Path | None = None) -> dict[str, Any]:
    """Give each labeler (name or e-mail) an annotator account; return the account record.

    Label Studio is started when it does not run; the simulated annotators take the new
    accounts on within a second.
    """
    return ensure_running(folder, annotators=[annotator_email(e) for e in emails])


def stop(folder: Path | None = None, timeout: float = 20.0) -> bool:
    """Stop the local Label Studio and its simulated annotators; False when none was running."""
    folder = folder or default_folder()
    if not folder.is_dir():
        return False
    with FileLock(str(folder / "lock"), timeout=timeout + 30):
        _end_annotators(folder, timeout)
        server = _read(folder / SERVER_FILE)
        if not server:
            return False
        was_running = healthy(server["url"])
        _end_group(int(server["pid"]), "label-studio", timeout)
        (folder / SERVER_FILE).unlink(missing_ok=True)
        return was_running


def _end_annotators(folder: Path, timeout: float = 15.0) -> None:
    annotators = _read(folder / ANNOTATORS_FILE)
    if annotators:
        _end_group(int(annotators["pid"]), "annotate", timeout)
        (folder / ANNOTATORS_FILE).unlink(missing_ok=True)


# --- starting -----------------------------------------------------------------------------------


def _free_port(preferred: int | None) -> int:
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Django's server does
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise LabelStudioUnavailable("no free port on 127.0.0.1 for Label Studio")


def allowed_loopback_subnets() -> list[str]:
    """The banned subnets that leave only 127.0.0.1 reachable (the local AWS's S3) for storages."""
    loopback = ipaddress.ip_network("127.0.0.0/8")
    rest = loopback.address_exclude(ipaddress.ip_network("127.0.0.1/32"))
    return [*DEFAULT_BANNED_SUBNETS, *sorted(str(n) for n in rest)]


def local_aws_url(folder: Path) -> str | None:
    """The URL of the local AWS whose state folder holds this Label Studio's, when it runs."""
    from helpers.local import process

    info = process.status(folder.parent)
    return str(info["url"]) if info["running"] else None


def environment(folder: Path, secret_key: str) -> dict[str, str]:
    """The environment of Label Studio's processes: its data here, offline, loopback only."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "LABEL_STUDIO_", "DJANGO_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(folder / "data"),
        DJANGO_DB="sqlite",
        SECRET_KEY=secret_key,
        # no call to pypi.org for the latest release
        LATEST_VERSION_CHECK="false",
        COLLECT_ANALYTICS="false",
        # no error reports to sentry.io (its default DSNs; an empty one turns Sentry off)
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
        # storages may reach the local AWS on 127.0.0.1, and no other reserved address
        USE_DEFAULT_BANNED_SUBNETS="false",
        USER_ADDITIONAL_BANNED_SUBNETS=",".join(allowed_loopback_subnets()),
        # the local AWS's credentials and endpoint for storages that name neither (the local
        # AWS runs before it and stops it); without one, a closed loopback port: never AWS itself
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL=local_aws_url(folder) or NO_ENDPOINT,
        # never the user's AWS credentials or instance metadata
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def _django(folder: Path, secret_key: str, task: str, stdin: str = "") -> str:
    """Run a task of `django_tasks.py` with Label Studio's python; return its last output line."""
    script = Path(__file__).with_name("django_tasks.py")
    done = subprocess.run(
        [str(venv() / "bin" / "python"), str(script), task],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(folder, secret_key),
        cwd=folder,
        timeout=START_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise LabelStudioUnavailable(
            f"Label Studio's {task} failed (exit {done.returncode}): {done.stderr[-1500:]}"
        )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _prepare_database(folder: Path, secret_key: str, template: Path) -> None:
    """Give the state folder a migrated database: the template's copy (migrated once here)."""
    data = folder / "data"
    if (data / DATABASE).exists():
        return
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    template.mkdir(parents=True, exist_ok=True)
    with FileLock(str(template / "lock"), timeout=START_TIMEOUT):
        if not (template / DATABASE).exists():
            work = template / "work"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            (work / "data").mkdir()
            _django(work, secret_key, "migrate")
            (work / "data" / DATABASE).replace(template / DATABASE)
            shutil.rmtree(work, ignore_errors=True)
        shutil.copyfile(template / DATABASE, data / DATABASE)


def _start(
    folder: Path,
    account: dict[str, Any] | None,
    emails: list[str],
    timeout: float,
    template: Path,
) -> dict[str, Any]:
    """Start Label Studio in `folder` (a stale one is ended first); return the account record."""
    _end_annotators(folder)  # they answer the server they started with
    stale = _read(folder / SERVER_FILE)
    if stale:
        _end_group(int(stale["pid"]), "label-studio")
        (folder / SERVER_FILE).unlink(missing_ok=True)
    if not account or not (folder / "data" / DATABASE).exists():
        account = {
            "url": None,
            "admin": {
                "email": ADMIN_EMAIL,
                "password": secrets.token_urlsafe(12),
                "token": secrets.token_hex(20),
            },
            "annotators": {},
            "secret_key": secrets.token_urlsafe(40),
        }
    _prepare_database(folder, account["secret_key"], template)
    # the accounts and the organization first (one run of Label Studio's Django, some seconds):
    # Label Studio's start then has nothing to ask
    missing = [e for e in emails if e not in account["annotators"]]
    account = _make_accounts(folder, account, missing)
    previous = int(str(account.get("url") or ":0").rsplit(":", 1)[1] or 0)
    port = _free_port(previous)
    url = f"http://127.0.0.1:{port}"
    env = environment(folder, account["secret_key"])
    env.update(
        LABEL_STUDIO_USERNAME=account["admin"]["email"],
        LABEL_STUDIO_PASSWORD=account["admin"]["password"],
    )
    command = [
        str(venv() / "bin" / "label-studio"), "start", "--no-browser",
        "--internal-host", "127.0.0.1", "--port", str(port), "--enable-legacy-api-token",
    ]  # fmt: skip
    with open(folder / LOG_FILE, "ab") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=folder,
        )
    _write_private(folder / SERVER_FILE, {"url": url, "pid": child.pid, "port": port})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(url):
            account["url"] = url
            _write_private(folder / ACCOUNT_FILE, account)
            return account
        if child.poll() is not None:
            break
        time.sleep(0.25)
    _end_group(child.pid, "label-studio")
    (folder / SERVER_FILE).unlink(missing_ok=True)
    raise LabelStudioUnavailable(
        f"Label Studio did not start at {url}. Last lines of {folder / LOG_FILE}:\n"
        + _log_tail(folder / LOG_FILE)
    )


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _make_accounts(folder: Path, account: dict[str, Any], emails: list[str]) -> dict[str, Any]:
    """Make the admin's and new annotators' accounts (random passwords, legacy tokens)."""
    new = {
        e: {"password": secrets.token_urlsafe(12), "token": secrets.token_hex(20)} for e in emails
    }
    users = [{"email": e, **v} for e, v in new.items()]
    answer = _django(
        folder,
        account["secret_key"],
        "accounts",
        json.dumps({"admin": account["admin"], "users": users}),
    )
    ids = json.loads(answer)
    for email, spec in new.items():
        account["annotators"][email] = {**spec, "id": ids[email]}
    return account


def _ensure_annotators(folder: Path) -> None:
    """Start the simulated annotators' process for this server unless it runs."""
    record = _read(folder / ANNOTATORS_FILE)
    if record and _ours(int(record["pid"]), "annotate"):
        return
    with open(folder / ANNOTATORS_LOG, "ab") as log:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "helpers.local.labelstudio",
                "annotate",
                "--folder",
                str(folder),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=project_root(),
            env={**os.environ, "PYTHONPATH": str(project_root())},
        )
    _write_private(folder / ANNOTATORS_FILE, {"pid": child.pid})


def public_account(account: dict[str, Any]) -> dict[str, Any]:
    """The account record without the server's own secret (what callers get)."""
    return {k: v for k, v in account.items() if k != "secret_key"}


def read_account(folder: Path | None = None) -> dict[str, Any] | None:
    """The local Label Studio's URL and accounts as last recorded (None before its first start)."""
    account = _read((folder or default_folder()) / ACCOUNT_FILE)
    return public_account(account) if account else None
