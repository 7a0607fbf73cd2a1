"""Faults the local AWS can inject, for tests and benchmarks: S3 errors, latency, failed jobs.

Settings (all optional; set at start with `WALKTHROUGH_LOCAL_FAULTS` as JSON, read with the
other settings in `helpers.local.config`, or at any time with `helpers.local.set_faults(url, ...)`):

- `seed` (int, default 0): which requests get an error is decided by hashing the seed, the
  request (method and path) and how many times that request was made before, so a test sees
  the same faults on every run, whatever order its threads make their requests in;
- `s3_error_rate` (0 to 1): the share of S3 requests answered with an error instead;
- `s3_error_codes` (default `["SlowDown", "InternalError"]`): the errors to answer with
  (`SlowDown` is a 503, `InternalError` a 500, `ServiceUnavailable` a 503), as S3 sends them;
- `latency_ms` (0 to 60000): time added to every S3 request (the round trip to S3 from a
  notebook);
- `fail_jobs`: name patterns (`fnmatch`, case-insensitive) of labeling, training and transform
  jobs that fail instead of running, with `fail_reason` as their `FailureReason`;
- `ground_truth_closed` (default false): answer `CreateWorkforce` and `CreateLabelingJob` as
  AWS refuses an account that may not use Ground Truth (closed to new customers since
  2026-07-30): `AccessDeniedException` with `GROUND_TRUTH_CLOSED_MESSAGE`. AWS does not
  document the exact code and wording; these are our assumption, kept in one place. List and
  Describe calls still answer, as they would for an account that never used Ground Truth.

Only users' requests are affected: the local SageMaker's own requests (`walkthrough-internal`
in their user agent) and the mirror upload at start-up are not.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any

INTERNAL_AGENT = "walkthrough-internal"
#: S3 error code -> (HTTP status, message), as S3 answers them.
S3_ERRORS = {
    "SlowDown": (503, "Please reduce your request rate."),
    "ServiceUnavailable": (503, "Service is unable to handle request."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
}
#: Operations `ground_truth_closed` refuses.
GROUND_TRUTH_CREATES = ("CreateWorkforce", "CreateLabelingJob")
#: How the local AWS words that refusal (an assumption: AWS does not document it).
GROUND_TRUTH_CLOSED_MESSAGE = (
    "This account does not have access to Amazon SageMaker Ground Truth: it is closed to new "
    "customers (refusal injected by the local AWS)"
)
DEFAULT_REASON = (
    "InternalServerError: We encountered an internal error. Please try again. "
    "(fault injected by the local AWS)"
)


#: The most latency a request may be given (a minute: more would only hold the server's threads).
MAX_LATENCY_MS = 60_000.0


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return float(value)


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return value


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"{name} must be a list of strings, not {value!r}")
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name} must be a list of strings, not {value!r}")
    return tuple(value)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {value!r}")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return value


@dataclass(frozen=True)
class FaultConfig:
    """What to inject; the defaults inject nothing."""

    seed: int = 0
    s3_error_rate: float = 0.0
    s3_error_codes: tuple[str, ...] = ("SlowDown", "InternalError")
    latency_ms: float = 0.0
    fail_jobs: tuple[str, ...] = ()
    fail_reason: str = DEFAULT_REASON
    ground_truth_closed: bool = False

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FaultConfig:
        """Build and check a configuration; a bad key or value raises ValueError saying which."""
        if not isinstance(values, dict):
            raise ValueError(f"fault settings must be a JSON object, not {values!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown fault settings {unknown}; known: {sorted(known)}")
        merged = {**asdict(cls()), **values}
        config = cls(
            seed=_whole(merged["seed"], "seed"),
            s3_error_rate=_finite(merged["s3_error_rate"], "s3_error_rate"),
            s3_error_codes=_strings(merged["s3_error_codes"], "s3_error_codes"),
            latency_ms=_finite(merged["latency_ms"], "latency_ms"),
            fail_jobs=_strings(merged["fail_jobs"], "fail_jobs"),
            fail_reason=_text(merged["fail_reason"], "fail_reason"),
            ground_truth_closed=_flag(merged["ground_truth_closed"], "ground_truth_closed"),
        )
        if not 0.0 <= config.s3_error_rate <= 1.0:
            raise ValueError(f"s3_error_rate must be between 0 and 1, not {config.s3_error_rate}")
        if not 0 <= config.latency_ms <= MAX_LATENCY_MS:
            raise ValueError(
                f"latency_ms must be from 0 to {MAX_LATENCY_MS:.0f}, not {config.latency_ms}"
            )
        bad = [c for c in config.s3_error_codes if c not in S3_ERRORS]
        if bad or not config.s3_error_codes:
            raise ValueError(f"s3_error_codes must be some of {sorted(S3_ERRORS)}, not {bad}")
        return config

    def as_json(self) -> dict[str, Any]:
        """The configuration as JSON-ready values."""
        return {**asdict(self), "s3_error_codes": list(self.s3_error_codes)}


@dataclass
class Faults:
    """The endpoint's current fault configuration and what it injected (thread-safe)."""

    config: FaultConfig = field(default_factory=FaultConfig)
    _seen: Counter[str] = field(default_factory=Counter)
    _injected: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, values: dict[str, Any]) -> None:
        """Replace the configuration and forget what was injected so far."""
        config = FaultConfig.from_dict(values)
        with self._lock:
            self.config = config
            self._seen.clear()
            self._injected.clear()

    def snapshot(self) -> dict[str, Any]:
        """The configuration and the faults injected, per kind."""
        with self._lock:
            return {"config": self.config.as_json(), "injected": dict(self._injected)}

    def s3_error(self, method: str, path: str, operation: str) -> str | None:
        """Sleep the added latency; return the error code to answer with, or None."""
        config = self.config
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        if not config.s3_error_rate:
            return None
        request = f"{method} {path}"
        with self._lock:
            attempt = self._seen[request]
            self._seen[request] += 1
        digest = hashlib.sha256(f"{config.seed}|{request}|{attempt}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        if draw >= config.s3_error_rate:
            return None
        code = config.s3_error_codes[digest[8] % len(config.s3_error_codes)]
        with self._lock:
            self._injected[f"s3.{operation}:{code}"] += 1
        return code

    def ground_truth_refusal(self, operation: str) -> str | None:
        """The message to refuse a Ground Truth create call with, or None to let it through."""
        if not self.config.ground_truth_closed or operation not in GROUND_TRUTH_CREATES:
            return None
        with self._lock:
            self._injected[f"sagemaker.{operation}:AccessDeniedException"] += 1
        return GROUND_TRUTH_CLOSED_MESSAGE

    def job_failure(self, kind: str, name: str) -> str | None:
        """The FailureReason a job of this name is forced to fail with, or None."""
        config = self.config
        if not any(fnmatch.fnmatch(name.lower(), p.lower()) for p in config.fail_jobs):
            return None
        with self._lock:
            self._injected[f"{kind}:{name}"] += 1
        return config.fail_reason
