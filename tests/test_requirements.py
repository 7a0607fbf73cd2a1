"""The locks (what make and CI install) hold pyproject.toml's ranges, and each command's lock has
only what that command needs: a Kubeflow notebook server gets no local AWS or test tools."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "locks"
#: Which extras each command's lock installs (see the Makefile).
LOCK_EXTRAS = {
    "demo": ["local"],
    "lab": ["local", "lab"],
    "test": ["local", "lab", "dev"],
    "kubeflow-image": ["local", "dev"],
}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(extras: list[str]) -> list[Requirement]:
    project = _project()
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _pins(lock: str, python: str = "3.11") -> dict[str, str]:
    """The lock's exact versions for one Python version (universal locks carry markers)."""
    pins: dict[str, str] = {}
    for raw in (LOCKS / f"{lock}.txt").read_text().splitlines():
        line = raw.split("#")[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement, _, marker = line.partition(";")
        if marker and not Marker(marker).evaluate(
            {"python_full_version": f"{python}.0", "python_version": python}
        ):
            continue
        name, _, version = requirement.strip().partition("==")
        assert version, f"locks/{lock}.txt line {line!r} is not an exact pin"
        pins[canonicalize_name(name)] = version.strip()
    return pins


@pytest.mark.parametrize("lock", sorted(LOCK_EXTRAS))
def test_each_lock_pins_every_requirement_within_its_range(lock: str) -> None:
    python = "3.12" if lock == "kubeflow-image" else "3.11"
    pins = _pins(lock, python)
    for requirement in _requirements(LOCK_EXTRAS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is missing from locks/{lock}.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{requirement.name}=={pins[name]} in locks/{lock}.txt breaks {requirement}"
        )


def test_command_locks_agree_with_the_tests_lock() -> None:
    full = _pins("test")
    for lock in ("demo", "lab"):
        for name, version in _pins(lock).items():
            assert full.get(name) == version, (
                f"{name}: locks/{lock}.txt {version}, test {full.get(name)}"
            )


def test_the_kubeflow_image_lock_has_the_lowest_kfp_the_ranges_allow() -> None:
    pins = _pins("kubeflow-image", "3.12")
    for requirement in _requirements([]):
        if requirement.name.startswith("kfp"):
            lowest = next(s.version for s in requirement.specifier if s.operator == ">=")
            assert pins[canonicalize_name(requirement.name)] == f"{lowest}.0", requirement


def test_a_notebook_server_gets_no_local_aws_jupyterlab_or_test_tools() -> None:
    base = {canonicalize_name(r.name) for r in _requirements([])}
    for name in ("moto", "flask", "jupyterlab", "jupyter", "notebook", "pytest", "awscli", "ruff"):
        assert name not in base
    assert "moto" not in {canonicalize_name(r.name) for r in _requirements(["lab"])}


@pytest.mark.parametrize("lock", ["demo", "lab", "test", "kubeflow-image"])
def test_no_lock_pulls_what_the_project_does_not_use(lock: str) -> None:
    pins = _pins(lock, "3.12" if lock == "kubeflow-image" else "3.11")
    # scikit-learn was only ever a split (pandas/numpy do it); moto[server]'s cfn-lint brings
    # sympy and networkx; torch is never needed.
    for name in ("scikit-learn", "scipy", "cfn-lint", "sympy", "networkx", "torch", "docker"):
        assert name not in pins, f"{name} is in locks/{lock}.txt"
    if lock == "demo":
        assert "jupyterlab" not in pins


def test_requirements_install_the_helpers_package_and_nothing_else() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["-e ."]
