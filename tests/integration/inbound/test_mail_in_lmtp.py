"""The LMTP door over a real socket: per-recipient replies, size limit, refusals, bounces."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import select

from notifications.mailings import bounces
from notifications.outbox.models import OutboundMessage
from tests.corpus import load
from tests.integration.inbound.conftest import serve_lmtp
from tests.integration.inbound.factories import delivery_state, make_delivery
from tickets.inbound import quarantine
from tickets.models import Ticket

SUPPORT = "support@support.example.com"
ACCOUNTING = "buchhaltung@jtl-software.de"


@pytest.fixture
def small_lmtp(settings, runtime):
    yield from serve_lmtp(settings, mail_in_max_bytes=4096)


def test_a_message_becomes_a_ticket_and_is_acknowledged(lmtp, runtime, work, smtp_sink):
    replies, refused = lmtp.send(load("outlook_new_request_de.eml"), [SUPPORT])

    assert refused == {}
    [(code, text)] = replies
    assert code == 250
    assert text.startswith("2.0.0 created HD-000001: new ticket in queue triage")
    work()
    [acknowledgement] = smtp_sink.wait_for(1)
    assert acknowledgement.rcpt_tos == ("j.mueller@mueller-handel.example",)


def test_each_recipient_gets_its_own_reply_and_the_message_one_ticket(lmtp, runtime):
    replies, _ = lmtp.send(load("death_certificate_to_accounting.eml"), [ACCOUNTING, SUPPORT])

    assert [code for code, _ in replies] == [250, 250]
    assert replies[0][1].startswith("2.0.0 created HD-000001")
    assert replies[1][1].startswith("2.0.0 ignored HD-000001: duplicate")
    with runtime.db.session() as session:
        [ticket] = session.scalars(select(Ticket)).all()
    assert ticket.queue == "accounting"


def test_a_foreign_recipient_is_refused_at_rcpt(lmtp):
    replies, refused = lmtp.send(load("outlook_new_request_de.eml"), ["info@elsewhere.example"])

    assert replies == []
    assert refused["info@elsewhere.example"][0] == 550
    assert refused["info@elsewhere.example"][1].startswith("5.1.1")


def test_an_announced_oversized_message_is_refused_at_mail_from(small_lmtp):
    client = small_lmtp.client()
    try:
        code, text = client.mail("kunde@example.com", ["SIZE=999999"])
    finally:
        client.quit()

    assert (code, text.decode()) == (552, "5.3.4 Message size exceeds fixed maximum message size")


def test_an_oversized_message_is_refused_after_data_once_per_recipient(small_lmtp, runtime):
    raw = load("outlook_new_request_de.eml") + b"Anhang\r\n" * 1000

    replies, _ = small_lmtp.send(raw, [SUPPORT, ACCOUNTING])

    assert replies == [(552, "5.3.4 Message size exceeds fixed maximum message size")] * 2
    with runtime.db.session() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_an_overlong_line_is_refused_once_per_recipient(lmtp):
    raw = load("outlook_new_request_de.eml") + b"x" * 2000 + b"\r\n"

    replies, _ = lmtp.send(raw, [SUPPORT, ACCOUNTING])

    assert [code for code, _ in replies] == [500, 500]


def test_a_malformed_message_is_refused_permanently_and_kept(lmtp, settings):
    replies, _ = lmtp.send(load("malformed_no_from.eml"), [SUPPORT])

    [(code, text)] = replies
    assert code == 550
    assert text.startswith("5.6.0 malformed message (no From header); kept in quarantine as")
    [(name, record)] = quarantine.entries(settings)
    assert name in text
    assert record["mailbox"] == SUPPORT


def test_auto_replies_are_taken_and_answered_by_nobody(lmtp, runtime):
    replies, _ = lmtp.send(load("out_of_office_de.eml"), [SUPPORT])

    assert replies == [(250, "2.0.0 ignored: automatic: Auto-Submitted: auto-replied")]
    with runtime.db.session() as session:
        assert session.scalars(select(OutboundMessage)).all() == []


def test_many_messages_on_one_connection(lmtp, runtime):
    client = lmtp.client()
    raw = load("outlook_new_request_de.eml")
    try:
        for n in range(5):
            client.sendmail(
                "kunde@example.com", [SUPPORT], raw.replace(b"new-1@", f"conn-{n}@".encode())
            )
    finally:
        client.quit()

    with runtime.db.session() as session:
        assert len(session.scalars(select(Ticket)).all()) == 5


def test_smtplib_reports_a_refused_single_recipient(lmtp):
    client = lmtp.client()
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("kunde@example.com", [SUPPORT], load("malformed_bad_from.eml"))
    finally:
        client.quit()

    assert refused.value.smtp_code == 550


def test_a_bounce_to_a_verp_address_is_accepted_and_marks_the_delivery(lmtp, runtime, settings):
    _mailing, delivery_id = make_delivery(runtime)
    verp = bounces.verp_address(settings, delivery_id)
    raw = load("dsn_mailing_bounce.eml", VERP=verp, ORIGINAL_ID="<other@example.com>")

    replies, refused = lmtp.send(raw, [verp], sender="")

    assert refused == {}
    assert replies == [
        (250, f"2.0.0 bounce: mailing delivery {delivery_id} marked bounced (5.1.1, hard)")
    ]
    assert delivery_state(runtime, delivery_id)[0] == "bounced"


def test_a_forged_verp_address_is_refused_at_rcpt(lmtp, settings):
    _, refused = lmtp.send(
        load("outlook_new_request_de.eml"), ["bounce-1-0000000000@support.example.com"]
    )

    assert refused["bounce-1-0000000000@support.example.com"][0] == 550
