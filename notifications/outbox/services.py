"""Queueing and delivering single e-mails through the outbox.

A message is queued in the same transaction as what caused it and enqueued for a worker only
after that transaction commits. Delivery claims the row first (queued/deferred -> sending), so
two workers never send the same row, and a retry after success finds it sent and stops.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from typing import Any, Protocol

from jinja2 import TemplateError
from redis.client import Pipeline
from rq import Retry
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from helpdesk.db import rows_changed, utcnow
from helpdesk.runtime import Runtime
from notifications import dkim_fast, messages, rendering
from notifications.outbox.models import OutboundMessage
from notifications.smtp import SmtpTransport, SmtpUnavailable
from tickets.models import TicketEvent
from workers import jobs

log = logging.getLogger(__name__)

SENDER_NAME = "Kundencenter Support"
RETRY = Retry(max=6, interval=[30, 120, 600, 1800, 3600, 7200])
STALE_QUEUED = timedelta(minutes=2)
STALE_SENDING = timedelta(minutes=15)
# A row claimed this often without an outcome (its worker died each time) is given up.
MAX_CLAIMS = RETRY.max + 2
NOT_BUILT = "not built: "
DRAIN_FLAG = "outbox:drain-queued"
DRAIN_FLAG_SECONDS = 120
DRAIN_TIMEOUT = 180
ACTOR = "mail"


class TemporaryDeliveryError(Exception):
    """Raised from the job so that RQ retries it later with backoff."""


@dataclass(frozen=True)
class MailRequest:
    kind: str
    dedupe_key: str
    recipient: str
    subject: str
    template: str
    context: dict[str, Any]
    ticket_id: int | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()


class OutboundFields(Protocol):
    """What building a message reads: an outbox row, or the columns a batch claimed."""

    template: str
    context: dict[str, Any]
    recipient: str
    subject: str
    message_id: str
    in_reply_to: str | None
    references: list[str]
    cc: list[str] | None


def queue_mail(session: Session, request: MailRequest, mail_domain: str) -> OutboundMessage:
    """Add the message to the outbox in the caller's transaction (idempotent by dedupe key)."""
    existing = session.scalar(
        select(OutboundMessage).where(OutboundMessage.dedupe_key == request.dedupe_key)
    )
    if existing is not None:
        return existing
    return _outbox_row(session, request, mail_domain)


def queue_new_mail(session: Session, request: MailRequest, mail_domain: str) -> OutboundMessage:
    """``queue_mail`` for a dedupe key that names something created in this transaction.

    Nothing can have queued it yet, so it is not looked up (the unique key still refuses a
    duplicate).
    """
    return _outbox_row(session, request, mail_domain)


def _outbox_row(session: Session, request: MailRequest, mail_domain: str) -> OutboundMessage:
    """A queued row; one whose headers can never be built is stored failed, with the reason,
    so that the request that caused it goes on and no worker tries it."""
    state, reply = "queued", None
    try:
        messages.checked_header("To", request.recipient)
        messages.checked_header("Subject", request.subject)
        for address in request.cc:
            messages.checked_header("Cc", address)
    except messages.UnsafeText as error:
        state, reply = "failed", f"{NOT_BUILT}{error}"
        log.error("outbound mail %s not queued: %s", request.dedupe_key, reply)
        if request.ticket_id is not None:
            session.add(failure_event(request.ticket_id, reply))
    outbound = OutboundMessage(
        state=state,
        smtp_reply=reply,
        kind=request.kind,
        dedupe_key=request.dedupe_key,
        ticket_id=request.ticket_id,
        recipient=request.recipient,
        cc=list(request.cc) or None,
        subject=request.subject,
        template=request.template,
        context=request.context,
        in_reply_to=request.in_reply_to,
        references=list(request.references),
        message_id=messages.new_message_id(mail_domain),
    )
    session.add(outbound)
    return outbound


def enqueue_delivery(
    runtime: Runtime, outbound_ids: list[int], pipeline: Pipeline | None = None
) -> None:
    """Hand committed outbox rows to the mail workers (``pipeline``, when given, carries the
    enqueue; the caller executes it).

    Rows are not handed over one by one: a drain job claims every queued row, these among
    them, and sends them over one SMTP connection (``notifications.outbox.batch``).
    """
    if outbound_ids:
        wake_drain(runtime, pipeline)


