"""The labeling backend's settings, and where the Label Studio API token comes from."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from helpers import settings as settings_module
from helpers.errors import InputError
from helpers.labelstudio import token
from helpers.settings import load

SECRET_TOKEN = "s3cr3t-token-0123456789abcdef0123456789"
AWS = {"mode": "aws", "bucket": "my-bucket", "labeling_backend": "label_studio"}
#: 4 x 1,000 images at 0.5: two jobs of 2,000 objects (automated labeling needs 1,250 each)
ENOUGH_FOR_AUTO_LABELING = {
    "classes": ["Cheetah", "Tiger", "Fruit", "Snowman"],
    "images_per_class": 1000,
    "validation_fraction": 0.5,
}
IN_CLUSTER = "http://label-studio.labeling.svc.cluster.local:8080"


def test_ground_truth_stays_the_default() -> None:
    settings = load(env={})
    assert settings.labeling_backend == "ground_truth"
    assert not settings.label_studio


def test_backend_from_the_environment() -> None:
    settings = load(env={"WALKTHROUGH_LABELING_BACKEND": "label_studio"})
    assert settings.label_studio
    assert settings.label_studio_url is None  # local mode: the local server, started on demand


@pytest.mark.parametrize(
    ("overrides", "setting", "rule"),
    [
        ({"labeling_backend": "labelstudio"}, "labeling_backend", "must be one of"),
        ({"label_studio_url": "ftp://h.example.com"}, "label_studio_url", "http:// or https://"),
        ({"label_studio_url": "https://"}, "label_studio_url", "with a host"),
        ({"label_studio_url": "https://h.example.com/?t=1"}, "label_studio_url", "query"),
        ({"label_studio_url": "http://label-studio.example.com"}, "label_studio_url", "https"),
        ({"label_studio_url": None}, "label_studio_url", "needs the URL"),
        ({"label_studio_token_secret": "Label_Studio"}, "label_studio_token_secret", "secret name"),
        ({"label_studio_token_secret": "a/b/c"}, "label_studio_token_secret", "<secret>/<key>"),
        ({"enable_auto_labeling": True}, "enable_auto_labeling", "Ground Truth feature"),
        ({"person_labelers": "labeler-1"}, "person_labelers", "local mode only"),
    ],
)
def test_bad_values_name_setting_rule_and_fix(
    overrides: dict[str, Any], setting: str, rule: str
) -> None:
    values = {**AWS, "label_studio_url": "https://label-studio.example.com", **overrides}
    if setting == "enable_auto_labeling":  # enough objects that only the backend is the problem
        values.update(ENOUGH_FOR_AUTO_LABELING)
    with pytest.raises(InputError) as err:
        load(values, env={})
    assert err.value.setting == setting
    assert rule in err.value.rule
    assert err.value.fix


@pytest.mark.parametrize(
    "url",
    [
        "https://label-studio.example.com",
        IN_CLUSTER,
        "http://label-studio.labeling.svc:8080",
        "http://127.0.0.1:8080",
        "http://localhost:8080/",
    ],
)
def test_good_urls_in_aws_mode(url: str) -> None:
    assert load({**AWS, "label_studio_url": url}, env={}).label_studio_url == url


def test_a_password_in_the_url_is_refused_and_not_shown() -> None:
    with pytest.raises(InputError) as err:
        load({**AWS, "label_studio_url": "https://ana:hunter2@ls.example.com"}, env={})
    assert err.value.setting == "label_studio_url"
    assert "hunter2" not in str(err.value)


def test_local_mode_keeps_label_studio_on_this_machine() -> None:
    with pytest.raises(InputError) as err:
        load({"labeling_backend": "label_studio", "label_studio_url": IN_CLUSTER}, env={})
    assert "this machine" in err.value.rule


def test_token_file_must_exist_and_hold_something(tmp_path: Path) -> None:
    base = {**AWS, "label_studio_url": IN_CLUSTER}
    with pytest.raises(InputError, match="does not exist"):
        load({**base, "label_studio_token_file": str(tmp_path / "none")}, env={})
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(InputError, match="is empty"):
        load({**base, "label_studio_token_file": str(empty)}, env={})


def test_auto_labeling_still_works_with_ground_truth() -> None:
    settings = load({"enable_auto_labeling": True, **ENOUGH_FOR_AUTO_LABELING}, env={})
    assert settings.enable_auto_labeling and not settings.label_studio


def test_settings_output_holds_no_token(tmp_path: Path) -> None:
    """`make settings` (python -m helpers.settings) shows where the token is, never the token."""
    file = tmp_path / "token"
    file.write_text(SECRET_TOKEN + "\n")
    env = {
        "WALKTHROUGH_LABELING_BACKEND": "label_studio",
        "WALKTHROUGH_LABEL_STUDIO_TOKEN_FILE": str(file),
        "WALKTHROUGH_SETTINGS_FILE": str(tmp_path / "settings.json"),
        "LABEL_STUDIO_API_KEY": SECRET_TOKEN,
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    (tmp_path / "settings.json").write_text("{}")
    shown = subprocess.run(
        [sys.executable, "-m", "helpers.settings"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    printed = json.loads(shown.stdout)
    assert printed["settings"]["label_studio_token_file"] == str(file)
    assert SECRET_TOKEN not in shown.stdout + shown.stderr


# --- the token's sources --------------------------------------------------------------------------


def _no_cluster(settings: Any) -> tuple[None, str]:
    return None, "no Kubernetes cluster is reachable"


def _cluster_with(secrets: dict[str, dict[str, str]]) -> Any:
    """A stand-in of CoreV1Api reading `secrets` (name -> key -> value)."""

    class Missing(Exception):
        status = 404

    def read(name: str, namespace: str) -> Any:
        if name not in secrets:
            raise Missing(name)
        data = {k: base64.b64encode(v.encode()).decode() for k, v in secrets[name].items()}
        return SimpleNamespace(data=data)

    core = SimpleNamespace(read_namespaced_secret=read)
    return lambda settings: (core, "kubeconfig")


def _aws(**values: Any) -> Any:
    return load({**AWS, "label_studio_url": IN_CLUSTER, **values}, env={})


def test_token_file_wins_over_environment_and_secret(tmp_path: Path) -> None:
    file = tmp_path / "token"
    file.write_text("from-file\n")
    settings = _aws(label_studio_token_file=str(file), label_studio_token_secret="ls")
    cluster = _cluster_with({"ls": {"token": "from-secret"}})
    assert token.api_token(settings, {token.TOKEN_ENV: "from-env"}, cluster) == "from-file"
    assert token.api_token(_aws(label_studio_token_secret="ls"), {}, cluster) == "from-secret"
    assert token.api_token(_aws(), {token.TOKEN_ENV: "from-env"}, cluster) == "from-env"


def test_secret_key_can_be_named() -> None:
    cluster = _cluster_with({"label-studio": {"api-token": "from-key"}})
    settings = _aws(label_studio_token_secret="label-studio/api-token")
    assert token.api_token(settings, {}, cluster) == "from-key"
    with pytest.raises(InputError, match="has no key 'token'"):
        token.api_token(_aws(label_studio_token_secret="label-studio"), {}, cluster)


def test_missing_secret_says_how_to_create_it() -> None:
    with pytest.raises(InputError) as err:
        token.api_token(_aws(label_studio_token_secret="ls"), {}, _cluster_with({}))
    assert "kubectl -n kubeflow create secret generic ls" in err.value.fix


def test_unreachable_cluster_is_a_clear_error() -> None:
    with pytest.raises(token.ClusterUnreachable, match="no Kubernetes cluster is reachable"):
        token.api_token(_aws(label_studio_token_secret="ls"), {}, _no_cluster)


def test_no_token_anywhere_names_all_three_sources() -> None:
    with pytest.raises(InputError) as err:
        token.api_token(_aws(), {}, _no_cluster)
    for source in ("label_studio_token_file", token.TOKEN_ENV, "label_studio_token_secret"):
        assert source in str(err.value)


def test_local_mode_falls_back_to_the_local_admin_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALKTHROUGH_STATE_DIR", str(tmp_path))
    folder = tmp_path / "label-studio"
    folder.mkdir()
    account = {"url": "http://127.0.0.1:8999", "admin": {"email": "a@x", "token": SECRET_TOKEN}}
    (folder / "account.json").write_text(json.dumps(account))
    settings = load({"labeling_backend": "label_studio"}, env={})
    assert token.api_token(settings, {}, start=False) == SECRET_TOKEN
    client = token.client(settings, {}, start=False)
    assert client.url == "http://127.0.0.1:8999"
    assert SECRET_TOKEN not in repr(client) and SECRET_TOKEN not in str(vars(settings))
    assert token.api_token(settings, {token.TOKEN_ENV: "from-env"}, start=False) == "from-env"


def test_settings_table_lists_the_new_settings() -> None:
    table = settings_module.reference_table()
    for name in (
        "labeling_backend",
        "label_studio_url",
        "label_studio_token_file",
        "label_studio_token_secret",
    ):
        assert f"`{name}`" in table
