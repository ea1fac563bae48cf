"""A ticket's thread: the customer's replies, agents' answers by mail, internal notes, closing.

An agent's answer is stored as a message and queued in the outbox in the same transaction; a
worker renders, DKIM-signs and sends it after the commit. It threads under the ticket's earlier
mails (In-Reply-To, References) and carries the ticket number in the subject, so the
customer's answer finds its way back to the ticket.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.addresses import InvalidAddress, normalise
from accounts.models import Account
from helpdesk.db import utcnow
from helpdesk.runtime import Runtime
from helpdesk.text import body_text_problem
from notifications import rendering
from notifications.outbox.models import OutboundMessage
from notifications.outbox.services import MailRequest, enqueue_delivery, queue_mail
from tickets import agent_alerts, attachments, sensitive
from tickets.access import Forbidden, TicketMerged, TicketNotFound, Viewer
from tickets.models import (
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
    parse_number,
)
from tickets.services import TEXT_MAX, Upload, ValidationError
from tickets.sla.clock import apply_sla
from tickets.sla.explain import DueExplanation, explain_ticket

log = logging.getLogger(__name__)
REFERENCES_KEPT = 10
CC_MAX = 10


@dataclass(frozen=True)
class TicketView:
    """Everything a ticket page shows, loaded with a fixed number of statements."""

    ticket: Ticket
    messages: list[TicketMessage]
    attachments: list[TicketAttachment]
    events: list[TicketEvent]
    sensitive_items: list[sensitive.ItemSummary]
    company: str | None
    customer_number: str | None
    due_times: DueExplanation


MERGE_HOPS_MAX = 50  # a chain of merges longer than this is a defect, not a redirect


def load_ticket(
    session: Session, viewer: Viewer, number: str, *, lock: bool = False, follow: bool = False
) -> Ticket:
    """The ticket ``number`` names, for ``viewer``; raise TicketNotFound.

    ``lock`` takes the row lock a change needs (so a change waits for a merge of the ticket
    and sees its outcome). A merged ticket raises TicketMerged naming where it went, unless
    ``follow``: then the ticket it was merged into is returned (locked too, with ``lock``),
    so that a reply written to the old number lands there.
    """
    ticket_id = parse_number(number)
    ticket = _get(session, ticket_id, lock=lock) if ticket_id is not None else None
    ticket = viewer.check_read(ticket)
    if ticket.merged_into_id is None:
        return ticket
    current = merged_target(session, ticket, lock=lock and follow)
    if not follow:
        raise TicketMerged(current.number)
    return viewer.check_read(current)


def merged_target(session: Session, ticket: Ticket, *, lock: bool = False) -> Ticket:
    """The ticket ``ticket`` lives on in: itself, or the end of its chain of merges."""
    for _hop in range(MERGE_HOPS_MAX):
        if ticket.merged_into_id is None:
            return ticket
        ticket = session.get_one(
            Ticket, ticket.merged_into_id, with_for_update=lock, populate_existing=lock
        )
    raise RuntimeError(f"ticket {ticket.id}: merge chain longer than {MERGE_HOPS_MAX}")


def locked_ticket(session: Session, ticket_id: int) -> Ticket | None:
    """Ticket ``ticket_id`` with its row lock, read afresh after waiting for the lock."""
    return _get(session, ticket_id, lock=True)


def _get(session: Session, ticket_id: int, *, lock: bool) -> Ticket | None:
    # Refreshed when locked: a copy read before the lock was granted may be stale.
    return session.get(Ticket, ticket_id, with_for_update=lock, populate_existing=lock)


def ticket_view(runtime: Runtime, viewer: Viewer, number: str) -> TicketView:
    with runtime.db.session() as session:
        ticket = load_ticket(session, viewer, number)
        kinds = ("customer", "agent", "internal") if viewer.staff else ("customer", "agent")
        messages = session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id, TicketMessage.kind.in_(kinds))
            .order_by(TicketMessage.created_at, TicketMessage.id)
        ).all()
        files = session.scalars(
            select(TicketAttachment)
            .where(TicketAttachment.ticket_id == ticket.id)
            .order_by(TicketAttachment.id)
        ).all()
        events = (
            session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.created_at, TicketEvent.id)
            ).all()
            if viewer.staff
            else []
        )
        account = (
            session.execute(
                select(Account.company, Account.customer_number).where(
                    Account.id == ticket.account_id
                )
            ).first()
            if ticket.account_id is not None
            else None
        )
        visible_ids = {message.id for message in messages}
        return TicketView(
            ticket=ticket,
            messages=list(messages),
            attachments=[f for f in files if f.message_id is None or f.message_id in visible_ids],
            events=list(events),
            sensitive_items=sensitive.summaries(session, ticket.id),
            company=account[0] if account else None,
            customer_number=account[1] if account else None,
            due_times=explain_ticket(session, ticket, utcnow()),
        )


def _reply_context(runtime: Runtime, ticket: Ticket, text: str, author: str) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "text": text,
        "author": author,
        "portal_url": f"{runtime.settings.public_url}/tickets/{ticket.number}",
    }


REPLY_MARKER = "\x00reply\x00"


def reply_frame(runtime: Runtime, ticket: Ticket, author: str) -> tuple[str, str]:
    """What the reply mail puts before and after the agent's text (greeting, signature), so
    the form can show it and agents do not greet twice."""
    text, _html = rendering.render(
        "ticket_reply", _reply_context(runtime, ticket, REPLY_MARKER, author)
    )
    before, _marker, after = text.partition(REPLY_MARKER)
    return before.strip(), after.strip()


def check_text(text: str, field: str = "text") -> str:
    text = text.strip()
    if not text:
        raise ValidationError({field: "Bitte geben Sie einen Text ein."})
    if len(text) > TEXT_MAX:
        raise ValidationError({field: f"Höchstens {TEXT_MAX} Zeichen."})
    if problem := body_text_problem(text):
        raise ValidationError({field: problem})
    return text


def parse_cc(text: str) -> tuple[str, ...]:
    """The Cc addresses typed into the answer form (separated by commas, semicolons or line
    breaks), each one plain address, normalised, without repeats; ValidationError in German."""
    addresses: list[str] = []
    for part in re.split(r"[,;\r\n]+", text):
        if not part.strip():
            continue
        try:
            address = normalise(part.strip(" \t"))
        except InvalidAddress as error:
            raise ValidationError({"cc": f"{part.strip()}: {error}"}) from None
        if address.key not in (known.lower() for known in addresses):
            addresses.append(address.email)
    if len(addresses) > CC_MAX:
        raise ValidationError({"cc": f"Höchstens {CC_MAX} Adressen in Kopie."})
    return tuple(addresses)


def record(
    session: Session,
    ticket: Ticket,
    actor: str,
    action: str,
    changes: dict[str, Any],
    reason: str | None = None,
    noted: dict[str, Any] | None = None,
) -> None:
    """Apply ``changes`` (field -> new value) to ``ticket`` and write the history entry, which
    also records ``noted`` (facts that are no field of the ticket, e.g. an answer's Cc)."""
    history: dict[str, list[Any]] = {name: [None, value] for name, value in (noted or {}).items()}
    for name, value in changes.items():
        before = getattr(ticket, name)
        if before != value:
            history[name] = [before, value]
            setattr(ticket, name, value)
    if "status" in history:
        ticket.closed_at = utcnow() if ticket.status == "closed" else None
    session.add(
        TicketEvent(ticket_id=ticket.id, actor=actor, action=action, changes=history, reason=reason)
    )
    ticket.updated_at = utcnow()
    apply_sla(session, ticket, ticket.updated_at, reason=action)


def reply_as_agent(
    runtime: Runtime,
    viewer: Viewer,
    number: str,
    text: str,
    uploads: Sequence[Upload] = (),
    cc: str = "",
) -> TicketMessage:
    """Store the answer, queue it as a threaded mail to the answer address (and the ``cc``
    addresses, as typed in the form), then enqueue."""
    text = check_text(text)
    copies = parse_cc(cc)
    with runtime.db.session() as session:
        ticket = viewer.check_work(load_ticket(session, viewer, number, lock=True, follow=True))
        copies = tuple(address for address in copies if address.lower() != ticket.reply_to.lower())
        message = TicketMessage(
            ticket_id=ticket.id,
            kind="agent",
            author=viewer.actor,
            channel="email",
            body=text,
            cc=list(copies) or None,
        )
        session.add(message)
        session.flush()
        _store_uploads(runtime, session, ticket.id, message.id, uploads, viewer.actor)
        in_reply_to, references = thread_headers(session, ticket.id)
        outbound = queue_mail(
            session,
            MailRequest(
                kind="ticket_reply",
                dedupe_key=f"ticket:{ticket.id}:message:{message.id}",
                recipient=ticket.reply_to,
                subject=f"[{ticket.number}] Re: {ticket.subject}",
                template="ticket_reply",
                context=_reply_context(runtime, ticket, text, viewer.actor),
                ticket_id=ticket.id,
                in_reply_to=in_reply_to,
                references=references,
                cc=copies,
            ),
            runtime.settings.mail_domain,
        )
        session.flush()
        message.message_id = outbound.message_id
        noted = {"cc": list(copies)} if copies else None
        record(session, ticket, viewer.actor, "replied", {"status": "waiting"}, noted=noted)
        outbound_id = outbound.id
    try:
        enqueue_delivery(runtime, [outbound_id])
    except RedisError:
        log.exception("reply on %s stored; mail left for the outbox sweep", number)
    return message


def thread_headers(session: Session, ticket_id: int) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To and References: every Message-ID of the ticket's mails so far, in order."""
    outbound = session.execute(
        select(OutboundMessage.created_at, OutboundMessage.id, OutboundMessage.message_id).where(
            OutboundMessage.ticket_id == ticket_id
        )
    ).all()
    inbound = session.execute(
        select(TicketMessage.created_at, TicketMessage.id, TicketMessage.message_id).where(
            TicketMessage.ticket_id == ticket_id,
            TicketMessage.message_id.is_not(None),
            TicketMessage.kind == "customer",
        )
    ).all()
    ids: list[str] = []
    for row in sorted([*outbound, *inbound], key=lambda row: (row[0], row[1])):
        if row[2] and row[2] not in ids:
            ids.append(row[2])
    if not ids:
        return None, ()
    return ids[-1], tuple(ids[-REFERENCES_KEPT:])


def add_note(runtime: Runtime, viewer: Viewer, number: str, text: str) -> TicketMessage:
    """An internal note: staff only, never mailed, never shown to the customer."""
    text = check_text(text)
    with runtime.db.session() as session:
        ticket = viewer.check_work(load_ticket(session, viewer, number, lock=True, follow=True))
        note = TicketMessage(
            ticket_id=ticket.id, kind="internal", author=viewer.actor, channel="web", body=text
        )
        session.add(note)
        session.add(TicketEvent(ticket_id=ticket.id, actor=viewer.actor, action="noted"))
        ticket.updated_at = utcnow()
    return note


def reply_as_customer(
    runtime: Runtime,
    viewer: Viewer,
    number: str,
    text: str,
    uploads: Sequence[Upload] = (),
) -> TicketMessage:
    """The customer answers in the portal; a waiting or resolved ticket opens again."""
    if viewer.staff:
        raise Forbidden("staff answer through the console")
    text = check_text(text)
    with runtime.db.session() as session:
        ticket = load_ticket(session, viewer, number, lock=True, follow=True)
        if ticket.status == "closed":
            raise ValidationError({"text": "Dieses Ticket ist geschlossen."})
        message = TicketMessage(
            ticket_id=ticket.id, kind="customer", author=viewer.actor, channel="web", body=text
        )
        session.add(message)
        session.flush()
        _store_uploads(runtime, session, ticket.id, message.id, uploads, viewer.actor)
        status = "open" if ticket.status in ("waiting", "resolved") else ticket.status
        record(session, ticket, viewer.actor, "customer_replied", {"status": status})
        agent_alerts.customer_replied(runtime, session, ticket, message)
    return message


def close_as_customer(runtime: Runtime, viewer: Viewer, number: str) -> None:
    if viewer.staff:
        raise Forbidden("staff change status through the console")
    with runtime.db.session() as session:
        ticket = load_ticket(session, viewer, number, lock=True)
        record(session, ticket, viewer.actor, "closed_by_customer", {"status": "closed"})


def add_sensitive(
    runtime: Runtime, viewer: Viewer, number: str, label: str, value: str
) -> sensitive.ItemSummary:
    """The customer adds access data to an existing ticket."""
    errors = sensitive.check_item(label, value)
    if errors:
        raise ValidationError(errors)
    keyring = sensitive.Keyring.from_settings(runtime.settings)
    with runtime.db.session() as session:
        ticket = load_ticket(session, viewer, number, lock=True, follow=True)
        if ticket.status == "closed":
            raise ValidationError({"sensitive_value": "Dieses Ticket ist geschlossen."})
        item = sensitive.add_item(session, keyring, ticket.id, label, value, viewer.actor)
        session.flush()
        ticket.updated_at = utcnow()
        return sensitive.ItemSummary(item.id, item.label, item.created_at, False)


def attachment_for(runtime: Runtime, viewer: Viewer, number: str, attachment_id: int) -> Any:
    """The attachment row and the path of its bytes, if the viewer may read the ticket."""
    with runtime.db.session() as session:
        ticket = load_ticket(session, viewer, number)
        attachment = session.get(TicketAttachment, attachment_id)
        if attachment is None or attachment.ticket_id != ticket.id:
            raise TicketNotFound("no such attachment on this ticket")
        if not viewer.staff and attachment.message_id is not None:
            kind = session.scalar(
                select(TicketMessage.kind).where(TicketMessage.id == attachment.message_id)
            )
            if kind == "internal":
                raise TicketNotFound("internal attachment")
        return attachment, attachments.attachment_path(runtime, attachment)


def _store_uploads(
    runtime: Runtime,
    session: Session,
    ticket_id: int,
    message_id: int,
    uploads: Sequence[Upload],
    actor: str,
) -> None:
    for upload in uploads:
        try:
            attachments.store_attachment(
                runtime,
                session,
                ticket_id,
                message_id,
                upload.filename,
                upload.content_type,
                upload.stream,
                uploaded_by=actor,
            )
        except attachments.AttachmentRejected as error:
            raise ValidationError({"attachments": f"{upload.filename}: {error}"}) from None
