"""Stopping the local AWS cannot race its own reply (the stop answer cut off: IncompleteRead)."""

from __future__ import annotations

import http.client
import io
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from helpers.local import process
from helpers.local.process import ENDPOINT_FILE
from helpers.local.server import LocalAws


def test_the_shutdown_route_stops_only_after_its_reply_is_sent() -> None:
    stopped = threading.Event()
    app = LocalAws(
        moto_app=None,  # type: ignore[arg-type]
        sagemaker=types.SimpleNamespace(faults=None),  # type: ignore[arg-type]
        shutdown=stopped.set,
    )
    environ = {
        "PATH_INFO": "/_walkthrough/shutdown",
        "REQUEST_METHOD": "POST",
        "wsgi.input": io.BytesIO(b"{}"),
        "CONTENT_LENGTH": "2",
        "CONTENT_TYPE": "application/json",
    }
    statuses: list[str] = []
    body = app(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["200 OK"]
    assert b"".join(body) == b'{"stopping": true}'
    assert not stopped.wait(0.3), "the server was stopped while its reply was being sent"
    body.close()  # what a WSGI server calls once the last byte is written
    assert stopped.wait(10)


def test_stop_tolerates_a_reply_cut_off_by_the_shutdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "http://127.0.0.1:9"
    (tmp_path / ENDPOINT_FILE).write_text(f'{{"url": "{url}", "pid": 1, "port": 9}}')
    answers = iter([{"service": "walkthrough-local-aws", "pid": 1}, None, None, None])
    monkeypatch.setattr(process.admin, "health", lambda _url: next(answers))

    def cut_off(_url: str, method: str = "GET", timeout: float = 3.0) -> dict[str, Any]:
        raise http.client.IncompleteRead(b'{"stop')

    monkeypatch.setattr(process.admin, "http", cut_off)
    monkeypatch.setattr(process.os, "kill", lambda *_: pytest.fail("it stopped by itself"))
    assert process.stop(tmp_path, timeout=5) is True
    assert not (tmp_path / ENDPOINT_FILE).exists()


def test_a_health_answer_cut_off_by_a_stopping_endpoint_means_none_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`stop` polls health while the endpoint goes away: a cut-off answer is no answer."""

    def cut_off(_url: str, method: str = "GET", timeout: float = 3.0) -> dict[str, Any]:
        raise http.client.IncompleteRead(b"", 65)

    monkeypatch.setattr(process.admin, "http", cut_off)
    assert process.admin.health("http://127.0.0.1:9") is None
