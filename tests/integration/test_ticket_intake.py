"""Filing a ticket over the JSON API and receiving the signed acknowledgement."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlalchemy import select

from notifications.outbox.models import OutboundMessage
from notifications.outbox.services import deliver
from tests.dkimcheck import verify_all_signatures
from tests.integration.tickets.factories import customer_token
from tickets.models import Ticket

LOCKED_ACCESS = {
    "reply_to": "  Buchhaltung@Müller-Handel.example ",
    "product_family": "JTL-Kundenkonto",
    "component": "Fragen zu Firmendaten/Kundenkonto",
    "subject": "Zugang gesperrt",
    "text": "Unsere Lizenz ist gesperrt.",
    "priority": "low",
}


@pytest.fixture
def client(app, runtime):
    """A client that files as a customer user, with an API token of ``customer.tickets``."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {customer_token(runtime)}"
    return client


def test_filing_without_a_token_is_refused_with_401(app):
    response = app.test_client().post("/api/v1/tickets", json=LOCKED_ACCESS)

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


def test_locked_access_ticket_is_stored_routed_to_accounting_with_high_priority(client, runtime):
    response = client.post("/api/v1/tickets", json=LOCKED_ACCESS)

    assert response.status_code == 201
    body = response.get_json()
    assert body["number"].startswith("HD-")
    assert body["queue"] == "accounting"
    assert body["priority"] == "high"
    assert body["requested_priority"] == "low"
    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert ticket.number == body["number"]
        assert ticket.reply_to == "Buchhaltung@müller-handel.example"
        assert ticket.routing_rule == body["routing"]["rule"]
        assert [event.action for event in ticket.events] == ["created"]


def test_bad_fields_are_named_in_a_422_and_nothing_is_stored(client, runtime):
    response = client.post(
        "/api/v1/tickets",
        json={
            "reply_to": "kein-mailkonto",
            "product_family": "JTL-Kundenkonto",
            "component": "Gibt es nicht",
            "subject": "Zeile 1\r\nBcc: opfer@example.com",
            "priority": "dringend",
        },
    )

    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"reply_to", "component", "subject", "text", "priority"}
    with runtime.db.session() as session:
        assert session.scalars(select(Ticket)).all() == []
        assert session.scalars(select(OutboundMessage)).all() == []


def test_non_json_body_is_refused_with_400(client):
    response = client.post("/api/v1/tickets", data="subject=x", content_type="text/plain")

    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"


def test_acknowledgement_arrives_in_german_and_both_dkim_signatures_verify(
    client, work, smtp_sink, settings
):
    number = client.post("/api/v1/tickets", json=LOCKED_ACCESS).get_json()["number"]

    work()

    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ("Buchhaltung@xn--mller-handel-dlb.example",)
    assert mail.mail_from == "support@support.example.com"
    assert sorted(verify_all_signatures(mail.data, settings)) == [b"ed25519-sha256", b"rsa-sha256"]
    message = message_from_bytes(mail.data, policy=default_policy)
    assert message["Subject"] == f"[{number}] Ihre Supportanfrage: Zugang gesperrt"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@support.example.com>")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"unter der Nummer {number} erfasst" in text
    assert "Priorität:    Hoch" in text, "the priority by its German label, not its id"
    assert f"<strong>{number}</strong>" in html
    assert ">Hoch</td>" in html
    assert b"\n" not in mail.data.replace(b"\r\n", b""), "every line ends in CRLF"


def test_running_the_acknowledgement_job_again_sends_nothing_more(client, work, smtp_sink, runtime):
    client.post("/api/v1/tickets", json=LOCKED_ACCESS)
    work()
    smtp_sink.wait_for(1)
    with runtime.db.session() as session:
        outbound = session.scalars(select(OutboundMessage)).one()

    assert deliver(runtime, outbound.id) == "sent"
    assert len(smtp_sink.received) == 1


def test_temporary_smtp_failure_defers_and_the_retry_sends_once(client, work, smtp_sink, runtime):
    smtp_sink.replies.append("451 4.3.0 try again later")
    client.post("/api/v1/tickets", json=LOCKED_ACCESS)
    with runtime.db.session() as session:
        outbound_id = session.scalars(select(OutboundMessage.id)).one()

    work()  # first attempt fails; RQ schedules the retry
    with runtime.db.session() as session:
        outbound = session.get(OutboundMessage, outbound_id)
        assert outbound.state == "deferred"
        assert outbound.smtp_reply.startswith("451")
    assert smtp_sink.received == []

    assert deliver(runtime, outbound_id) == "sent"
    assert len(smtp_sink.received) == 1


def test_permanent_smtp_failure_is_recorded_and_not_retried(client, work, smtp_sink, runtime):
    smtp_sink.replies.append("550 5.1.1 mailbox unavailable")
    client.post("/api/v1/tickets", json=LOCKED_ACCESS)

    work()

    with runtime.db.session() as session:
        outbound = session.scalars(select(OutboundMessage)).one()
    assert outbound.state == "failed"
    assert outbound.smtp_reply.startswith("550")
    assert deliver(runtime, outbound.id) == "failed"
    assert smtp_sink.received == []


def test_acknowledgement_lost_with_redis_is_recovered_by_the_outbox_sweep(
    client, work, smtp_sink, runtime
):
    client.post("/api/v1/tickets", json=LOCKED_ACCESS)
    runtime.redis.flushdb()  # the enqueued job is gone, as if Redis had lost it
    with runtime.db.session() as session:
        outbound = session.scalars(select(OutboundMessage)).one()
        outbound.updated_at = outbound.updated_at.replace(year=2000)

    from notifications.outbox.services import requeue_stale

    assert requeue_stale(runtime) == [outbound.id]
    work()
    assert len(smtp_sink.wait_for(1)) == 1


def test_acknowledgement_to_a_non_ascii_mailbox_travels_with_smtputf8(
    client, work, smtp_sink, settings
):
    client.post("/api/v1/tickets", json={**LOCKED_ACCESS, "reply_to": "jörg.größe@example.com"})

    work()

    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ("jörg.größe@example.com",)
    assert "To: jörg.größe@example.com".encode() in mail.data
    assert len(verify_all_signatures(mail.data, settings)) == 2
