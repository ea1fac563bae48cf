"""The local mail store (it shows password-reset links) answers only locally, in development."""

from __future__ import annotations

import dataclasses

import pytest

from helpdesk.app import create_app


@pytest.fixture
def development_app(settings):
    app = create_app(dataclasses.replace(settings, environment="development"))
    yield app
    app.extensions["runtime"].db.dispose()


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1", "127.0.0.2"])
def test_the_mail_store_answers_the_loopback_interface(development_app, address):
    response = development_app.test_client().get(
        "/dev/mail", environ_overrides={"REMOTE_ADDR": address}
    )

    assert response.status_code == 200


@pytest.mark.parametrize("address", ["192.0.2.10", "2001:db8::1", "::ffff:192.0.2.10", "junk"])
def test_the_mail_store_is_not_found_from_another_address(development_app, address):
    client = development_app.test_client()

    for path in ("/dev/mail", "/dev/mail/20260101T000000000000-0123abcd"):
        response = client.get(path, environ_overrides={"REMOTE_ADDR": address})
        assert response.status_code == 404, path


@pytest.mark.parametrize("environment", ["production", "test"])
def test_the_mail_store_does_not_exist_outside_development(settings, environment):
    app = create_app(dataclasses.replace(settings, environment=environment))

    response = app.test_client().get("/dev/mail", environ_overrides={"REMOTE_ADDR": "127.0.0.1"})

    assert response.status_code == 404
    app.extensions["runtime"].db.dispose()
