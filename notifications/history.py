"""An account's e-mail history ("E-Mail-Verlauf"): every mail sent to it, as it was sent.

Storage decision: a mandatory mailing keeps its rendered skeleton once (on the mailing) and
each delivery record keeps only what varies (address, company and customer number at the
time, the Date it went out with; its id gives the Message-ID and the thread headers follow
from stored records). That stays at a few hundred bytes per recipient at 60,000 recipients,
and rebuilding yields the very message that was signed, minus its DKIM-Signature lines.
Ticket mails keep their signed bytes in the outbox (``OutboundMessage.raw``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from notifications.mailings.messages import MessageFactory, threads
from notifications.mailings.models import Mailing, MailingDelivery
from notifications.outbox.models import OutboundMessage
from tickets.models import Ticket

SENT_STATES = ("sent", "bounced")


@dataclass(frozen=True)
class HistoryEntry:
    kind: str  # "mailing" or "ticket"
    id: int  # delivery record id or outbox message id
    subject: str
    recipient: str
    sent_at: datetime | None
    state: str


def account_history(session: Session, account_id: int) -> list[HistoryEntry]:
    """Mailings and ticket mails sent to the account, newest first."""
    mailings = session.execute(
        select(
            MailingDelivery.id,
            Mailing.subject,
            MailingDelivery.address,
            MailingDelivery.sent_at,
            MailingDelivery.state,
        )
        .join(Mailing, Mailing.id == MailingDelivery.mailing_id)
        .where(MailingDelivery.account_id == account_id, MailingDelivery.state.in_(SENT_STATES))
    ).all()
    tickets = session.execute(
        select(
            OutboundMessage.id,
            OutboundMessage.subject,
            OutboundMessage.recipient,
            OutboundMessage.sent_at,
            OutboundMessage.state,
        )
        .join(Ticket, Ticket.id == OutboundMessage.ticket_id)
        .where(Ticket.account_id == account_id, OutboundMessage.state == "sent")
    ).all()
    entries = [HistoryEntry("mailing", *row) for row in mailings] + [
        HistoryEntry("ticket", *row) for row in tickets
    ]
    return sorted(entries, key=lambda e: (e.sent_at is not None, e.sent_at), reverse=True)


def message_as_sent(
    session: Session, settings: Settings, account_id: int, kind: str, entry_id: int
) -> bytes | None:
    """The message of one history entry of ``account_id`` as it went out, or None."""
    if kind == "ticket":
        raw = session.scalar(
            select(OutboundMessage.raw)
            .join(Ticket, Ticket.id == OutboundMessage.ticket_id)
            .where(OutboundMessage.id == entry_id, Ticket.account_id == account_id)
        )
        return raw
    delivery = session.scalar(
        select(MailingDelivery).where(
            MailingDelivery.id == entry_id,
            MailingDelivery.account_id == account_id,
            MailingDelivery.state.in_(SENT_STATES),
        )
    )
    if delivery is None or delivery.message_date is None:
        return None
    mailing = session.get(Mailing, delivery.mailing_id)
    assert mailing is not None  # the foreign key guarantees it
    recipient = (delivery.account_id, delivery.address)
    return MessageFactory(settings, mailing).build(
        delivery_id=delivery.id,
        address=delivery.address,
        company=delivery.company,
        customer_number=delivery.customer_number,
        date=delivery.message_date,
        thread=threads(session, settings, mailing, [recipient]).get(recipient),
    )
