"""The local AWS finds the moto backend of a host once, not on every request."""

from __future__ import annotations

import pytest
from moto import backends
from moto.moto_server import werkzeug_app

from helpers.local.process import dispatcher_class

HOSTS = ("s3.us-west-2.amazonaws.com", "sagemaker.us-west-2.amazonaws.com", "iam.amazonaws.com")


def test_the_dispatcher_answers_as_motos_and_lists_its_folder_once_per_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = {
        h: werkzeug_app.DomainDispatcherApplication(lambda _: None).get_backend_for_host(h)
        for h in HOSTS
    }
    listings = []
    real = backends.list_of_moto_modules

    def counted() -> list[str]:
        listings.append(1)
        return list(real())

    monkeypatch.setattr(backends, "list_of_moto_modules", counted)
    dispatcher = dispatcher_class()(lambda _: None)
    for _ in range(3):
        assert {h: dispatcher.get_backend_for_host(h) for h in HOSTS} == expected
    assert expected["s3.us-west-2.amazonaws.com"] == "s3" and len(listings) == len(HOSTS)
