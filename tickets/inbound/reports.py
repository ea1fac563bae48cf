"""Bounces led back to what bounced: a mailing's delivery record, or a ticket's outbox mail.

A mandatory mailing's bounce is found by its VERP envelope recipient (or a VERP address in the
bounce's To or Delivered-To, for a pipe without ``--to``) or by a Message-ID it quotes, and the
notifications package marks the record bounced with the DSN status. A bounce of a ticket mail
(an acknowledgement, an agent's answer) marks that outbox row failed and tells the ticket's
history that the customer's address does not take mail. A delay warning marks nothing. Every
bounce is kept in ``inbound_bounces`` with its status, diagnostic and hard/soft class; one
that matches nothing keeps its bytes there, to be listed with ``helpdesk mail-in bounces``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from helpdesk.db import utcnow
from notifications.mailings import bounces
from notifications.outbox.models import OutboundMessage
from tickets.inbound.bounce_reading import Bounce, BouncedRecipient
from tickets.inbound.models import InboundBounce
from tickets.inbound.parsing import ParsedMail
from tickets.models import TicketEvent, format_number

ACTOR = "mail-in"
MESSAGE_ID_MAX = 250


@dataclass(frozen=True)
class Recorded:
    """What a bounce marked: the reason for the MTA's reply, and the ticket it concerned."""

    reason: str
    ticket: str | None = None


def record(
    session: Session,
    settings: Settings,
    mail: ParsedMail,
    raw: bytes,
    bounce: Bounce,
    mailbox: str | None,
    envelope_sender: str | None,
) -> Recorded:
    """Keep ``bounce`` and mark what it reports; say what was marked."""
    if mail.message_id and session.scalar(
        select(InboundBounce.id).where(
            InboundBounce.message_id == mail.message_id[:MESSAGE_ID_MAX],
            InboundBounce.mailbox == mailbox,
        )
    ):
        return Recorded(f"bounce {mail.message_id} already recorded")
    failed = bounce.failed
    delayed = tuple(r for r in bounce.recipients if r.action == "delayed")
    chosen = failed[0] if failed else delayed[0] if delayed else None
    entry = InboundBounce(
        message_id=_storable(mail.message_id, MESSAGE_ID_MAX),
        mailbox=mailbox,
        envelope_sender=_storable(envelope_sender, 320),
        from_header=_storable(mail.from_text, 320) or "",
        subject=_storable(mail.subject, 250) or "",
        reader=bounce.reader,
        kind="failed" if failed else "delayed" if delayed else "report",
        recipient=_storable(chosen.address, 320) if chosen else None,
        status=chosen.status if chosen else _report_status(bounce),
        severity=chosen.severity if chosen and failed else None,
        diagnostic=_storable(chosen.diagnostic, 2000) or "" if chosen else "",
        original_message_id=_fit(bounce.original_message_id),
        recipients=[
            {name: _storable(value, 2000) for name, value in asdict(recipient).items()}
            for recipient in bounce.recipients
        ],
    )
    session.add(entry)
    if not failed:
        session.flush()
        if delayed:
            return Recorded(f"delay warning ({entry.status}): nothing marked, the MTA retries")
        actions = ", ".join(sorted({r.action or "unknown" for r in bounce.recipients})) or "none"
        return Recorded(f"delivery report without a failure (action: {actions})")
    fields = _mark(session, settings, mail, bounce, failed[0], entry, mailbox)
    if entry.delivery_id is None and entry.outbound_message_id is None:
        entry.raw = raw
    session.flush()
    return fields