def wake_drain(runtime: Runtime, pipeline: Pipeline | None = None) -> None:
    """Enqueue a drain unless one is waiting or running.

    The flag is set with NX and held while a drain works; a drain clears it only when it
    finds nothing to claim, and then claims once more before it ends. So a row whose NX was
    refused is claimed by the drain holding the flag, and a busy stream of tickets costs one
    job, not one per ticket. The flag expires (a drain killed with it set), and the outbox
    sweep wakes a drain for rows queued too long: a lost job delays mail, never loses it.
    """
    if runtime.redis.set(DRAIN_FLAG, 1, nx=True, ex=DRAIN_FLAG_SECONDS):
        enqueue_drain(runtime, pipeline)


def enqueue_drain(runtime: Runtime, pipeline: Pipeline | None = None) -> None:
    """One more drain, whatever the flag says (a full batch asks another worker to help)."""
    queue = runtime.queue("mail")
    queue.enqueue_many(
        [queue.prepare_data(jobs.drain_outbox, timeout=DRAIN_TIMEOUT, result_ttl=0)],
        pipeline=pipeline,
    )


def retry_later(runtime: Runtime, outbound_ids: list[int]) -> None:
    """Rows a drain left deferred (a 4xx, the server away): each gets its own job with RQ's
    backoff, the first attempt having been the drain's."""
    first, *later = RETRY.intervals
    queue = runtime.queue("mail")
    for outbound_id in outbound_ids:
        queue.enqueue_in(
            timedelta(seconds=first),
            jobs.deliver_outbound,
            outbound_id,
            job_id=f"outbound-{outbound_id}",
            retry=Retry(max=RETRY.max - 1, interval=later),
            job_timeout=120,
        )


def deliver(runtime: Runtime, outbound_id: int) -> str:
    """Send one outbox row; return its final state. Raise TemporaryDeliveryError to retry."""
    with runtime.db.session() as session:
        claimed = rows_changed(
            session,
            update(OutboundMessage)
            .where(
                OutboundMessage.id == outbound_id,
                OutboundMessage.state.in_(("queued", "deferred")),
            )
            .values(state="sending", attempts=OutboundMessage.attempts + 1, updated_at=utcnow()),
        )
        outbound = session.get(OutboundMessage, outbound_id)
    if outbound is None:
        return "missing"
    if not claimed:
        return outbound.state

    settings = runtime.settings
    try:
        raw = signed_message(runtime, outbound)
    except NotBuilt as error:
        _finish(runtime, outbound_id, "failed", error.reason, ticket_id=outbound.ticket_id)
        log.error("outbound %s failed permanently: %s", outbound_id, error.reason)
        return "failed"

    try:
        with SmtpTransport(settings.smtp_url, "outbox").connect() as connection:
            result = connection.send(
                settings.mail_from,
                messages.transport_address(outbound.recipient),
                raw,
                copies=[messages.transport_address(address) for address in outbound.cc or ()],
            )
    except SmtpUnavailable as error:
        _finish(runtime, outbound_id, "deferred", str(error))
        raise TemporaryDeliveryError(str(error)) from error

    if result.sent:
        _finish(runtime, outbound_id, "sent", result.reply, raw=raw)
        log.info("outbound %s sent (%s)", outbound_id, outbound.kind)
        return "sent"
    if result.outcome == "temporary":
        _finish(runtime, outbound_id, "deferred", result.reply)
        raise TemporaryDeliveryError(result.reply)
    _finish(runtime, outbound_id, "failed", result.reply, ticket_id=outbound.ticket_id)
    log.warning("outbound %s failed permanently: %s", outbound_id, result.reply)
    return "failed"


