"""Where the Label Studio API token comes from, and the API client made with it.

The token is looked for in this order, the first that gives one wins:

1. the file `label_studio_token_file` names;
2. the environment variable `LABEL_STUDIO_API_KEY` (the name Label Studio's own SDK reads);
3. the Kubernetes secret `label_studio_token_secret` (`<secret>` or `<secret>/<key>`, key
   `token` by default) in `kfp_namespace`, read with the kubernetes client (in-cluster, else
   kubeconfig); aws mode only, local mode has no cluster;
4. in local mode, the local Label Studio server's admin token
   (`<state_dir()>/label-studio/account.json`).

The token is never printed, never part of an error message, a repr or a run record.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from helpers.errors import InputError, WalkthroughError
from helpers.labelstudio import api
from helpers.paths import state_dir
from helpers.settings import Settings, split_secret

#: The environment variable that carries a token (Label Studio SDK's name for it).
TOKEN_ENV = "LABEL_STUDIO_API_KEY"
#: What the settings table and errors call the token's three sources.
SOURCES = (
    "label_studio_token_file (a file holding the token)",
    f"the environment variable {TOKEN_ENV}",
    "label_studio_token_secret (a Kubernetes secret in kfp_namespace)",
)


class ClusterUnreachable(WalkthroughError):
    """The token is in a Kubernetes secret, but no cluster can be reached from here."""


def account_file() -> Path:
    """The local Label Studio server's account file (URL, admin and annotators; mode 0600)."""
    return state_dir() / "label-studio" / "account.json"


def local_server() -> Any:
    """The local Label Studio server's module (local mode): start, stop, add annotators.

    The walkthrough's one door to it besides `helpers.aws`/`demo`/`lab`'s to the local AWS.
    """
    from helpers.local.labelstudio import server

    return server


def local_account(start: bool = True) -> dict[str, Any] | None:
    """The local server's accounts (starting the server when `start`), or None when absent."""
    if start:
        return dict(local_server().ensure_running())
    path = account_file()
    if not path.is_file():
        return None
    return dict(json.loads(path.read_text(encoding="utf-8")))


def server_url(settings: Settings, start: bool = True) -> str:
    """Label Studio's URL: the setting, else (local mode) the local server's."""
    if settings.label_studio_url:
        return settings.label_studio_url.rstrip("/")
    if settings.mode != "local":
        settings.require("label_studio_url", "with labeling_backend=label_studio")
    account = local_account(start)
    if account is None:
        raise WalkthroughError(
            "the local Label Studio server has not been set up yet (no "
            f"{account_file()}): run notebook 02 (02_check_aws_setup), which starts it"
        )
    return str(account["url"]).rstrip("/")


def _from_file(settings: Settings) -> str | None:
    if not settings.label_studio_token_file:
        return None
    path = Path(settings.label_studio_token_file).expanduser()
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            "label_studio_token_file",
            settings.label_studio_token_file,
            f"the token file cannot be read ({type(exc).__name__})",
            "point it at a readable file holding only the API token",
        ) from None
    if not token:
        raise InputError(
            "label_studio_token_file",
            settings.label_studio_token_file,
            "the token file is empty",
            "write the API token into it (Label Studio: Account & Settings)",
        )
    return token


def _from_secret(
    settings: Settings, kubernetes: Callable[[Settings], tuple[Any | None, str]]
) -> str | None:
    secret = settings.label_studio_token_secret
    if not secret or settings.mode == "local":
        return None
    name, key = split_secret(secret)
    where = f"secret {name} in namespace {settings.kfp_namespace}"
    core, why = kubernetes(settings)
    if core is None:
        raise ClusterUnreachable(
            f"the Label Studio token is in {where}, but {why}. Run this where the cluster is "
            f"reachable (a Kubeflow notebook, or with a kubeconfig), or give the token with "
            f"label_studio_token_file or {TOKEN_ENV}"
        )
    try:
        found = core.read_namespaced_secret(name, settings.kfp_namespace)
    except Exception as exc:  # kubernetes.client.ApiException, or the connection's error
        status = getattr(exc, "status", None)
        if status == 404:
            raise InputError(
                "label_studio_token_secret",
                secret,
                f"{where} does not exist",
                f"create it: kubectl -n {settings.kfp_namespace} create secret generic {name} "
                f"--from-file={key}=<file holding the token>",
            ) from None
        if status == 403:
            raise InputError(
                "label_studio_token_secret",
                secret,
                f"this identity may not read {where} (HTTP 403)",
                "grant it `get` on that secret (a Role and RoleBinding), or give the token with "
                f"label_studio_token_file or {TOKEN_ENV}",
            ) from None
        raise ClusterUnreachable(
            f"could not read {where}: {type(exc).__name__} (HTTP {status or 'none'})"
        ) from None
    data = dict(getattr(found, "data", None) or {})
    if key not in data:
        raise InputError(
            "label_studio_token_secret",
            secret,
            f"{where} has no key {key!r} (its keys: {', '.join(sorted(data)) or 'none'})",
            f"name the key that holds the token as {name}/<key>, or add it as {key}",
        )
    try:
        token = base64.b64decode(data[key], validate=True).decode("utf-8").strip()
    except (binascii.Error, UnicodeDecodeError):
        token = ""
    if not token:
        raise InputError(
            "label_studio_token_secret",
            secret,
            f"key {key!r} of {where} holds no token",
            "put the API token in it",
        )
    return token


def _from_local_server(settings: Settings, start: bool) -> str | None:
    if settings.mode != "local" or settings.label_studio_url:
        return None
    account = local_account(start)
    return str(account["admin"]["token"]) if account else None


def api_token(
    settings: Settings,
    env: Mapping[str, str] | None = None,
    kubernetes: Callable[[Settings], tuple[Any | None, str]] | None = None,
    start: bool = True,
) -> str:
    """The Label Studio API token: file > environment > Kubernetes secret > local admin token."""
    from helpers.checks import probes

    env = os.environ if env is None else env
    token = (
        _from_file(settings)
        or env.get(TOKEN_ENV, "").strip()
        or _from_secret(settings, kubernetes or probes.kubernetes_api)
        or _from_local_server(settings, start)
    )
    if token:
        return token
    raise InputError(
        "label_studio_token_file",
        settings.label_studio_token_file,
        "no Label Studio API token was found in any of its sources: " + "; ".join(SOURCES),
        "give the token in one of them (Label Studio: Account & Settings > Personal Access "
        "Token; a team keeps it in a Kubernetes secret named by label_studio_token_secret)",
    )


def client(
    settings: Settings,
    env: Mapping[str, str] | None = None,
    kubernetes: Callable[[Settings], tuple[Any | None, str]] | None = None,
    start: bool = True,
) -> api.Client:
    """An API client of the settings' Label Studio, as the token's user."""
    url = server_url(settings, start)
    return api.Client(url, api_token(settings, env, kubernetes, start))
