"""A received subject that no header may hold is made one plain line; the answer still goes out."""

from __future__ import annotations

import base64
from email import message_from_bytes
from email.policy import default as default_policy

from sqlalchemy import select

from notifications.outbox.models import OutboundMessage
from tickets.models import Ticket


def _mail(subject: str) -> bytes:
    encoded = base64.b64encode(subject.encode("utf-8")).decode()
    return (
        "From: Kunde <kunde@beispiel.example>\r\n"
        "To: support@support.example.com\r\n"
        f"Subject: =?utf-8?b?{encoded}?=\r\n"
        "Message-ID: <steuerzeichen-1@beispiel.example>\r\n"
        "Date: Mon, 02 Mar 2026 09:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Unser Shop ist offline.\r\n"
    ).encode()


def test_control_characters_in_a_received_subject_become_spaces(deliver, runtime, work, smtp_sink):
    result = deliver(
        _mail("Shop\x01offline\u2028seit\x85heute\x7f!"), "--to", "support@support.example.com"
    )
    work()

    assert result.exit_code == 0
    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        acknowledgement = session.scalars(select(OutboundMessage)).one()
    assert ticket.subject == "Shop offline seit heute !"
    assert acknowledgement.state == "sent"
    [mail] = smtp_sink.wait_for(1)
    subject = message_from_bytes(mail.data, policy=default_policy)["Subject"]
    assert subject.endswith("Shop offline seit heute !")
