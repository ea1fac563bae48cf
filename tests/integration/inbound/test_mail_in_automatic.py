"""Automatic mail never opens tickets nor gets answers; bounces mark their delivery records."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from notifications.mailings import bounces
from notifications.outbox.models import OutboundMessage
from tests.corpus import load
from tests.integration.inbound.factories import delivery_state, make_delivery
from tickets.models import Ticket, TicketEvent


def count(runtime, model) -> int:
    with runtime.db.session() as session:
        return len(session.scalars(select(model)).all())


@pytest.mark.parametrize(
    "name",
    [
        "out_of_office_de.eml",
        "autoreply_header_only.eml",
        "out_of_office_subject_only.eml",
        "precedence_bulk_newsletter.eml",
        "loop_from_ourselves.eml",
        "read_receipt.eml",
    ],
)
def test_automatic_mail_opens_no_ticket_and_sends_nothing(deliver, runtime, name):
    result = deliver(load(name))

    assert result.exit_code == 0
    assert result.outcome["action"] == "ignored"
    assert count(runtime, Ticket) == 0
    assert count(runtime, OutboundMessage) == 0


def test_mail_with_a_null_envelope_sender_is_not_answered(deliver, runtime):
    result = deliver(load("outlook_new_request_de.eml"), "--from", "<>")

    assert result.outcome == {
        "action": "ignored",
        "reason": "automatic: null envelope sender",
        "ticket": None,
    }


def test_acknowledgements_stop_at_the_hourly_limit_per_sender(deliver, runtime):
    raw = load("outlook_new_request_de.eml")
    results = [
        deliver(
            raw.replace(b"outlook-new-1@", f"outlook-new-1-{n}@".encode()),
            env={"MAIL_IN_ACKS_PER_HOUR": "2"},
        )
        for n in range(3)
    ]

    assert [r.outcome["action"] for r in results] == ["created"] * 3
    assert "no acknowledgement" in results[2].outcome["reason"]
    assert count(runtime, OutboundMessage) == 2


def test_a_sender_over_the_ticket_limit_is_told_to_try_later(deliver, runtime):
    raw = load("outlook_new_request_de.eml")
    limit = {"MAIL_IN_TICKETS_PER_HOUR": "2"}
    results = [
        deliver(raw.replace(b"outlook-new-1@", f"storm-{n}@".encode()), env=limit) for n in range(3)
    ]

    assert [r.exit_code for r in results] == [0, 0, 75]
    assert "451 4.7.1" in results[2].stderr
    assert count(runtime, Ticket) == 2


def test_a_bounce_to_the_verp_address_marks_the_mailing_delivery_bounced(
    deliver, runtime, settings
):
    _mailing_id, delivery_id = make_delivery(runtime)
    verp = bounces.verp_address(settings, delivery_id)

    result = deliver(
        load("dsn_mailing_bounce.eml", VERP=verp, ORIGINAL_ID="<elsewhere@example.com>"),
        "--to",
        verp,
        "--from",
        "",
    )

    assert result.outcome["action"] == "bounce"
    reason = f"mailing delivery {delivery_id} marked bounced (5.1.1, hard)"
    assert result.outcome["reason"] == reason
    state, reply = delivery_state(runtime, delivery_id)
    assert state == "bounced"
    assert reply.startswith("5.1.1 smtp; 550 5.1.1 <alt@kunde.example>")
    assert count(runtime, Ticket) == 0


def test_a_bounce_quoting_the_mailing_message_id_marks_the_delivery(deliver, runtime, settings):
    mailing_id, delivery_id = make_delivery(runtime)
    original = bounces.message_id(settings, mailing_id, delivery_id)

    result = deliver(load("dsn_mailing_bounce.eml", VERP=settings.mail_from, ORIGINAL_ID=original))

    assert result.outcome["action"] == "bounce"
    assert delivery_state(runtime, delivery_id)[0] == "bounced"


def test_a_delay_report_changes_nothing(deliver, runtime):
    result = deliver(load("dsn_delayed.eml"))

    assert result.outcome["action"] == "bounce"
    assert result.outcome["reason"].startswith("delay warning (4.4.1): nothing marked")
    assert count(runtime, Ticket) == 0


@pytest.mark.parametrize("name", ["dsn_ticket_mail_bounce.eml", "plain_bounce_qmail.eml"])
def test_a_bounced_acknowledgement_fails_its_outbox_row_and_tells_the_ticket(
    deliver, runtime, name
):
    deliver(load("outlook_new_request_de.eml"))
    with runtime.db.session() as session:
        acknowledgement = session.scalars(select(OutboundMessage)).one()

    result = deliver(load(name, ORIGINAL_ID=acknowledgement.message_id))
    again = deliver(load(name, ORIGINAL_ID=acknowledgement.message_id))

    assert result.outcome["action"] == "bounce"
    assert result.outcome["ticket"] == "HD-000001"
    assert "already recorded" in again.outcome["reason"]
    with runtime.db.session() as session:
        outbound = session.get(OutboundMessage, acknowledgement.id)
        assert outbound.state == "failed"
        assert outbound.smtp_reply.startswith("bounced: 5.1.")
        [event] = session.scalars(
            select(TicketEvent).where(TicketEvent.action == "mail_bounced")
        ).all()
        assert event.changes["recipient"] == ["j.mueller@mueller-handel.example", None]
    assert count(runtime, Ticket) == 1


def test_a_reply_to_a_mandatory_mailing_opens_a_ticket_linked_to_it(deliver, runtime, settings):
    mailing_id, delivery_id = make_delivery(runtime, "max@mustermann-gmbh.example")
    original = bounces.message_id(settings, mailing_id, delivery_id)

    result = deliver(load("reply_to_mailing_de.eml", ORIGINAL_ID=original))

    assert result.outcome["action"] == "created"
    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert ticket.mailing_id == mailing_id
    assert ticket.account_id is not None
