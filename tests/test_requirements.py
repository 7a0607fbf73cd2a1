"""requirements.lock (what make and CI install) satisfies requirements.txt (what users install)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _lines(name: str) -> list[str]:
    return [
        line.split("#")[0].strip()
        for line in (ROOT / name).read_text().splitlines()
        if line.split("#")[0].strip() and not line.startswith("-")
    ]


def test_lock_pins_every_requirement_within_its_range() -> None:
    pins = {}
    for line in _lines("requirements.lock"):
        name, _, version = line.partition("==")
        assert version, f"requirements.lock line {line!r} is not an exact pin"
        pins[canonicalize_name(name)] = version
    for file in ("requirements.txt", "requirements-dev.txt"):
        for line in _lines(file):
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{requirement.name} from {file} is missing from the lock"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{requirement.name}=={pins[name]} in the lock breaks {requirement} in {file}"
            )


def test_requirements_install_the_helpers_package() -> None:
    assert "-e ." in (ROOT / "requirements.txt").read_text().splitlines()
