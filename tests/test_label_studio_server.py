"""The local Label Studio server: started on 127.0.0.1 only, its accounts, restart and stop."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.labelstudio import api
from helpers.labelstudio.accounts import annotator_email
from helpers.local import process
from helpers.local.labelstudio import __main__ as cli
from helpers.local.labelstudio import server
from tests import label_studio_support
from tests.label_studio_support import ANNOTATORS, LabelStudio, persistent_template

label_studio = label_studio_support.label_studio  # the session's Label Studio (a fixture)


def listening_addresses(port: int) -> set[str]:
    """The local addresses something listens on at `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    raw = bytes.fromhex(address)
                    # the kernel writes each 32-bit word in host (little-endian) order
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))
                    found.add(str(ipaddress.ip_address(words)))
    return found


def test_it_listens_on_loopback_only(label_studio: LabelStudio) -> None:
    port = int(label_studio.url.rsplit(":", 1)[1])
    assert label_studio.url.startswith("http://127.0.0.1:")
    assert listening_addresses(port) == {"127.0.0.1"}


def test_each_account_signs_in_with_its_own_token(label_studio: LabelStudio) -> None:
    admin = label_studio.client().whoami()
    assert admin["email"] == "admin@walkthrough.local"
    assert "projects.create" in admin["permissions"]
    for name in ANNOTATORS:
        me = label_studio.client(name).whoami()
        assert me["email"] == f"{name}@walkthrough.local"
        assert me["id"] == label_studio.annotator(name)["id"]
    emails = {u["email"] for u in label_studio.client().users()}
    assert {f"{n}@walkthrough.local" for n in ANNOTATORS} <= emails


def test_the_account_file_is_private_and_passwords_are_random(label_studio: LabelStudio) -> None:
    path = label_studio.folder / server.ACCOUNT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record = json.loads(path.read_text())
    passwords = [record["admin"]["password"]] + [
        a["password"] for a in record["annotators"].values()
    ]
    # the admin and the session's annotators (other tests of the session may add accounts)
    assert len(set(passwords)) == len(passwords) >= 4
    assert all(len(p) >= 16 for p in passwords)
    assert record["url"] == label_studio.url


def test_a_wrong_token_is_refused(label_studio: LabelStudio) -> None:
    with pytest.raises(api.LabelStudioError) as caught:
        api.Client(label_studio.url, "0" * 40).whoami()
    assert caught.value.status == 401


def test_it_may_reach_the_local_aws_and_no_other_reserved_address(
    label_studio: LabelStudio, local_aws_url: str
) -> None:
    client = label_studio.client()
    project = client.create_project(title="storage-check")
    try:
        for endpoint, allowed in [
            (local_aws_url, True),
            ("http://127.0.0.2:9", False),
            ("http://10.1.2.3:9", False),
            ("http://169.254.169.254", False),
        ]:
            fields = dict(
                project=project["id"], bucket="open-images-dataset", prefix="test/",
                s3_endpoint=endpoint, aws_access_key_id="testing",
                aws_secret_access_key="testing", region_name="us-east-1", presign=True,
            )  # fmt: skip
            if allowed:
                client.validate_s3_storage(**fields)
            else:
                with pytest.raises(api.LabelStudioError, match="reserved network address"):
                    client.validate_s3_storage(**fields)
    finally:
        client.delete_project(project["id"])


def test_ensure_running_answers_at_once_when_it_runs(label_studio: LabelStudio) -> None:
    started = time.monotonic()
    account = server.ensure_running(label_studio.folder, annotators=ANNOTATORS)
    assert time.monotonic() - started < 2
    assert account["url"] == label_studio.url
    assert "secret_key" not in account
    assert server.status(label_studio.folder)["running"]


def test_a_new_state_folder_starts_from_the_template_restarts_and_stops_with_the_local_aws(
    label_studio: LabelStudio, tmp_path: Path
) -> None:
    folder = tmp_path / "label-studio"  # as under a local AWS's state folder
    started = time.monotonic()
    account = server.ensure_running(
        folder, annotators=["someone@example.org"], template=persistent_template()
    )
    took = time.monotonic() - started
    try:
        me = api.Client(account["url"], account["annotators"]["someone@example.org"]["token"])
        assert me.whoami()["email"] == "someone@example.org"
        assert took < 60, f"a start from the template took {took:.0f}s"
        assert server.status(folder)["annotators_running"]
        added = server.add_annotators(["labeler-9"], folder)
        assert set(added["annotators"]) == {"someone@example.org", "labeler-9@walkthrough.local"}
        # the simulated annotators take the added account on: both answer a new project's tasks
        admin = api.Client(account["url"], account["admin"]["token"])
        config = (
            '<View><Image name="image" value="$image"/><Choices name="c" toName="image">'
            '<Choice value="A"/><Choice value="B"/></Choices></View>'
        )
        project = admin.create_project(title="added", label_config=config, maximum_annotations=2)
        admin.import_tasks(project["id"], [{"data": {"image": f"s3://b/{i}.jpg"}} for i in "xy"])
        wait_until(lambda: label_studio_support.fully_answered(admin, project["id"], 2), 30)
        by = {a["completed_by"] for t in admin.export(project["id"]) for a in t["annotations"]}
        assert by == {a["id"] for a in added["annotators"].values()}

        # it is slow to answer (a busy machine: here stopped for 3 s): it is waited for, not
        # taken for dead and replaced, and its annotators keep working
        pid = server.status(folder)["pid"]
        os.kill(pid, signal.SIGSTOP)
        threading.Timer(3.0, os.kill, (pid, signal.SIGCONT)).start()
        assert not server.healthy(account["url"], timeout=1.0)
        assert server.serving(folder, account["url"])
        assert server.ensure_running(folder, annotators=[]) == added
        assert server.status(folder)["pid"] == pid

        # it dies (a killed kernel's machine, OOM): the stale one is cleaned, the next start
        # keeps its database, accounts and port
        os.kill(server.status(folder)["pid"], signal.SIGKILL)
        wait_until(lambda: not server.status(folder)["running"])
        again = server.ensure_running(folder, annotators=["someone@example.org"])
        assert again == added
        assert me.whoami()["email"] == "someone@example.org"
    finally:
        annotators_pid = json.loads((folder / server.ANNOTATORS_FILE).read_text())["pid"]
        assert process.stop(tmp_path) is False  # no local AWS ran there, but Label Studio did
    assert not server.status(folder)["running"]
    assert not server.healthy(account["url"])
    assert not Path(f"/proc/{annotators_pid}").exists()
    assert not server.stop(folder)


def wait_until(check: Callable[[], bool], seconds: float = 10) -> None:
    """Wait until `check()` holds (or fail)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_the_command_line_shows_passwords_in_local_mode_only(
    label_studio: LabelStudio, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = ["--folder", str(label_studio.folder)]
    assert cli.main(["status", *folder]) == 0
    shown = capsys.readouterr().out
    assert label_studio.url in shown
    password = label_studio.annotator("labeler-2")["password"]
    assert f"annotator labeler-2@walkthrough.local  password {password}" in shown
    assert label_studio.admin_token not in shown

    monkeypatch.setenv("WALKTHROUGH_MODE", "aws")
    monkeypatch.setenv("WALKTHROUGH_BUCKET", "my-team-gt-bucket")
    assert cli.main(["status", *folder]) == 0
    shown = capsys.readouterr().out
    assert "annotator labeler-2@walkthrough.local" in shown
    assert "password" not in shown and password not in shown


def test_its_environment_is_offline_and_reaches_no_address_but_the_local_aws(
    tmp_path: Path,
) -> None:
    env = server.environment(tmp_path / "label-studio", "k")
    assert env["LATEST_VERSION_CHECK"] == "false"  # else it asks pypi.org
    assert env["SENTRY_DSN"] == env["FRONTEND_SENTRY_DSN"] == ""  # else errors go to sentry.io
    assert env["COLLECT_ANALYTICS"] == "false"
    assert env["AWS_ENDPOINT_URL"] == server.NO_ENDPOINT  # no local AWS runs there
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    banned = [ipaddress.ip_network(n) for n in env["USER_ADDITIONAL_BANNED_SUBNETS"].split(",")]
    assert env["USE_DEFAULT_BANNED_SUBNETS"] == "false"
    for address, allowed in [
        ("127.0.0.1", True), ("127.0.0.2", False), ("127.255.255.254", False),
        ("10.0.0.1", False), ("169.254.169.254", False), ("::1", False),
    ]:  # fmt: skip
        ip = ipaddress.ip_address(address)
        assert any(ip in n for n in banned if n.version == ip.version) is not allowed, address


def test_a_personal_access_token_works_through_its_access_tokens(label_studio: LabelStudio) -> None:
    """Label Studio's newer tokens (a JWT to refresh, Bearer access tokens) work as well as the
    legacy ones: what a team's server, whose organization turned legacy tokens off, hands out."""
    labeler = label_studio.client("labeler-2")
    made = labeler.request("POST", "/api/token/")  # labeler-2's personal access token
    pat = str(made["token"])
    assert api.is_personal_access_token(pat)
    client = api.Client(label_studio.url, pat)
    assert client.whoami()["email"] == annotator_email("labeler-2")
    first = client._access
    client._access = (first[0], first[1] - api.ACCESS_LIFETIME - 1)  # an access token gone stale
    assert client.whoami()["email"] == annotator_email("labeler-2")
    assert client._access is not None and client._access[0] != first[0]
    assert pat not in repr(client)
    with pytest.raises(api.LabelStudioError) as caught:
        api.Client(label_studio.url, pat[:-4] + "AAAA").whoami()
    assert caught.value.status == 401 and pat[:-4] not in str(caught.value)
