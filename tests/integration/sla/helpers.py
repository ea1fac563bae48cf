"""Arranging SLA scenarios: tickets at fixed instants, thread messages, status changes."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import select

from helpdesk.runtime import Runtime
from tests.support import ReceivedMail
from tickets.models import Ticket, TicketMessage
from tickets.sla.clock import apply_sla
from tickets.sla.models import SlaEscalation

BERLIN = ZoneInfo("Europe/Berlin")
WAWI = {"product_family": "JTL-Wawi", "component": "JTL-Wawi", "subject": "Abgleich hängt"}


def berlin(text: str) -> datetime:
    """A Berlin wall-clock time such as ``2026-03-30 08:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def clock_from(runtime: Runtime, ticket_id: int, created: datetime, **changes: object) -> None:
    """Move the ticket's filing time to ``created`` (and set ``changes``), then re-clock it."""
    with runtime.db.session() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.created_at = created
        for name, value in changes.items():
            setattr(ticket, name, value)
        ticket.paging_since = None
        apply_sla(session, ticket, created, reason="account")


def set_status(runtime: Runtime, ticket_id: int, status: str, at: datetime) -> None:
    with runtime.db.session() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.status = status
        apply_sla(session, ticket, at, reason="status")


def add_message(runtime: Runtime, ticket_id: int, kind: str, at: datetime, author: str) -> None:
    with runtime.db.session() as session:
        ticket = session.get_one(Ticket, ticket_id)
        session.add(
            TicketMessage(
                ticket_id=ticket_id,
                kind=kind,
                author=author,
                channel="web",
                body="Danke, wir sehen uns das an.",
                created_at=at,
            )
        )
        session.flush()
        apply_sla(session, ticket, at, reason=f"{kind}_reply")


def ticket(runtime: Runtime, ticket_id: int) -> Ticket:
    with runtime.db.session() as session:
        return session.get_one(Ticket, ticket_id)


def steps(runtime: Runtime, ticket_id: int) -> list[SlaEscalation]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(SlaEscalation)
                .where(SlaEscalation.ticket_id == ticket_id)
                .order_by(SlaEscalation.fire_at, SlaEscalation.id)
            )
        )


def mails_to(received: list[ReceivedMail], address: str) -> list[EmailMessage]:
    return [
        message_from_bytes(mail.data, policy=policy.default)  # type: ignore[misc]
        for mail in received
        if address in mail.rcpt_tos
    ]
