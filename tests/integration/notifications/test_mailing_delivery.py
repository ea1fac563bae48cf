"""A mandatory mailing end to end: resolve, send through the worker, into the SMTP sink."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from helpdesk.db import utcnow
from notifications.mailings import dispatch
from notifications.mailings import services as mailing_services
from notifications.mailings.models import MailingDelivery
from tests.dkimcheck import verify_all_signatures
from tests.integration.notifications.factories import make_account, make_mailing


def _parsed(mail):
    return message_from_bytes(mail.data, policy=default_policy)


def test_each_address_gets_exactly_one_signed_mail_without_attachment(
    runtime, work, smtp_sink, settings
):
    make_account(
        runtime,
        first_contact="info@mueller.example",
        critical=("Chef@Mueller.example", "INFO@mueller.example"),
        others=("marketing@mueller.example",),
        emergency=("admin@mueller.example", "chef@mueller.example"),
    )
    make_account(runtime, first_contact="info@schmidt.example")
    mailing_id = make_mailing(runtime, purpose="outage")

    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()

    received = smtp_sink.wait_for(4)
    recipients = Counter(rcpt for mail in received for rcpt in mail.rcpt_tos)
    assert recipients == Counter(
        {
            "info@mueller.example": 1,
            "chef@mueller.example": 1,
            "admin@mueller.example": 1,
            "info@schmidt.example": 1,
        }
    )
    for mail in received:
        assert sorted(verify_all_signatures(mail.data, settings)) == [
            b"ed25519-sha256",
            b"rsa-sha256",
        ]
        message = _parsed(mail)
        assert all(
            part.get_content_maintype() == "text"
            for part in message.walk()
            if not part.is_multipart()
        )
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Message-ID"].endswith("@support.example.com>")
        assert mail.mail_from.startswith("bounce-")
    with runtime.db.session() as session:
        states = session.scalars(select(MailingDelivery.state)).all()
    assert states == ["sent"] * 4
    assert mailing_services.progress(runtime, mailing_id).finished


def _send(runtime, work, mailing_id):
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()


def _deliveries(runtime):
    with runtime.db.session() as session:
        return {d.address: d for d in session.scalars(select(MailingDelivery))}


def test_german_subject_and_company_are_encoded_and_arrive_intact(runtime, work, smtp_sink):
    make_account(runtime, first_contact="info@umlaut.example", company='Bäckerei "Süß" & Co <KG>')
    subject = "Wartungsfenster 4. Mai // Ausfälle Cloud TSE (Deutsche Fiskal)"
    _send(runtime, work, make_mailing(runtime, subject=subject, purpose="maintenance"))

    [mail] = smtp_sink.wait_for(1)
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert head.isascii(), "headers are RFC 2047 encoded"
    message = _parsed(mail)
    assert message["Subject"] == subject
    assert message.get_content_charset() is None  # multipart; the parts say utf-8
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'Firma: Bäckerei "Süß" & Co <KG>' in text
    assert "Bäckerei &#34;Süß&#34; &amp; Co &lt;KG&gt;" in html
    assert "Wichtiger Hinweis" in html and "background-color: #2C6FB7" in html
    assert "Abmeldung von Newslettern" in text and "niemals einen Anhang" in text


def test_follow_up_threads_with_the_message_each_address_received(runtime, work, smtp_sink):
    make_account(runtime, first_contact="info@thread.example")
    original = make_mailing(runtime)
    _send(runtime, work, original)
    [first] = smtp_sink.wait_for(1)
    follow_up = make_mailing(
        runtime, subject="Update: Fiskal Connector 2.1 verfügbar", follows_id=original
    )

    _send(runtime, work, follow_up)

    second = smtp_sink.wait_for(2)[1]
    original_id = _parsed(first)["Message-ID"]
    message = _parsed(second)
    assert message["In-Reply-To"] == original_id
    assert message["References"] == original_id
    assert "Folgemailing zu: DRINGEND" in message.get_body(("plain",)).get_content()


def test_follow_up_to_a_non_ascii_mailbox_travels_with_smtputf8_and_both_signatures_verify(
    runtime, work, smtp_sink, settings
):
    make_account(runtime, first_contact="jörg.größe@bäckerei.example")
    original = make_mailing(runtime)
    _send(runtime, work, original)
    follow_up = make_mailing(runtime, subject="Update: Connector 2.1", follows_id=original)

    _send(runtime, work, follow_up)

    first, second = smtp_sink.wait_for(2)
    assert second.rcpt_tos == ("jörg.größe@xn--bckerei-5wa.example",)
    assert "To: jörg.größe@xn--bckerei-5wa.example".encode() in second.data
    assert _parsed(second)["In-Reply-To"] == _parsed(first)["Message-ID"]
    for mail in (first, second):
        assert verify_all_signatures(mail.data, settings) == [b"ed25519-sha256", b"rsa-sha256"]


def test_temporary_failure_is_deferred_then_retried_once(runtime, work, smtp_sink):
    make_account(runtime, first_contact="info@retry.example")
    smtp_sink.replies.append("451 4.3.0 try again later")
    mailing_id = make_mailing(runtime)
    _send(runtime, work, mailing_id)

    record = _deliveries(runtime)["info@retry.example"]
    assert (record.state, record.attempts) == ("deferred", 1)
    assert record.smtp_reply.startswith("451")
    assert smtp_sink.received == []

    dispatch.tick(runtime, now=utcnow() + timedelta(hours=1))
    work()

    assert len(smtp_sink.wait_for(1)) == 1
    record = _deliveries(runtime)["info@retry.example"]
    assert (record.state, record.attempts) == ("sent", 2)
    dispatch.tick(runtime, now=utcnow() + timedelta(days=1))
    work()
    assert len(smtp_sink.received) == 1
    assert mailing_services.get_mailing(runtime, mailing_id).state == "done"


def test_permanent_failure_is_recorded_and_never_retried(runtime, work, smtp_sink):
    make_account(runtime, first_contact="weg@gone.example")
    make_account(runtime, first_contact="info@ok.example")
    smtp_sink.replies.append("550 5.1.1 mailbox unavailable")
    _send(runtime, work, make_mailing(runtime))
    dispatch.tick(runtime, now=utcnow() + timedelta(days=1))
    work()

    records = _deliveries(runtime)
    assert records["weg@gone.example"].state == "failed"
    assert records["weg@gone.example"].smtp_reply.startswith("550")
    assert records["info@ok.example"].state == "sent"
    assert [m.rcpt_tos for m in smtp_sink.received] == [("info@ok.example",)]


@pytest.mark.parametrize("replies", [["421 4.3.2 shutting down"], ["250 OK", "drop"]])
def test_421_or_a_dropped_connection_defers_the_message_in_hand_and_the_batch_goes_on(
    runtime, work, smtp_sink, replies
):
    for n in range(4):
        make_account(runtime, first_contact=f"info@drop{n}.example")
    smtp_sink.replies.extend(replies)
    _send(runtime, work, make_mailing(runtime))

    records = _deliveries(runtime)
    assert Counter(r.state for r in records.values()) == {"sent": 3, "deferred": 1}
    [deferred] = [r for r in records.values() if r.state == "deferred"]
    assert deferred.attempts == 1
    assert smtp_sink.connections == 2, "one new connection after the loss"

    dispatch.tick(runtime, now=utcnow() + timedelta(hours=1))
    work()
    received = Counter(rcpt for mail in smtp_sink.wait_for(4) for rcpt in mail.rcpt_tos)
    assert received == Counter({f"info@drop{n}.example": 1 for n in range(4)})


def test_cancel_stops_what_has_not_been_sent(runtime, work, smtp_sink):
    for n in range(3):
        make_account(runtime, first_contact=f"info@cancel{n}.example")
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")

    mailing_services.cancel(runtime, mailing_id)
    work()

    assert smtp_sink.received == []
    assert {r.state for r in _deliveries(runtime).values()} == {"cancelled"}


def test_pause_holds_the_records_and_resume_sends_them(runtime, work, smtp_sink):
    for n in range(3):
        make_account(runtime, first_contact=f"info@pause{n}.example")
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")

    mailing_services.pause(runtime, mailing_id)
    work()
    assert smtp_sink.received == []
    assert {r.state for r in _deliveries(runtime).values()} == {"queued"}

    mailing_services.resume(runtime, mailing_id)
    work()
    assert len(smtp_sink.wait_for(3)) == 3
    assert mailing_services.progress(runtime, mailing_id).counts["sent"] == 3


@pytest.mark.parametrize(
    "settings",
    [{"mailing_domain_rate": 0.2}],
    indirect=True,  # one message per 5 s to a domain
)
def test_domain_throttle_defers_what_it_cannot_send_soon(runtime, work, smtp_sink):
    make_account(runtime, first_contact="info@gross.example", critical=("it@gross.example",))
    make_account(runtime, first_contact="info@klein.example")
    _send(runtime, work, make_mailing(runtime))

    records = _deliveries(runtime)
    states = Counter((r.domain, r.state) for r in records.values())
    assert states == {
        ("gross.example", "sent"): 1,
        ("gross.example", "deferred"): 1,
        ("klein.example", "sent"): 1,
    }
    [throttled] = [r for r in records.values() if r.state == "deferred"]
    assert (throttled.smtp_reply, throttled.attempts) == ("throttled", 0)


@pytest.mark.parametrize(
    "settings",
    [{"mailing_domain_rate": 2}],
    indirect=True,  # one message per 0.5 s to a domain: three fit within the throttle's wait
)
def test_an_accounts_addresses_on_one_domain_are_spaced_by_the_domain_rate(
    runtime, work, smtp_sink
):
    make_account(
        runtime,
        first_contact="info@takt.example",
        critical=("it@takt.example", "chef@takt.example"),
    )
    mailing_id = make_mailing(runtime)
    _send(runtime, work, mailing_id)

    records = _deliveries(runtime).values()
    started = mailing_services.get_mailing(runtime, mailing_id).started_at
    assert [r.state for r in records] == ["sent"] * 3
    assert max(r.message_date for r in records) - started >= timedelta(seconds=1)


@pytest.mark.parametrize(
    "settings",
    [
        {
            "mailing_domain_rate": 0,
            "mailing_providers_path": Path(__file__).parent / "slow_providers.yaml",
        }
    ],
    indirect=True,  # GMX and WEB.DE: one provider, one message per 5 s over both
)
def test_provider_throttle_spans_the_domains_of_one_provider(runtime, work, smtp_sink):
    make_account(runtime, first_contact="kunde@gmx.de")
    make_account(runtime, first_contact="kunde@web.de")
    make_account(runtime, first_contact="kunde@t-online.de")
    _send(runtime, work, make_mailing(runtime))

    states = Counter((r.domain, r.state) for r in _deliveries(runtime).values())
    assert states[("t-online.de", "sent")] == 1
    assert states[("gmx.de", "sent")] + states[("web.de", "sent")] == 1
    assert states[("gmx.de", "deferred")] + states[("web.de", "deferred")] == 1
