"""Bounces led back to what bounced: a mailing's delivery record, or a ticket's outbox mail.

A mandatory mailing's bounce is found by its VERP envelope recipient or by the Message-ID it
quotes, and the notifications package marks the record bounced with the DSN status. A bounce
of a ticket mail (an acknowledgement, an agent's answer) marks that outbox row failed and
tells the ticket's history that the customer's address does not take mail.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from helpdesk.db import utcnow
from notifications.mailings import bounces
from notifications.outbox.models import OutboundMessage
from tickets.inbound.classify import Bounce
from tickets.models import TicketEvent, format_number

ACTOR = "mail-in"


def record(
    session: Session, settings: Settings, bounce: Bounce, mailbox: str | None
) -> dict[str, str | None]:
    """Mark what ``bounce`` reports; return the outcome's fields (reason, ticket number)."""
    failed = bounce.failed
    if not failed:
        actions = ", ".join(sorted({r.action or "unknown" for r in bounce.recipients})) or "none"
        return {"reason": f"delivery report without a failure (action: {actions})"}
    status, diagnostic = failed[0].status, failed[0].diagnostic
    delivery_id = bounces.parse_verp(settings, mailbox) if mailbox else None
    original = bounce.original_message_id
    if bounces.record_bounce(
        session,
        delivery_id=delivery_id,
        message_id=original,
        status=status,
        diagnostic=diagnostic,
    ):
        target = f"delivery {delivery_id}" if delivery_id is not None else original
        return {"reason": f"mailing {target} marked bounced ({status})"}
    if original:
        outbound = session.scalar(
            select(OutboundMessage).where(OutboundMessage.message_id == original)
        )
        if outbound is not None:
            return _ticket_mail_bounced(session, outbound, status, diagnostic)
    return {"reason": f"bounce ({status}) matches no delivery record: {original or 'no id'}"}


def _ticket_mail_bounced(
    session: Session, outbound: OutboundMessage, status: str, diagnostic: str
) -> dict[str, str | None]:
    reply = f"bounced: {status} {diagnostic}".strip()[:2000]
    number = format_number(outbound.ticket_id) if outbound.ticket_id else None
    if outbound.state == "failed" and outbound.smtp_reply == reply:
        return {"reason": f"bounce of {outbound.message_id} already recorded", "ticket": number}
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == outbound.id)
        .values(state="failed", smtp_reply=reply, updated_at=utcnow())
    )
    if outbound.ticket_id is not None:
        session.add(
            TicketEvent(
                ticket_id=outbound.ticket_id,
                actor=ACTOR,
                action="mail_bounced",
                changes={"recipient": [outbound.recipient, None], "status": [None, status]},
                reason=diagnostic or None,
            )
        )
    return {"reason": f"ticket mail {outbound.message_id} bounced ({status})", "ticket": number}
