"""The e-mail history shows a mailing as sent; bounces find their delivery record."""

from __future__ import annotations

from email import message_from_bytes

from notifications import history
from notifications.mailings import bounces
from notifications.mailings import services as mailing_services
from tests.integration.notifications.factories import (
    make_account,
    make_mailing,
    without_signatures,
)


def test_history_rebuilds_exactly_the_message_that_was_sent(runtime, work, smtp_sink, settings):
    account = make_account(runtime, first_contact="info@verlauf.example", company="Verlauf AG")
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()
    [mail] = smtp_sink.wait_for(1)

    with runtime.db.session() as session:
        [entry] = history.account_history(session, account.id)
        shown = history.message_as_sent(session, settings, account.id, entry.kind, entry.id)
        other = history.message_as_sent(session, settings, account.id + 1, entry.kind, entry.id)

    assert (entry.kind, entry.recipient, entry.state) == ("mailing", "info@verlauf.example", "sent")
    assert shown == without_signatures(mail.data)
    assert other is None


def test_verp_address_round_trips_and_a_forged_tag_is_ignored(settings):
    address = bounces.verp_address(settings, 4711)

    assert address.endswith("@support.example.com")
    assert bounces.parse_verp(settings, address) == 4711
    assert bounces.parse_verp(settings, address.upper()) == 4711
    assert bounces.parse_verp(settings, address.replace("4711", "4712")) is None
    assert bounces.parse_verp(settings, "bounce-4711-0000000000@support.example.com") is None
    assert (
        bounces.parse_verp(settings, address.replace("support.example.com", "evil.example")) is None
    )


def test_a_bounce_marks_the_record_by_verp_id_or_message_id(runtime, work, smtp_sink):
    make_account(runtime, first_contact="info@eins.example")
    make_account(runtime, first_contact="info@zwei.example")
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()
    first, second = smtp_sink.wait_for(2)
    message_id = message_from_bytes(second.data)["Message-ID"]
    delivery_id = bounces.parse_verp(runtime.settings, first.mail_from)

    with runtime.db.session() as session:
        by_verp = bounces.record_bounce(
            session, delivery_id=delivery_id, status="5.1.1", diagnostic="user unknown"
        )
        by_message_id = bounces.record_bounce(
            session, message_id=message_id, status="5.2.2", diagnostic="mailbox full"
        )
        unknown = bounces.record_bounce(session, message_id="<x@y>", status="5.0.0", diagnostic="")

    assert (by_verp, by_message_id, unknown) == (True, True, False)
    records = mailing_services.search_deliveries(runtime, mailing_id)
    assert [(r.state, r.smtp_reply) for r in records] == [
        ("bounced", "5.1.1 user unknown"),
        ("bounced", "5.2.2 mailbox full"),
    ]