class NotBuilt(Exception):
    """The row's message cannot be built; trying again builds the same bytes from the same row."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"{NOT_BUILT}{error}")
        self.reason = f"{NOT_BUILT}{error}"


def signed_message(runtime: Runtime, outbound: OutboundFields) -> bytes:
    """The DKIM-signed bytes of an outbox row (or of the columns a batch claimed)."""
    settings = runtime.settings
    try:
        text, html = rendering.render(outbound.template, outbound.context)
        message = messages.build_message(
            sender=Address(SENDER_NAME, addr_spec=settings.mail_from),
            recipient=outbound.recipient,
            subject=outbound.subject,
            text=text,
            html=html,
            message_id=outbound.message_id,
            in_reply_to=outbound.in_reply_to,
            references=tuple(outbound.references),
            cc=tuple(outbound.cc or ()),
        )
        unsigned = message.as_bytes()
    except (ValueError, TemplateError) as error:
        raise NotBuilt(error) from error
    return dkim_fast.sign(unsigned, settings.dkim_domain, runtime.dkim_keys)


def _finish(
    runtime: Runtime,
    outbound_id: int,
    state: str,
    reply: str,
    raw: bytes | None = None,
    ticket_id: int | None = None,
) -> None:
    """Record the outcome; a permanent failure of a ticket's mail also goes into the ticket's
    history, where agents see the reason."""
    values: dict[str, Any] = {"state": state, "smtp_reply": reply, "updated_at": utcnow()}
    if state == "sent":
        values.update(raw=raw, sent_at=utcnow())
    with runtime.db.session() as session:
        session.execute(
            update(OutboundMessage).where(OutboundMessage.id == outbound_id).values(**values)
        )
        if state == "failed" and ticket_id is not None:
            session.add(failure_event(ticket_id, reply))


def failure_event(ticket_id: int, reason: str) -> TicketEvent:
    return TicketEvent(ticket_id=ticket_id, actor=ACTOR, action="mail_failed", reason=reason[:2000])


def requeue_stale(runtime: Runtime) -> list[int]:
    """Re-enqueue rows whose job was lost: queued too long, or stuck in sending after a crash.

    A row stuck in ``sending`` was in flight when its worker died; re-sending it is the one
    case in which a recipient can get a message twice (with the same Message-ID).
    """
    now = utcnow()
    with runtime.db.session() as session:
        given_up = session.execute(
            select(OutboundMessage.id, OutboundMessage.ticket_id).where(
                OutboundMessage.state == "sending",
                OutboundMessage.updated_at < now - STALE_SENDING,
                OutboundMessage.attempts >= MAX_CLAIMS,
            )
        ).all()
        for outbound_id, ticket_id in given_up:
            reason = f"given up: its worker stopped during each of {MAX_CLAIMS} attempts"
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == outbound_id, OutboundMessage.state == "sending")
                .values(state="failed", smtp_reply=reason, updated_at=now)
            )
            if ticket_id is not None:
                session.add(failure_event(ticket_id, reason))
        session.flush()
        stale = session.scalars(
            select(OutboundMessage.id).where(
                or_(
                    (OutboundMessage.state == "queued")
                    & (OutboundMessage.updated_at < now - STALE_QUEUED),
                    (OutboundMessage.state == "sending")
                    & (OutboundMessage.updated_at < now - STALE_SENDING),
                )
            )
        ).all()
        if stale:
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_(stale), OutboundMessage.state == "sending")
                .values(state="queued", updated_at=now)
            )
    enqueue_delivery(runtime, list(stale))
    return list(stale)


# Failed work (the ops page and `helpdesk failed`): what failed or waits, and the two remedies.
RETRYABLE = ("failed", "deferred", "queued")


class NotRetryable(Exception):
    """The message was sent, discarded or is being sent: there is nothing to retry or discard."""


def failed_or_waiting(runtime: Runtime, limit: int = 200) -> list[OutboundMessage]:
    """Failed and deferred messages, and those queued or sending for longer than they should."""
    now = utcnow()
    with runtime.db.reading() as session:
        return list(
            session.scalars(
                select(OutboundMessage)
                .where(
                    or_(
                        OutboundMessage.state.in_(("failed", "deferred")),
                        (OutboundMessage.state == "queued")
                        & (OutboundMessage.updated_at < now - STALE_QUEUED),
                        (OutboundMessage.state == "sending")
                        & (OutboundMessage.updated_at < now - STALE_SENDING),
                    )
                )
                .order_by(OutboundMessage.updated_at.desc())
                .limit(limit)
            )
        )


def retry(runtime: Runtime, outbound_id: int) -> None:
    """Queue a failed or waiting message again and hand it to a worker now."""
    _move(runtime, outbound_id, "queued")
    enqueue_delivery(runtime, [outbound_id])


def discard(runtime: Runtime, outbound_id: int) -> None:
    """Give a failed or waiting message up: it is never sent (a pending retry finds it so)."""
    _move(runtime, outbound_id, "discarded")


def _move(runtime: Runtime, outbound_id: int, state: str) -> None:
    with runtime.db.session() as session:
        moved = rows_changed(
            session,
            update(OutboundMessage)
            .where(OutboundMessage.id == outbound_id, OutboundMessage.state.in_(RETRYABLE))
            .values(state=state, updated_at=utcnow()),
        )
    if not moved:
        raise NotRetryable(outbound_id)
