"""Passwort vergessen: the mailed link sets a new password once, in time, and ends sessions."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import select, update

from accounts import users
from accounts.models import AuditEntry, PasswordReset
from helpdesk.db import utcnow
from tests.integration.accounts.factories import (
    attempt_sign_in,
    csrf_token,
    make_account,
    make_customer,
    sign_in,
)

FORGOT = "/anmelden/passwort-vergessen"
NEW_PASSWORD = "Ganz-neues-Passwort-7"


def _request_link(client: FlaskClient, email: str):
    return client.post(FORGOT, data={"csrf_token": csrf_token(client, FORGOT), "email": email})


def _mailed_link(smtp_sink, work, count: int = 1) -> str:
    work("mail")
    mail = smtp_sink.wait_for(count)[-1]
    message = message_from_bytes(mail.data, policy=policy.SMTP)
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://127\.0\.0\.1:8000(/anmelden/passwort-neu/\S+)", text).group(1)


def _flashes(client: FlaskClient) -> str:
    page = client.get("/anmelden").get_data(as_text=True)
    match = re.search(r'<div class="flashes".*?</div>', page, re.DOTALL)
    return match.group(0) if match else ""


def _set_password(client: FlaskClient, link: str, password: str = NEW_PASSWORD):
    form = {"csrf_token": csrf_token(client, link), "password": password}
    return client.post(link, data=form | {"password_repeat": password})


def test_mailed_link_sets_a_new_password_and_the_old_one_stops_working(
    app, runtime, work, smtp_sink
):
    user = make_customer(runtime, make_account(runtime))
    client = app.test_client()

    requested = _request_link(client, user.email)
    link = _mailed_link(smtp_sink, work)
    changed = _set_password(client, link)

    [mail] = smtp_sink.received
    message = message_from_bytes(mail.data, policy=policy.SMTP)
    assert requested.status_code == 302
    assert mail.rcpt_tos == (user.email,)
    assert message["Subject"] == "Ihr neues Passwort für das Kundencenter"
    assert changed.status_code == 302
    assert changed.headers["Location"] == "/anmelden"
    assert attempt_sign_in(app.test_client(), user.email).status_code == 401
    sign_in(app.test_client(), user.email, NEW_PASSWORD)
    with runtime.db.session() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == user.id)
        ).all()
    assert "user.password_reset" in actions


def test_reset_link_works_once(app, runtime, work, smtp_sink):
    user = make_customer(runtime, make_account(runtime))
    client = app.test_client()
    _request_link(client, user.email)
    link = _mailed_link(smtp_sink, work)
    _set_password(client, link)

    reused = app.test_client().get(link)

    assert reused.status_code == 404
    assert "nicht mehr gültig" in reused.get_data(as_text=True)


def test_expired_reset_link_is_refused(app, runtime, work, smtp_sink):
    user = make_customer(runtime, make_account(runtime))
    client = app.test_client()
    _request_link(client, user.email)
    link = _mailed_link(smtp_sink, work)
    with runtime.db.session() as session:
        session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))

    expired = client.get(link)

    assert expired.status_code == 404
    assert "nicht mehr gültig" in expired.get_data(as_text=True)
    sign_in(app.test_client(), user.email)


def test_unknown_address_gets_the_same_answer_and_no_mail(app, runtime, work, smtp_sink):
    user = make_customer(runtime, make_account(runtime))
    known_client, unknown_client = app.test_client(), app.test_client()

    known = _request_link(known_client, user.email)
    unknown = _request_link(unknown_client, "niemand@kunde.example")
    work("mail")
    known_answer, unknown_answer = _flashes(known_client), _flashes(unknown_client)

    assert (unknown.status_code, unknown.headers["Location"]) == (
        known.status_code,
        known.headers["Location"],
    )
    assert unknown_answer == known_answer
    assert "Wenn zu dieser E-Mail-Adresse ein Zugang besteht" in known_answer
    assert [mail.rcpt_tos for mail in smtp_sink.wait_for(1)] == [(user.email,)]


def test_reset_signs_out_other_sessions(app, runtime, work, smtp_sink):
    user = make_customer(runtime, make_account(runtime))
    elsewhere = app.test_client()
    sign_in(elsewhere, user.email)
    client = app.test_client()
    _request_link(client, user.email)

    _set_password(client, _mailed_link(smtp_sink, work))

    assert elsewhere.get("/konto").status_code == 302


def test_a_used_link_voids_the_users_other_open_links(app, runtime, work, smtp_sink):
    user = make_customer(runtime, make_account(runtime))
    client = app.test_client()
    _request_link(client, user.email)
    older = _mailed_link(smtp_sink, work)
    _request_link(client, user.email)
    newer = _mailed_link(smtp_sink, work, count=2)

    _set_password(client, newer)

    assert client.get(older).status_code == 404


def test_two_factor_sign_in_still_applies_after_a_reset(app, runtime, work, smtp_sink):
    user = make_customer(runtime, make_account(runtime))
    secret = pyotp.random_base32()
    users.enable_totp(runtime, user.id, secret, pyotp.TOTP(secret).now())
    client = app.test_client()
    _request_link(client, user.email)

    _set_password(client, _mailed_link(smtp_sink, work))

    signed_in = attempt_sign_in(app.test_client(), user.email, NEW_PASSWORD)
    assert signed_in.headers["Location"] == "/anmelden/code"


def test_new_password_must_follow_the_password_rules(app, runtime, work, smtp_sink):
    user = make_customer(runtime, make_account(runtime))
    client = app.test_client()
    _request_link(client, user.email)
    link = _mailed_link(smtp_sink, work)

    refused = _set_password(client, link, "zu-kurz")

    assert refused.status_code == 200
    assert "mindestens 12 Zeichen" in refused.get_data(as_text=True)
    assert client.get(link).status_code == 200


def test_reset_requests_are_limited_per_address(app, runtime):
    user = make_customer(runtime, make_account(runtime))

    answers = [_request_link(app.test_client(), user.email).status_code for _ in range(4)]

    assert answers == [302, 302, 302, 429]


def test_sign_in_page_links_to_the_reset_form(client):
    page = client.get("/anmelden").get_data(as_text=True)

    assert f'href="{FORGOT}"' in page
