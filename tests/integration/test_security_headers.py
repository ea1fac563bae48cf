"""Every answer carries the security headers; pages run no inline script; cookies fit."""

from __future__ import annotations

import dataclasses
import re

import pytest

from helpdesk.app import create_app
from tests.integration.accounts.factories import (
    attempt_sign_in,
    make_account,
    make_customer,
    make_staff,
    sign_in,
)

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def _get_paths(app, customer_number: str) -> list[str]:
    values = {"customer_number": customer_number, "filename": "site.css", "purpose": "emergency"}
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/dev/"):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = re.sub(rf"<(?:\w+:)?{name}>", values.get(name, "1"), path)
        paths.append(path)
    return sorted(paths)


@pytest.mark.parametrize("who", ["anonymous", "customer", "admin"])
def test_every_answer_has_the_security_headers_and_no_inline_script(app, runtime, who):
    account = make_account(runtime)
    client = app.test_client()
    if who == "customer":
        sign_in(client, make_customer(runtime, account, owner=True).email)
    elif who == "admin":
        sign_in(client, make_staff(runtime, "admin").email)
    problems = []
    pages = 0
    for path in _get_paths(app, account.customer_number):
        response = client.get(path)
        policy = response.headers.get("Content-Security-Policy", "")
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
        if (
            directives.get("script-src") != "'self'"
            or directives.get("frame-ancestors") != "'none'"
        ):
            problems.append((path, "Content-Security-Policy", policy))
        if response.headers.get("Referrer-Policy") != "same-origin":
            problems.append((path, "Referrer-Policy", response.headers.get("Referrer-Policy")))
        if "Strict-Transport-Security" in response.headers:
            problems.append((path, "HSTS over http", ""))
        if response.mimetype == "text/html":
            pages += 1
            page = response.get_data(as_text=True)
            if INLINE_SCRIPT.search(page) or EVENT_HANDLER.search(page):
                problems.append((path, "inline script", ""))
    assert problems == []
    assert pages >= (1 if who == "anonymous" else 5)  # the walk did look at pages


def test_https_adds_hsts_and_secure_session_cookies(settings, runtime):
    app = create_app(dataclasses.replace(settings, public_url="https://support.example.com"))
    user = make_staff(app.extensions["runtime"], "agent", queues=("support",))
    client = app.test_client()

    response = attempt_sign_in(client, user.email)
    assert response.status_code == 302

    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {part.strip() for part in cookie.split(";")}
    app.extensions["runtime"].db.dispose()


def test_over_http_the_session_cookie_is_httponly_and_samesite(app, runtime):
    user = make_staff(runtime, "agent", queues=("support",))

    response = attempt_sign_in(app.test_client(), user.email)
    assert response.status_code == 302

    parts = {part.strip() for part in response.headers["Set-Cookie"].split(";")}
    assert {"HttpOnly", "SameSite=Lax"} <= parts
    assert "Secure" not in parts
