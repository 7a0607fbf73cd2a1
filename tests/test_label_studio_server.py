"""The local Label Studio server: started on 127.0.0.1 only, its accounts, restart and stop."""

from __future__ import annotations

import json
import stat
import subprocess
import time
from pathlib import Path

import pytest

from helpers.labelstudio import api
from helpers.local.labelstudio import server
from tests import label_studio_support
from tests.label_studio_support import ANNOTATORS, LabelStudio, persistent_template

label_studio = label_studio_support.label_studio  # the session's Label Studio (a fixture)


def listening_addresses(port: int) -> set[str]:
    """The local addresses something listens on at `port` (from `ss`)."""
    lines = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return {line.split()[3].rsplit(":", 1)[0] for line in lines}


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
    assert len(set(passwords)) == len(passwords) == 4
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


def test_a_new_state_folder_starts_from_the_template_and_stops(
    label_studio: LabelStudio, tmp_path: Path
) -> None:
    folder = tmp_path / "label-studio"
    started = time.monotonic()
    account = server.ensure_running(
        folder, annotators=["someone@example.org"], template=persistent_template(), simulate=False
    )
    took = time.monotonic() - started
    try:
        me = api.Client(account["url"], account["annotators"]["someone@example.org"]["token"])
        assert me.whoami()["email"] == "someone@example.org"
        assert took < 60, f"a start from the template took {took:.0f}s"
        added = server.add_annotators(["labeler-9"], folder)
        assert set(added["annotators"]) == {"someone@example.org", "labeler-9@walkthrough.local"}
    finally:
        assert server.stop(folder)
    assert not server.status(folder)["running"]
    assert not server.healthy(account["url"])
    assert not server.stop(folder)
