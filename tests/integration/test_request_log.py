"""Each request has an id (the proxy's when it is sane) in its response and on its log lines;
behind PROXY_HOPS proxies the client's address is the forwarded one."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re

import pytest

from helpdesk import logs
from helpdesk.app import create_app
from tests.integration.accounts.factories import csrf_token


@pytest.fixture
def json_lines():
    buffer = io.StringIO()
    handler = logs.handler("json", "web", buffer)
    logging.getLogger().addHandler(handler)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)


def test_the_proxys_request_id_is_answered_and_on_the_request_line(client, json_lines):
    response = client.get("/anmelden", headers={"X-Request-ID": "proxy-4711-abcdef"})

    assert response.headers["X-Request-ID"] == "proxy-4711-abcdef"
    [line] = [line for line in json_lines() if line["logger"] == "helpdesk.requests"]
    assert line["request_id"] == "proxy-4711-abcdef"
    assert line["message"].startswith("GET /anmelden 200")


def test_a_request_id_that_is_no_id_is_replaced(client):
    response = client.get("/anmelden", headers={"X-Request-ID": "<script>"})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


@pytest.mark.parametrize(("hops", "counted"), [(1, "203.0.113.7"), (0, "127.0.0.1")])
def test_sign_in_failures_count_the_forwarded_address_only_behind_proxies(settings, hops, counted):
    app = create_app(dataclasses.replace(settings, proxy_hops=hops))
    client = app.test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    token = csrf_token(client, "/anmelden")
    try:
        client.post(
            "/anmelden",
            data={"csrf_token": token, "email": "niemand@example.com", "password": "falsch"},
            headers=forwarded,
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        keys = {key.decode() for key in app.extensions["runtime"].redis.keys("signin:ip:*")}
    finally:
        app.extensions["runtime"].db.dispose()

    assert keys == {f"signin:ip:{counted}"}
