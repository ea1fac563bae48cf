"""Times people read are German wall-clock times with German names, wherever they are shown."""

from __future__ import annotations

import dataclasses
import re
import smtplib
from email import message_from_bytes
from email.utils import format_datetime, parsedate_to_datetime

from sqlalchemy import select

from accounts import invitations, users
from accounts.models import Invitation
from helpdesk.app import create_app
from helpdesk.devmail import MailStore, serve
from helpdesk.i18n import berlin
from helpdesk.listeners import listen
from tests.integration.accounts.factories import (
    csrf_token,
    make_account,
    make_customer,
    make_staff,
    sign_in,
)
from tests.integration.notifications.factories import make_mailing
from tests.integration.tickets.test_console import world

GERMAN_TIME = re.compile(r"\d\d\.\d\d\.\d{4} \d\d:\d\d")


def test_the_mail_as_sent_names_its_headers_in_german_and_its_date_in_berlin_time(
    app, runtime, work, smtp_sink
):
    _account, customer, _agent, _ticket = world(app, runtime)
    work()
    [acknowledgement] = smtp_sink.wait_for(1)
    sent = parsedate_to_datetime(message_from_bytes(acknowledgement.data)["Date"])
    history = customer.get("/e-mail-verlauf").get_data(as_text=True)
    [link] = re.findall(r'href="(/e-mail-verlauf/ticket/\d+)"', history)

    page = customer.get(link).get_data(as_text=True)

    assert f"<dt>Datum</dt><dd>{berlin(sent)}</dd>" in page
    for name in ("Von", "An", "Betreff"):
        assert f"<dt>{name}</dt>" in page
    assert format_datetime(sent) not in page and "+0000" not in page
    assert berlin(sent) in history


def test_the_local_mail_store_lists_and_shows_mail_in_berlin_time(settings):
    development = dataclasses.replace(settings, environment="development")
    app = create_app(development)
    controller = serve(MailStore(development.mail_store_dir), listen("127.0.0.1", 0, "port"))
    date = "Mon, 30 Nov 2026 13:05:00 +0000"
    try:
        with smtplib.SMTP("127.0.0.1", controller.port) as client:
            client.sendmail(
                "support@support.example.com",
                ["kunde@example.com"],
                f"Date: {date}\r\nSubject: Zugang\r\n\r\nText".encode(),
            )
    finally:
        controller.stop()
    client = app.test_client()
    local = {"REMOTE_ADDR": "127.0.0.1"}

    index = client.get("/dev/mail", environ_overrides=local).get_data(as_text=True)
    [link] = re.findall(r'href="(/dev/mail/[^"]+)"', index)
    shown = client.get(link, environ_overrides=local).get_data(as_text=True)

    assert GERMAN_TIME.search(index), "the time the store received the mail"
    assert "<th>Datum</th><td>30.11.2026 14:05</td>" in shown
    assert "<th>Betreff</th><td>Zugang</td>" in shown
    app.extensions["runtime"].db.dispose()


def test_an_open_invitation_expires_at_a_berlin_time(app, runtime):
    account = make_account(runtime)
    owner = make_customer(runtime, account, owner=True)
    invitations.invite(
        runtime,
        account_id=account.id,
        email="neu@beispiel.example",
        permissions=("customer.tickets",),
        inviter=users.get_user(runtime, owner.id),
    )
    with runtime.db.reading() as session:
        expires_at = session.scalar(select(Invitation.expires_at))
    client = app.test_client()
    sign_in(client, owner.email)

    page = client.get("/konto/benutzer").get_data(as_text=True)

    assert f"gültig bis {berlin(expires_at)} Uhr" in page
    assert "UTC" not in page


def test_scheduling_a_mailing_with_a_utc_time_confirms_it_in_berlin_time(app, runtime):
    mailing_id = make_mailing(runtime)
    client = app.test_client()
    sign_in(client, make_staff(runtime, "ops").email)

    page = client.post(
        f"/ops/mailings/{mailing_id}/schedule",
        data={
            "csrf_token": csrf_token(client, f"/ops/mailings/{mailing_id}"),
            "zeitpunkt": "2099-07-01T06:00+00:00",
        },
        follow_redirects=True,
    ).get_data(as_text=True)

    assert "Versand geplant für 01.07.2099 08:00 Uhr." in page
