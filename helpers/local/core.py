"""What every service of the local AWS shares: AWS-style errors, the clock, clients to moto."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from helpers.local.faults import INTERNAL_AGENT
from helpers.settings import LOCAL_ACCOUNT

ACCOUNT = LOCAL_ACCOUNT


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/key` into bucket and key (the local AWS's own; it imports no step)."""
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class ServiceError(Exception):
    """An AWS-style error: error code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation(message: str) -> ServiceError:
    """A ValidationException, as SageMaker raises for bad requests."""
    return ServiceError("ValidationException", message)


def not_found(message: str) -> ServiceError:
    """A ResourceNotFound error."""
    return ServiceError("ResourceNotFound", message)


def in_use(message: str) -> ServiceError:
    """A ResourceInUse error (a name that is taken)."""
    return ServiceError("ResourceInUse", message)


class Clock:
    """Wall-clock time plus an offset tests can advance, and a speed for simulated durations.

    A simulated duration of `s` seconds takes `s / speed` real seconds. The clock only moves
    forward, by at most `MAX_OFFSET` seconds in all (time stays a date Python can show).
    """

    MAX_OFFSET = 100 * 365.25 * 86400

    def __init__(self, speed: float = 100.0) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self.speed = speed

    def now(self) -> float:
        """Return the current time (epoch seconds), including any advance."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move time forward (tests use this to reach expiry without waiting)."""
        if not 0 <= seconds < math.inf:
            raise ValueError(f"advance must be a finite number of seconds, 0 or more: {seconds}")
        with self._lock:
            if self._offset + seconds > self.MAX_OFFSET:
                raise ValueError(
                    f"advance {seconds} would move the clock more than {self.MAX_OFFSET:.0f} "
                    "seconds (100 years) ahead"
                )
            self._offset += seconds

    def set_speed(self, speed: float) -> None:
        """Set how many simulated seconds pass per real second."""
        if not 0 < speed < math.inf:
            raise ValueError(f"speed must be a finite number above 0, not {speed}")
        self.speed = speed

    def due(self, start: float, simulated_seconds: float) -> float:
        """Return when (clock time) something `simulated_seconds` after `start` happens."""
        return start + simulated_seconds / self.speed


def utc(epoch: float) -> datetime:
    """Turn epoch seconds into an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, tz=UTC)


@dataclass
class Backend:
    """Clients from the local SageMaker to the rest of the local AWS (moto), per region."""

    endpoint_url: str
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, region: str) -> Any:
        """Return a boto3 client for a moto service in a region (created once)."""
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                config = Config(
                    retries={"mode": "standard", "max_attempts": 3},
                    max_pool_connections=32,
                    user_agent_extra=INTERNAL_AGENT,
                )
                if service == "s3":
                    config = config.merge(
                        Config(signature_version="s3v4", s3={"addressing_style": "path"})
                    )
                self._clients[key] = boto3.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    config=config,
                )
            return self._clients[key]
