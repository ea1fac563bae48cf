"""Merging a duplicate ticket into another, from the console.

Messages, attachments, sensitive data (sealed again for the target ticket) and history of the
duplicate move to the target; the duplicate is closed with ``merged_into_id`` set, so that its
number leads to the target in the console, the portal, the API and mail-in. Both tickets get a
history entry, and the duplicate's answer address is told by mail (through the outbox).

Everything happens in one transaction that first locks both tickets' rows, in id order: two
agents merging at once wait for each other and the second sees the first's outcome, and a reply
to the duplicate (mail-in, the portal, the console lock the ticket they write to) either
commits before the merge and is moved, or waits and lands in the target.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from helpdesk.runtime import Runtime
from notifications.outbox.services import MailRequest, enqueue_delivery, queue_mail
from tickets import sensitive
from tickets.access import Viewer
from tickets.models import (
    SensitiveItem,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
    format_number,
    parse_number,
)
from tickets.services import ValidationError
from tickets.thread import load_ticket, record, thread_headers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MergePlan:
    """What a merge of ``source`` into ``target`` moves, for the confirmation page."""

    source: str
    source_subject: str
    target: str
    target_subject: str
    messages: int
    attachments: int
    sensitive_items: int
    events: int
    notified: str  # the duplicate's answer address, told by mail


def plan(runtime: Runtime, viewer: Viewer, source: str, target: str) -> MergePlan:
    """Check that ``viewer`` may merge ticket ``source`` into ``target`` and say what moves."""
    with runtime.db.reading() as session:
        duplicate, kept = _pair(session, viewer, source, target, lock=False)
        return _plan(session, duplicate, kept)


def merge(runtime: Runtime, viewer: Viewer, source: str, target: str) -> MergePlan:
    """Merge ticket ``source`` into ``target`` (see the module); return what moved.

    Raises TicketNotFound / Forbidden for the source ticket, ValidationError (German, field
    ``target``) when the pair may not be merged.
    """
    keyring = sensitive.Keyring.from_settings(runtime.settings)
    with runtime.db.session() as session:
        duplicate, kept = _pair(session, viewer, source, target, lock=True)
        moved = _plan(session, duplicate, kept)
        in_reply_to, references = thread_headers(session, duplicate.id)
        for model in (TicketMessage, TicketAttachment, TicketEvent):
            session.execute(
                update(model)
                .where(model.ticket_id == duplicate.id)
                .values(ticket_id=kept.id)
                .execution_options(synchronize_session=False)
            )
        sensitive.move_items(session, keyring, duplicate.id, kept.id)
        record(
            session,
            duplicate,
            viewer.actor,
            "merged_away",
            {"status": "closed", "merged_into_id": kept.id},
        )
        record(
            session,
            kept,
            viewer.actor,
            "merged_here",
            {"tags": sorted({*kept.tags, *duplicate.tags})},
            noted={
                "merged_from": duplicate.number,
                "messages_moved": moved.messages,
                "attachments_moved": moved.attachments,
                "sensitive_items_moved": moved.sensitive_items,
                "events_moved": moved.events,
            },
        )
        notice = queue_mail(
            session,
            MailRequest(
                kind="ticket_merged",
                dedupe_key=f"ticket:{duplicate.id}:merged",
                recipient=duplicate.reply_to,
                subject=f"[{kept.number}] {kept.subject}",
                template="ticket_merged",
                context={
                    "old_number": duplicate.number,
                    "old_subject": duplicate.subject,
                    "number": kept.number,
                    "subject": kept.subject,
                    "portal_url": f"{runtime.settings.public_url}/tickets/{kept.number}",
                },
                ticket_id=kept.id,
                in_reply_to=in_reply_to,
                references=references,
            ),
            runtime.settings.mail_domain,
        )
        session.flush()
        notice_id = notice.id
    try:
        enqueue_delivery(runtime, [notice_id])
    except RedisError:
        log.exception("merge of %s stored; notice left for the outbox sweep", moved.source)
    log.info("ticket %s merged into %s", moved.source, moved.target)
    return moved


def _pair(
    session: Session, viewer: Viewer, source: str, target: str, *, lock: bool
) -> tuple[Ticket, Ticket]:
    """The duplicate and the ticket it goes into, both checked (and locked, in id order)."""
    source_id, target_id = parse_number(source), parse_number(target.strip())
    if target_id is None:
        raise ValidationError({"target": "Bitte geben Sie eine Ticketnummer an (HD-000042)."})
    if lock and source_id is not None:
        # One order for every merge, so that two merges of the same pair cannot deadlock.
        session.scalars(
            select(Ticket.id)
            .where(Ticket.id.in_((source_id, target_id)))
            .order_by(Ticket.id)
            .with_for_update()
        ).all()
    duplicate = viewer.check_work(load_ticket(session, viewer, source))
    kept = session.get(Ticket, target_id)
    if kept is None or not viewer.can_read(kept):
        raise ValidationError({"target": f"Das Ticket {format_number(target_id)} gibt es nicht."})
    if kept.id == duplicate.id:
        raise ValidationError(
            {"target": "Ein Ticket lässt sich nicht mit sich selbst zusammenführen."}
        )
    if kept.merged_into_id is not None:
        raise ValidationError(
            {
                "target": f"{kept.number} wurde bereits mit "
                f"{format_number(kept.merged_into_id)} zusammengeführt; "
                "wählen Sie dieses Ticket."
            }
        )
    if not viewer.works(kept.queue):
        raise ValidationError(
            {"target": f"{kept.number} liegt in einer Queue, die Sie nicht bearbeiten."}
        )
    if kept.status == "closed":
        raise ValidationError({"target": f"{kept.number} ist geschlossen."})
    if duplicate.account_id is None or kept.account_id != duplicate.account_id:
        raise ValidationError(
            {
                "target": "Nur Tickets desselben Kundenkontos lassen sich zusammenführen "
                "(einem unbekannten Absender zuerst ein Konto zuordnen)."
            }
        )
    return duplicate, kept


def _plan(session: Session, duplicate: Ticket, kept: Ticket) -> MergePlan:
    def count(model: type[TicketMessage | TicketAttachment | TicketEvent | SensitiveItem]) -> int:
        return (
            session.scalar(
                select(func.count()).select_from(model).where(model.ticket_id == duplicate.id)
            )
            or 0
        )

    return MergePlan(
        source=duplicate.number,
        source_subject=duplicate.subject,
        target=kept.number,
        target_subject=kept.subject,
        messages=count(TicketMessage),
        attachments=count(TicketAttachment),
        sensitive_items=count(SensitiveItem),
        events=count(TicketEvent),
        notified=duplicate.reply_to,
    )
