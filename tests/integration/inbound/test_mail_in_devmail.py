"""`make run`'s local SMTP server hands mail for the support mailboxes to the LMTP server."""

from __future__ import annotations

import logging
import smtplib

import pytest
from sqlalchemy import select

from helpdesk.devmail import LmtpRelay, MailStore, serve
from helpdesk.listeners import listen
from tests.corpus import load
from tests.support import wait_until
from tickets.models import Ticket


@pytest.fixture
def dev_smtp(lmtp, settings, tmp_path):
    relay = LmtpRelay(lmtp.host, lmtp.port, settings.support_mailboxes, settings.mail_domain)
    store = MailStore(tmp_path / "mail")
    controller = serve(store, listen("127.0.0.1", 0, "port"), relay)
    yield store, controller.port
    controller.stop()


def ticket_count(runtime) -> int:
    with runtime.db.session() as session:
        return len(session.scalars(select(Ticket)).all())


def test_mail_to_the_support_address_in_development_becomes_a_ticket(dev_smtp, runtime):
    store, port = dev_smtp

    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(
            "j.mueller@mueller-handel.example",
            ["support@support.example.com"],
            load("outlook_new_request_de.eml"),
        )

    wait_until(lambda: ticket_count(runtime) == 1, what="the ticket from dev mail")
    assert len(store.names()) == 1


def test_mail_to_anyone_else_is_only_stored(dev_smtp, runtime):
    store, port = dev_smtp

    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail(
            "j.mueller@mueller-handel.example",
            ["kunde@example.com"],
            load("outlook_new_request_de.eml"),
        )
        # The same message to a support address afterwards: once its ticket exists, the relay
        # has dealt with the first message too, so a ticket from it would show by now.
        client.sendmail(
            "j.mueller@mueller-handel.example",
            ["support@support.example.com"],
            load("outlook_new_request_de.eml").replace(b"new-1@", b"new-2@"),
        )

    wait_until(lambda: ticket_count(runtime) >= 1, what="the ticket from the support address")
    assert len(store.names()) == 2
    assert ticket_count(runtime) == 1


def test_the_relay_takes_mailboxes_and_bounce_addresses_only(settings):
    relay = LmtpRelay("127.0.0.1", 1, settings.support_mailboxes, settings.mail_domain)

    assert relay.takes("Support@Support.Example.com")
    assert relay.takes("buchhaltung@jtl-software.de")
    assert relay.takes("bounce-12-abcdef0123@support.example.com")
    assert not relay.takes("bounce-12-abcdef0123@elsewhere.example")
    assert not relay.takes("kunde@example.com")


def test_the_mail_store_does_not_log_each_smtp_command(settings, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    controller = serve(MailStore(tmp_path / "mail"), listen("127.0.0.1", 0, "port"))
    port = controller.port
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail(
                "support@support.example.com", ["kunde@example.com"], b"Subject: x\r\n\r\nx"
            )
    finally:
        controller.stop()

    assert [r.getMessage() for r in caplog.records if r.name.startswith("mail.log")] == []
