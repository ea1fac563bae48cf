"""Draining the outbox: one RQ job and one SMTP connection for every message that is due.

A job and an SMTP session per acknowledgement cost more CPU than the message itself (RQ's
dequeue and success bookkeeping, the handshake). A drain instead claims the queued rows in
one committed UPDATE (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent drains take
different rows; the conditional state in the UPDATE keeps SQLite, which serialises writers,
just as safe), sends them over one connection and commits each outcome on its own right after
the server answers, as a mandatory mailing's batch does. A worker killed mid-drain leaves its
unsent rows in ``sending``; the outbox sweep returns them to ``queued`` after STALE_SENDING,
and only the message whose DATA the server had accepted but whose outcome was not committed
is sent twice, with the same Message-ID.

While a drain works it holds a Redis flag, so further commits enqueue no job; a drain that
claims a full batch enqueues another one before it sends, so that during a burst every idle
worker takes a batch. A lone ticket's acknowledgement is claimed by the drain its own commit
woke, within the worker's dequeue time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, select, text, update
from sqlalchemy.orm import Session

from helpdesk.db import utcnow
from helpdesk.runtime import Runtime
from notifications import messages
from notifications.outbox import services
from notifications.outbox.models import OutboundMessage
from notifications.smtp import SmtpConnection, SmtpResult, SmtpTransport, SmtpUnavailable

log = logging.getLogger(__name__)

BATCH = 50
# An outcome's commit does not wait for the disk: lost only if PostgreSQL itself crashes
# within its WAL writer's delay, and then the row, still "sending", is sent again by the sweep.
ASYNCHRONOUS_COMMIT = text("SET LOCAL synchronous_commit TO OFF")
# A drain hands over to a fresh job after this long, well inside its RQ timeout.
DRAIN_SECONDS = 60

CLAIMED = (
    OutboundMessage.id,
    OutboundMessage.kind,
    OutboundMessage.ticket_id,
    OutboundMessage.recipient,
    OutboundMessage.subject,
    OutboundMessage.template,
    OutboundMessage.context,
    OutboundMessage.message_id,
    OutboundMessage.in_reply_to,
    OutboundMessage.references,
    OutboundMessage.cc,
)


@dataclass
class DrainResult:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, state: str, rows: int = 1) -> None:
        self.counts[state] = self.counts.get(state, 0) + rows


class _Smtp:
    """One connection for the whole drain, opened when the first message is ready."""

    def __init__(self, url: str, stack: ExitStack) -> None:
        self._transport = SmtpTransport(url, "outbox")
        self._stack = stack
        self._connection: SmtpConnection | None = None

    def send(self, sender: str, recipient: str, raw: bytes, copies: Sequence[str]) -> SmtpResult:
        if self._connection is None:
            self._connection = self._stack.enter_context(self._transport.connect())
        return self._connection.send(sender, recipient, raw, copies)


def drain(runtime: Runtime) -> DrainResult:
    """Send queued outbox rows until none is left, the SMTP server goes away, or
    DRAIN_SECONDS have passed (then a fresh drain carries on)."""
    result = DrainResult()
    deadline = time.monotonic() + DRAIN_SECONDS
    with ExitStack() as stack, closing(runtime.db.sessions()) as session:
        smtp = _Smtp(runtime.settings.smtp_url, stack)
        while True:
            if time.monotonic() >= deadline:
                services.enqueue_drain(runtime)
                return result
            rows = _claim(session)
            if not rows:
                # Rows whose commit found the flag set were committed before this: the last
                # claim, after clearing it, finds them.
                runtime.redis.delete(services.DRAIN_FLAG)
                rows = _claim(session)
                if not rows:
                    return result
            if len(rows) == BATCH:
                services.enqueue_drain(runtime)
            if not _send(runtime, session, smtp, rows, result):
                return result


def _claim(session: Session) -> list[Row[Any]]:
    due = (
        select(OutboundMessage.id)
        .where(OutboundMessage.state == "queued")
        .order_by(OutboundMessage.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(due), OutboundMessage.state == "queued")
        .values(state="sending", attempts=OutboundMessage.attempts + 1, updated_at=utcnow())
        .returning(*CLAIMED),
        execution_options={"synchronize_session": False},
    ).all()
    session.commit()
    return sorted(claimed, key=lambda row: row.id)


def _send(
    runtime: Runtime, session: Session, smtp: _Smtp, rows: list[Row[Any]], result: DrainResult
) -> bool:
    """Send the claimed rows, recording each outcome; False when the server went away (the
    rest is deferred). An unexpected error returns the unsent rows to ``queued`` (the job
    fails and shows on the failed-work page; the next drain finds them)."""
    settings = runtime.settings
    done = 0
    try:
        for done, row in enumerate(rows):
            try:
                raw = services.signed_message(runtime, row)
            except services.NotBuilt as error:
                result.add(_record(session, row, "failed", error.reason))
                log.error("outbound %s failed permanently: %s", row.id, error.reason)
                continue
            try:
                outcome = smtp.send(
                    settings.mail_from,
                    messages.transport_address(row.recipient),
                    raw,
                    [messages.transport_address(address) for address in row.cc or ()],
                )
            except SmtpUnavailable as error:
                rest = [later.id for later in rows[done:]]
                _record_many(session, rest, "deferred", str(error))
                services.retry_later(runtime, rest)
                result.add("deferred", len(rest))
                log.warning("outbox drain stopped, %d deferred: %s", len(rest), error)
                return False
            state = {"sent": "sent", "temporary": "deferred"}.get(outcome.outcome, "failed")
            result.add(_record(session, row, state, outcome.reply, raw=raw))
            if state == "deferred":
                services.retry_later(runtime, [row.id])
            elif state == "failed":
                log.warning("outbound %s failed permanently: %s", row.id, outcome.reply)
    except Exception:
        session.rollback()
        _record_many(session, [later.id for later in rows[done:]], "queued", None)
        raise
    return True


def _record(
    session: Session, row: Row[Any], state: str, reply: str, raw: bytes | None = None
) -> str:
    """Commit one message's outcome; a ticket's mail that failed for good also goes into the
    ticket's history, where agents see the reason."""
    now = utcnow()
    values: dict[str, Any] = {"state": state, "smtp_reply": reply, "updated_at": now}
    if state == "sent":
        values.update(raw=raw, sent_at=now)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(ASYNCHRONOUS_COMMIT)
    session.execute(
        update(OutboundMessage).where(OutboundMessage.id == row.id).values(**values),
        execution_options={"synchronize_session": False},
    )
    if state == "failed" and row.ticket_id is not None:
        session.add(services.failure_event(row.ticket_id, reply))
    session.commit()
    return state


def _record_many(session: Session, ids: list[int], state: str, reply: str | None) -> None:
    values: dict[str, Any] = {"state": state, "updated_at": utcnow()}
    if reply is not None:
        values["smtp_reply"] = reply
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(ids), OutboundMessage.state == "sending")
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    session.commit()
