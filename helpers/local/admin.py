"""The client of the local AWS's admin routes (`/_walkthrough/`): health, counts, clock, faults,
person labelers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http.client import HTTPException
from typing import Any

ADMIN_PREFIX = "/_walkthrough/"
SERVICE_NAME = "walkthrough-local-aws"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
#: Admin routes take JSON only (a web page cannot send it cross-site without a CORS preflight).
JSON_HEADERS = {"Content-Type": "application/json"}


def _request(url: str, method: str, body: dict[str, Any] | None = None) -> urllib.request.Request:
    data = json.dumps(body or {}).encode() if method == "POST" else None
    return urllib.request.Request(url, method=method, data=data, headers=JSON_HEADERS)


def http(url: str, method: str = "GET", timeout: float = 3.0) -> dict[str, Any]:
    """Call an admin route without any proxy; return its JSON answer."""
    with _NO_PROXY.open(_request(url, method), timeout=timeout) as response:
        return json.loads(response.read() or b"{}")


def health(url: str) -> dict[str, Any] | None:
    """Return the endpoint's health answer, or None when nothing of ours answers there.

    An endpoint that is stopping may cut its answer off (IncompleteRead): none answers then.
    """
    try:
        answer = http(f"{url}{ADMIN_PREFIX}health")
    except (OSError, ValueError, HTTPException):
        return None
    return answer if answer.get("service") == SERVICE_NAME else None


def request_counts(url: str) -> dict[str, int]:
    """Return the requests the endpoint served, per `service.Operation`."""
    return {k: int(v) for k, v in http(f"{url}{ADMIN_PREFIX}stats").items()}


def reset_request_counts(url: str) -> None:
    """Set every request count back to zero."""
    http(f"{url}{ADMIN_PREFIX}stats/reset", method="POST")


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        with _NO_PROXY.open(_request(url, "POST", body), timeout=10) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        raise ValueError(json.loads(exc.read()).get("error", str(exc))) from exc


def drive_clock(url: str, advance: float | None = None, speed: float | None = None) -> float:
    """Advance the local AWS's clock and/or set its speed; return its time (tests use this)."""
    change = {k: v for k, v in (("advance", advance), ("speed", speed)) if v is not None}
    return float(_post(f"{url}{ADMIN_PREFIX}clock", change)["now"])


def set_faults(url: str, **config: Any) -> dict[str, Any]:
    """Replace the faults the local AWS injects (see `helpers.local.faults`); return them."""
    return _post(f"{url}{ADMIN_PREFIX}faults", config)["config"]


def clear_faults(url: str) -> None:
    """Stop injecting faults."""
    _post(f"{url}{ADMIN_PREFIX}faults", {})


def fault_stats(url: str) -> dict[str, Any]:
    """The fault configuration and how many faults were injected, per kind."""
    return http(f"{url}{ADMIN_PREFIX}faults")


def set_person_labelers(url: str, usernames: list[str]) -> list[str]:
    """Set whose labeling tasks wait for a person (jobs created from now on); return them."""
    return list(
        _post(f"{url}{ADMIN_PREFIX}labeling/people", {"person_labelers": usernames})[
            "person_labelers"
        ]
    )


def labeling_pending(url: str, region: str) -> list[dict[str, Any]]:
    """Per labeling job and person labeler: the tasks waiting for them in the portal."""
    return list(http(f"{url}{ADMIN_PREFIX}labeling/pending?region={region}")["pending"])
