"""Start, find and stop the shared local AWS process (one per project folder), and its body."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from helpers.errors import LocalAwsError
from helpers.local import admin
from helpers.local.config import LocalConfig
from helpers.paths import cache_dir, state_dir

ENDPOINT_FILE = "endpoint.json"
LOG_FILE = "server.log"
START_TIMEOUT = 300.0


def _read_endpoint(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / ENDPOINT_FILE).read_text())
    except (OSError, ValueError):
        return None


def status(folder: Path | None = None) -> dict[str, Any]:
    """Say whether the local AWS runs, where, and whether it is ready (checked over HTTP)."""
    folder = folder or state_dir()
    record = _read_endpoint(folder)
    answer = admin.health(record["url"]) if record else None
    if not record or not answer:
        return {"running": False, "url": None, "state_dir": str(folder)}
    return {
        "running": True,
        "ready": answer["ready"],
        "url": record["url"],
        "pid": answer["pid"],
        "state_dir": str(folder),
        "log": str(folder / LOG_FILE),
    }


def _log_tail(folder: Path, lines: int = 15) -> str:
    try:
        return "\n".join((folder / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(folder: Path | None = None, timeout: float = START_TIMEOUT) -> str:
    """Start the local AWS unless one already answers; return its URL once it is ready."""
    return _start(folder or state_dir(), timeout)[0]


def ensure_running(
    folder: Path | None = None,
    timeout: float = START_TIMEOUT,
    say: Callable[[str], None] | None = None,
) -> str:
    """Return the running local AWS's URL; when none runs, start one and say so (on stderr).

    The local AWS keeps its state in memory: when one ran here before and has stopped (as
    `make demo`'s does when it started it), the new one starts empty and the notice says that
    the earlier state is gone.
    """
    folder = folder or state_dir()
    url, started, earlier = _start(folder, timeout)
    if started:
        (say or _to_stderr)(started_notice(url, folder, earlier))
    return url


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def started_notice(url: str, folder: Path, earlier: bool) -> str:
    """What to tell a user when a new local AWS was started for them."""
    notice = (
        f"Started a new local AWS at {url} (by helpers.local.ensure_running, for local mode; "
        f"log {folder / LOG_FILE}). It keeps running for other notebooks until "
        "`python -m helpers.local stop`."
    )
    if earlier:
        notice += (
            " It is empty apart from the Open Images mirror: a local AWS ran here before (make "
            "demo stops the one it started) and has stopped, and what it held in memory "
            "(the demo's buckets, roles, workforce, jobs) is gone. Run the notebooks again from "
            "01_prepare_dataset; to keep the state, start one with `make local-start` before "
            "`make demo`."
        )
    return notice


def _start(folder: Path, timeout: float) -> tuple[str, bool, bool]:
    """Start the local AWS unless one answers: (URL, started now?, did one run here before?)."""
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "lock"), timeout=timeout):
        record = _read_endpoint(folder)
        if record and (answer := admin.health(record["url"])):
            return _wait_ready(record["url"], answer["pid"], None, folder, timeout), False, False
        log_file = folder / LOG_FILE
        earlier = log_file.exists() and log_file.stat().st_size > 0
        port = str(LocalConfig.from_environment().port)
        with open(folder / LOG_FILE, "ab") as log:
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "helpers.local",
                    "serve",
                    "--port",
                    port,
                    "--state-dir",
                    str(folder),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=_server_environment(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = _read_endpoint(folder)
            if record and record.get("pid") == child.pid:
                return _wait_ready(record["url"], child.pid, child, folder, timeout), True, earlier
            if child.poll() is not None:
                break
            time.sleep(0.1)
        child.kill()
        raise LocalAwsError(
            f"the local AWS did not start. Last lines of {folder / LOG_FILE}:\n{_log_tail(folder)}"
        )


def _wait_ready(
    url: str, pid: int, child: subprocess.Popen[bytes] | None, folder: Path, timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = admin.health(url)
        if answer and answer["pid"] == pid and answer["ready"]:
            return url
        if child is not None and child.poll() is not None:
            break
        time.sleep(0.2)
    raise LocalAwsError(
        f"the local AWS at {url} did not become ready. Last lines of "
        f"{folder / LOG_FILE}:\n{_log_tail(folder)}"
    )


def _server_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        MOTO_IAM_LOAD_MANAGED_POLICIES="true",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def stop(folder: Path | None = None, timeout: float = 20.0) -> bool:
    """Stop the local AWS of this project (and its Label Studio); False when none was running."""
    from helpers.local.labelstudio import server as label_studio

    folder = folder or state_dir()
    folder.mkdir(parents=True, exist_ok=True)
    label_studio.stop(folder / "label-studio", timeout)
    with FileLock(str(folder / "lock"), timeout=timeout + 10):
        record = _read_endpoint(folder)
        answer = admin.health(record["url"]) if record else None
        if not record or not answer:
            (folder / ENDPOINT_FILE).unlink(missing_ok=True)
            return False
        # the answer may be cut short by the process ending: stopping is checked below
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            admin.http(f"{record['url']}{admin.ADMIN_PREFIX}shutdown", method="POST")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and admin.health(record["url"]):
            time.sleep(0.1)
        if admin.health(record["url"]):
            os.kill(answer["pid"], signal.SIGTERM)
        (folder / ENDPOINT_FILE).unlink(missing_ok=True)
        return True


def make_endpoint(app: Any, port: int, read_timeout: float | None = None) -> Any:
    """A threaded HTTP server for `app` on 127.0.0.1 only, whose connections time out.

    A connection that sends nothing for `read_timeout` seconds (default `guards.READ_TIMEOUT`:
    a half-sent request, a Content-Length larger than the body) is dropped, so it cannot hold
    a thread forever.
    """
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from helpers.local import guards

    read_timeout = guards.READ_TIMEOUT if read_timeout is None else read_timeout
    handler = type("TimedRequestHandler", (MotoRequestHandler,), {"timeout": read_timeout})
    return make_server("127.0.0.1", port, app, threaded=True, request_handler=handler)


def build_app(config: LocalConfig) -> Any:
    """The local AWS's WSGI app (moto, our SageMaker, the labeling portal), not yet listening.

    Its `sagemaker.backend.endpoint_url` is set once the server has its port; the portal takes
    its tasks from the labeling jobs.
    """
    from moto.moto_server import werkzeug_app

    from helpers.local.core import Backend
    from helpers.local.portal import Portal
    from helpers.local.sagemaker.routes import SageMaker
    from helpers.local.server import LocalAws

    # moto's server otherwise answers every request with `Access-Control-Allow-Origin: *`;
    # S3 must answer CORS as each bucket's rule says, as AWS does (the portal's images need it)
    werkzeug_app.DISABLE_GLOBAL_CORS = True
    sagemaker = SageMaker(Backend(endpoint_url=""), config)
    portal = Portal(
        sagemaker.backend, sagemaker.workforces, sagemaker.labeling, sagemaker.clock.now
    )
    dispatcher = dispatcher_class()(werkzeug_app.create_backend_app)
    return LocalAws(dispatcher, sagemaker, portal=portal)


def dispatcher_class() -> type[Any]:
    """moto's dispatcher, remembering which backend serves each host once it has found it.

    moto's own finds it again on every request, under one lock for all threads, by listing its
    package folder and testing each of its 182 entries with `stat`: about a sixth of the local
    AWS's CPU time for a server-side copy. The answer for a host never changes while the
    process runs, so the first one is kept (still under moto's lock: `get_application` holds
    it while it asks).
    """
    from moto.moto_server import werkzeug_app

    class RememberingDispatcher(werkzeug_app.DomainDispatcherApplication):
        def __init__(self, create_app: Callable[..., Any]) -> None:
            super().__init__(create_app)
            self.backend_by_host: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            if host not in self.backend_by_host:
                self.backend_by_host[host] = super().get_backend_for_host(host)
            return self.backend_by_host[host]

    return RememberingDispatcher


def serve(port: int, folder: Path) -> None:
    """Run the endpoint in this process until shut down (the body of the background process)."""
    app = build_app(LocalConfig.from_environment())
    server = make_endpoint(app, port)
    url = f"http://127.0.0.1:{server.server_port}"
    app.sagemaker.backend.endpoint_url = url
    app.shutdown = server.shutdown
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    threading.Thread(target=_prepare_or_stop, args=(app, url, folder), daemon=True).start()
    print(f"local AWS listening on {url} (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    finally:
        record = _read_endpoint(folder)
        if record and record.get("pid") == os.getpid():
            (folder / ENDPOINT_FILE).unlink(missing_ok=True)
        print("local AWS stopped", flush=True)


def _prepare_or_stop(app: Any, url: str, folder: Path) -> None:
    try:
        _prepare(app, url, folder)
    except Exception:  # noqa: BLE001 - any failure here must end the process, with its reason
        traceback.print_exc()
        app.shutdown()


def _prepare(app: Any, url: str, folder: Path) -> None:
    """Publish the endpoint, load the Open Images mirror into S3, then report ready."""
    import boto3

    from helpers.local.openimages import mirror

    tmp = folder / (ENDPOINT_FILE + ".tmp")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "port": int(url.rsplit(":", 1)[1])}))
    tmp.replace(folder / ENDPOINT_FILE)
    started = time.monotonic()
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    per_class = LocalConfig.from_environment().openimages_per_class
    uploaded = mirror.upload(s3, mirror.build(cache_dir() / "mirror", per_class))
    print(
        f"Open Images mirror ready ({uploaded} objects uploaded in "
        f"{time.monotonic() - started:.1f}s)",
        flush=True,
    )
    app.sagemaker.start_ticker()
    app.counter.reset()
    app.ready.set()