def _mark(
    session: Session,
    settings: Settings,
    mail: ParsedMail,
    bounce: Bounce,
    failed: BouncedRecipient,
    entry: InboundBounce,
    mailbox: str | None,
) -> Recorded:
    status, diagnostic, severity = failed.status, failed.diagnostic, failed.severity
    delivery_id = _verp_delivery(settings, mailbox, mail)
    if delivery_id is not None and bounces.record_bounce(
        session, delivery_id=delivery_id, status=status, diagnostic=diagnostic
    ):
        entry.delivery_id = delivery_id
        return Recorded(f"mailing delivery {delivery_id} marked bounced ({status}, {severity})")
    for original in bounce.original_message_ids:
        ids = bounces.parse_message_id(original)
        if ids is not None and bounces.record_bounce(
            session, message_id=original, status=status, diagnostic=diagnostic
        ):
            entry.delivery_id = ids[1]
            return Recorded(f"mailing {original} marked bounced ({status}, {severity})")
    for original in bounce.original_message_ids:
        outbound = session.scalar(
            select(OutboundMessage).where(OutboundMessage.message_id == original)
        )
        if outbound is not None:
            entry.outbound_message_id = outbound.id
            return _ticket_mail_bounced(session, outbound, status, diagnostic, severity)
    quoted = bounce.original_message_id or "no id"
    return Recorded(f"bounce ({status}, {severity}) matches no delivery record: {quoted}; kept")


def _verp_delivery(settings: Settings, mailbox: str | None, mail: ParsedMail) -> int | None:
    """The delivery id of our VERP address: the envelope recipient, else To or Delivered-To."""
    for address in (mailbox, *mail.recipients):
        if address and (delivery_id := bounces.parse_verp(settings, address)) is not None:
            return delivery_id
    return None


def _ticket_mail_bounced(
    session: Session, outbound: OutboundMessage, status: str, diagnostic: str, severity: str
) -> Recorded:
    reply = f"bounced: {status} {diagnostic}".strip()[:2000]
    number = format_number(outbound.ticket_id) if outbound.ticket_id else None
    if outbound.state == "failed" and outbound.smtp_reply == reply:
        return Recorded(f"bounce of {outbound.message_id} already recorded", number)
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
                changes={
                    "recipient": [outbound.recipient, None],
                    "status": [None, status],
                    "severity": [None, severity],
                },
                reason=diagnostic or None,
            )
        )
    return Recorded(f"ticket mail {outbound.message_id} bounced ({status}, {severity})", number)


def _report_status(bounce: Bounce) -> str:
    return bounce.recipients[0].status if bounce.recipients else "2.0.0"


def _fit(message_id: str | None) -> str | None:
    """A Message-ID as stored: whole or not at all (a cut one would match nothing)."""
    stored = _storable(message_id, MESSAGE_ID_MAX + 1)
    return stored if stored and len(stored) <= MESSAGE_ID_MAX else None


def _storable(text: str | None, limit: int) -> str | None:
    """``text`` as any database stores it: no NUL, no lone surrogates, at most ``limit``.

    Bounces quote whatever bytes the bounced message had; a value PostgreSQL refuses would
    turn into a retry loop instead of a recorded bounce.
    """
    if text is None:
        return None
    cleaned = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return cleaned[:limit]


def recent_bounces(session: Session, *, unmatched: bool, limit: int) -> list[dict[str, object]]:
    """The newest bounces as plain rows for the command line; ``unmatched`` keeps the lost."""
    query = select(InboundBounce).order_by(InboundBounce.id.desc()).limit(limit)
    if unmatched:
        query = query.where(
            InboundBounce.kind == "failed",
            InboundBounce.delivery_id.is_(None),
            InboundBounce.outbound_message_id.is_(None),
        )
    return [
        {
            "id": entry.id,
            "received_at": entry.received_at.isoformat(timespec="seconds"),
            "kind": entry.kind,
            "status": entry.status,
            "severity": entry.severity,
            "recipient": entry.recipient,
            "diagnostic": entry.diagnostic,
            "from": entry.from_header,
            "subject": entry.subject,
            "original_message_id": entry.original_message_id,
            "delivery": f"delivery {entry.delivery_id}" if entry.delivery_id else None,
            "ticket_mail": f"outbox {entry.outbound_message_id}"
            if entry.outbound_message_id
            else None,
            "size": len(entry.raw) if entry.raw is not None else None,
        }
        for entry in session.scalars(query)
    ]
