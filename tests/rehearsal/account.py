"""The AWS configuration a user with an account has, pointing at a local AWS instead.

A profile in an AWS config file with the region and `endpoint_url` (botocore 1.31 and later
read it), credentials in a shared credentials file, and `AWS_PROFILE` naming the profile: the
standard files and variables, nothing the walkthrough's local mode sets up. Every other `AWS_*`
variable is left out, so nothing of the developer's own AWS set-up can take part.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

PROFILE = "walkthrough-rehearsal"
GUARD = Path(__file__).resolve().parent / "guard"
NETWORK_LOG = "REHEARSAL_NETWORK_LOG"


def write_profile(folder: Path, endpoint_url: str, region: str) -> dict[str, str]:
    """Write the config and credentials files; return the variables that select them."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config"
    credentials = folder / "credentials"
    config.write_text(
        f"[profile {PROFILE}]\nregion = {region}\nendpoint_url = {endpoint_url}\n"
        "retry_mode = standard\n"
    )
    credentials.write_text(
        f"[{PROFILE}]\naws_access_key_id = AKIAREHEARSAL0000001\n"
        "aws_secret_access_key = rehearsal-secret-not-a-real-key\n"
    )
    return {
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_PROFILE": PROFILE,
    }


def environment(
    base: Mapping[str, str], aws: Mapping[str, str], network_log: Path, *paths: Path
) -> dict[str, str]:
    """`base` without AWS_* variables, plus `aws`; the network guard and `paths` on PYTHONPATH."""
    env = {k: v for k, v in base.items() if not k.startswith("AWS_")}
    env.update(aws)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (GUARD, *paths))
    env[NETWORK_LOG] = str(network_log)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def pod_environment(
    base: Mapping[str, str], aws: Mapping[str, str], network_log: Path, home: Path
) -> dict[str, str]:
    """What the cluster's pods get: the account (as IRSA would give it) and no package index.

    The Python component set asks for `packages_to_install`; a pod would install them from
    PyPI. Here pip may use no index and only checks (dry run) that this Python already has
    them, so a missing package fails the task as it would without egress.
    """
    env = environment(
        {k: v for k, v in base.items() if not k.startswith("WALKTHROUGH_")}, aws, network_log
    )
    env.update(
        HOME=str(home),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), base.get("PATH", "")]),
        PIP_NO_INDEX="1",
        PIP_DRY_RUN="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def network_attempts(network_log: Path) -> list[str]:
    """The non-loopback connections and look-ups the guarded processes tried."""
    return network_log.read_text().splitlines() if network_log.exists() else []


def guarded_processes(network_log: Path) -> list[str]:
    """The command lines of the processes the guard was loaded into."""
    loaded = network_log.with_name(network_log.name + ".loaded")
    return loaded.read_text().splitlines() if loaded.exists() else []
