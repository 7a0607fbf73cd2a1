"""Every setting of the local AWS in one frozen `LocalConfig`, read from the environment here only.

Each field is set by the variable `WALKTHROUGH_LOCAL_<FIELD>`; the README's local-mode section
shows them in one table, which a test holds equal to the fields below.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from helpers.errors import InputError
from helpers.local.faults import FaultConfig

ENV_PREFIX = "WALKTHROUGH_LOCAL_"


def _doc(default: str, effect: str) -> dict[str, str]:
    """A field's README row: how its default reads and what it does."""
    return {"default": default, "effect": effect}


@dataclass(frozen=True)
class LocalConfig:
    """The knobs of the local AWS; the defaults are what `make demo` and the tests run with."""

    speed: float = field(
        default=100.0, metadata=_doc("`100`", "simulated seconds per real second for labeling work")
    )
    worker_accuracy: tuple[float, float] = field(
        default=(0.85, 0.95),
        metadata=_doc("`0.85,0.95`", "range each simulated worker's accuracy is drawn from"),
    )
    worker_seconds: tuple[float, float] = field(
        default=(4.0, 12.0),
        metadata=_doc("`4,12`", "range of each worker's median seconds per task"),
    )
    gpu_quota: int = field(
        default=2,
        metadata=_doc(
            "`2`", "instances a training job may ask for (above: `ResourceLimitExceeded`)"
        ),
    )
    port: int = field(
        default=0, metadata=_doc("free port", "the port to listen on (always 127.0.0.1)")
    )
    faults: FaultConfig = field(
        default=FaultConfig(), metadata=_doc("none", "faults to inject, as JSON (below)")
    )
    person_labelers: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "none",
            "Cognito usernames whose labeling tasks wait for a person in the labeling portal "
            "(comma-separated; `aws.connect` replaces them with the `person_labelers` setting)",
        ),
    )

    openimages_per_class: int = field(
        default=80,
        metadata=_doc(
            "`80`",
            "pictures per class in the generated Open Images mirror (up to 2000; drawn once, "
            "then cached): at least `images_per_class` + `test_images_per_class` + 5",
        ),
    )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> LocalConfig:
        """Read every `WALKTHROUGH_LOCAL_*` variable that is set; the rest keep their defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(variable(f.name), "").strip()
            if raw:
                values[f.name] = _PARSERS[f.name](variable(f.name), raw)
        return cls(**values)


def variable(name: str) -> str:
    """The environment variable that sets a `LocalConfig` field."""
    return ENV_PREFIX + name.upper()


def _speed(name: str, raw: str) -> float:
    value = _number(name, raw, float, "a number of simulated seconds per real second", "100")
    if not 0 < value < math.inf:
        raise InputError(name, raw, "the speed must be a positive number", f"set {name}=100")
    return value


def _range(low: float, high: float, example: str) -> Any:
    def parse(name: str, raw: str) -> tuple[float, float]:
        parts = raw.split(",")
        rule = f"two numbers `low,high` with {low} <= low <= high <= {high}"
        try:
            first, second = (float(p) for p in parts)
        except ValueError:
            raise InputError(name, raw, rule, f"set {name}={example}") from None
        if not low <= first <= second <= high:
            raise InputError(name, raw, rule, f"set {name}={example}")
        return first, second

    return parse


def _count(limit: int, example: str) -> Any:
    def parse(name: str, raw: str) -> int:
        value = _number(name, raw, int, f"a whole number from 0 to {limit}", example)
        if not 0 <= value <= limit:
            raise InputError(
                name, raw, f"a whole number from 0 to {limit}", f"set {name}={example}"
            )
        return value

    return parse


def _number(name: str, raw: str, kind: Any, rule: str, example: str) -> Any:
    try:
        return kind(raw)
    except ValueError:
        raise InputError(name, raw, rule, f"set {name}={example}") from None


def _faults(name: str, raw: str) -> FaultConfig:
    try:
        return FaultConfig.from_dict(json.loads(raw))
    except (ValueError, TypeError) as exc:
        raise InputError(
            name,
            raw,
            f"a JSON object of fault settings ({exc})",
            f"""set {name}='{{"s3_error_rate": 0.1}}', or unset it""",
        ) from None


def _usernames(name: str, raw: str) -> tuple[str, ...]:
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if any(len(n) > 128 or any(c.isspace() for c in n) for n in names):
        raise InputError(
            name,
            raw,
            "comma-separated Cognito usernames (1-128 characters, no spaces)",
            f"set {name}=labeler-1, or unset it",
        )
    return tuple(sorted(set(names)))


def _per_class(name: str, raw: str) -> int:
    rule = "a whole number from 5 to 2000"
    value = _number(name, raw, int, rule, "1100")
    if not 5 <= value <= 2000:
        raise InputError(name, raw, rule, f"set {name}=1100 for 1,000 images per class")
    return value


_PARSERS = {
    "speed": _speed,
    "worker_accuracy": _range(0.0, 1.0, "0.85,0.95"),
    "worker_seconds": _range(0.0, math.inf, "4,12"),
    "gpu_quota": _count(10_000, "2"),
    "port": _count(65_535, "0"),
    "faults": _faults,
    "person_labelers": _usernames,
    "openimages_per_class": _per_class,
}
