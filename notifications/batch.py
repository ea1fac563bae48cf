"""Sending one batch of a mailing's delivery records over one SMTP connection.

Crash safety: a batch first claims its records (queued/due deferred -> sending, with the
claimer's name and time) in one committed UPDATE; then each message's outcome is committed on
its own right after the SMTP server answers. A worker killed at any moment therefore leaves
only records that are either finished or still ``sending``; the reaper returns ``sending``
records whose lease has run out to ``deferred`` and they are sent again. Only the one message
whose DATA the server had accepted but whose outcome was not yet committed is sent twice,
with the same Message-ID.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Row, bindparam, select, update
from sqlalchemy.engine import Connection

from helpdesk.db import UTCDateTime, utcnow
from helpdesk.runtime import Runtime
from notifications import bounces, dkim_fast, messages
from notifications.mailing_messages import MessageFactory, Thread, threads
from notifications.mailing_settings import MailingSettings, load_mailing_settings
from notifications.mailings import Mailing, MailingDelivery
from notifications.smtp import SmtpConnection, SmtpResult, SmtpTransport, SmtpUnavailable
from notifications.throttle import Throttle

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (30, 120, 600, 1800, 3600, 7200)
CONTROL_CHECK_SECONDS = 0.5  # how often a running batch looks for pause or cancel
RECONNECTS = 1  # after a dropped connection, one new one per batch; then the rest waits


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1])


@dataclass
class BatchResult:
    claimed: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, state: str) -> None:
        self.counts[state] = self.counts.get(state, 0) + 1


class _Smtp:
    """One SMTP connection per batch, opened on first use and re-opened at most RECONNECTS."""

    def __init__(self, url: str) -> None:
        self._transport = SmtpTransport(url)
        self._stack = ExitStack()
        self._connection: SmtpConnection | None = None
        self._opened = 0

    def send(self, sender: str, recipient: str, raw: bytes) -> SmtpResult:
        if self._connection is None:
            if self._opened > RECONNECTS:
                raise SmtpUnavailable("too many dropped connections in this batch")
            self._opened += 1
            self._connection = self._stack.enter_context(self._transport.connect())
        try:
            return self._connection.send(sender, recipient, raw)
        except SmtpUnavailable:
            self.close()
            raise

    @property
    def can_reconnect(self) -> bool:
        return self._opened <= RECONNECTS

    def close(self) -> None:
        self._connection = None
        self._stack.close()
        self._stack = ExitStack()


@contextmanager
def _closing(smtp: _Smtp) -> Iterator[_Smtp]:
    try:
        yield smtp
    finally:
        smtp.close()


def claimer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def send_batch(runtime: Runtime, mailing_id: int, first_id: int, last_id: int) -> BatchResult:
    """Claim and send the due records of ``mailing_id`` with ids in [first_id, last_id]."""
    settings = runtime.settings
    knobs = load_mailing_settings(settings)
    claimer = claimer_name()
    result = BatchResult()
    with runtime.db.session() as session:
        mailing = session.get(Mailing, mailing_id)
        if mailing is None or mailing.state != "sending":
            return result
        now = utcnow()
        result.claimed = session.execute(
            update(MailingDelivery)
            .where(
                MailingDelivery.mailing_id == mailing_id,
                MailingDelivery.id.between(first_id, last_id),
                (MailingDelivery.state == "queued")
                | (
                    (MailingDelivery.state == "deferred") & (MailingDelivery.next_attempt_at <= now)
                ),
            )
            .values(state="sending", claimed_by=claimer, claimed_at=now, updated_at=now)
        ).rowcount
    if not result.claimed:
        return result
    with runtime.db.session() as session:
        rows = session.execute(
            select(
                MailingDelivery.id,
                MailingDelivery.account_id,
                MailingDelivery.address,
                MailingDelivery.domain,
                MailingDelivery.company,
                MailingDelivery.customer_number,
                MailingDelivery.attempts,
            )
            .where(MailingDelivery.claimed_by == claimer, MailingDelivery.state == "sending")
            .order_by(MailingDelivery.account_id, MailingDelivery.id)
        ).all()
        thread_of = threads(session, settings, mailing, ((r.account_id, r.address) for r in rows))
    _send_rows(runtime, knobs, mailing, claimer, rows, thread_of, result)
    return result


def _send_rows(
    runtime: Runtime,
    knobs: MailingSettings,
    mailing: Mailing,
    claimer: str,
    rows: list[Row[Any]],
    thread_of: dict[tuple[int, str], Thread],
    result: BatchResult,
) -> None:
    settings = runtime.settings
    factory = MessageFactory(settings, mailing)
    throttle = Throttle(runtime.redis, knobs.rate, knobs.domain_rate)
    smtp = _Smtp(settings.smtp_url)
    next_check = time.monotonic() + CONTROL_CHECK_SECONDS
    # One connection for the batch, committing after every message ("commit as you go").
    with runtime.db.engine.connect() as db, _closing(smtp):
        for row in rows:
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + CONTROL_CHECK_SECONDS
                state = db.scalar(select(Mailing.state).where(Mailing.id == mailing.id))
                db.commit()
                if state != "sending":
                    _release(db, claimer, state or "cancelled")
                    return
            delay = throttle.acquire(row.domain)
            if delay:
                _record(db, row, claimer, "deferred", "throttled", retry_in=delay, attempt=False)
                result.add("deferred")
                continue
            date = utcnow()
            recipient = messages.transport_address(row.address)
            message = factory.build(
                delivery_id=row.id,
                address=row.address,
                company=row.company,
                customer_number=row.customer_number,
                date=date,
                thread=thread_of.get((row.account_id, row.address)),
            )
            raw = dkim_fast.sign(message, settings.dkim_domain, runtime.dkim_keys)
            try:
                outcome = smtp.send(
                    bounces.verp_address(settings, row.id),
                    recipient,
                    raw,
                )
            except SmtpUnavailable as error:
                state = _temporary(db, knobs, row, claimer, str(error))
                result.add(state)
                if not smtp.can_reconnect:
                    _defer_rest(db, claimer, str(error))
                    return
                continue
            if outcome.sent:
                _record(db, row, claimer, "sent", outcome.reply, date=date)
                result.add("sent")
            elif outcome.outcome == "temporary":
                result.add(_temporary(db, knobs, row, claimer, outcome.reply))
            else:
                _record(db, row, claimer, "failed", outcome.reply)
                result.add("failed")


def _temporary(
    db: Connection, knobs: MailingSettings, row: Row[Any], claimer: str, reply: str
) -> str:
    if row.attempts + 1 >= knobs.max_attempts:
        _record(db, row, claimer, "failed", reply)
        return "failed"
    seconds = backoff(row.attempts + 1).total_seconds()
    _record(db, row, claimer, "deferred", reply, retry_in=seconds)
    return "deferred"


# Built once: the per-message UPDATE is the hot path of a mailing.
_OUTCOME = (
    update(MailingDelivery)
    .where(
        MailingDelivery.id == bindparam("record_id"),
        MailingDelivery.claimed_by == bindparam("claimer"),
        MailingDelivery.state == "sending",
    )
    .values(
        state=bindparam("new_state"),
        smtp_reply=bindparam("reply"),
        claimed_by=None,
        attempts=MailingDelivery.attempts + bindparam("attempt", type_=Integer),
        next_attempt_at=bindparam("next_attempt_at", type_=UTCDateTime),
        sent_at=bindparam("sent_at", type_=UTCDateTime),
        message_date=bindparam("message_date", type_=UTCDateTime),
        updated_at=bindparam("now", type_=UTCDateTime),
    )
)


def _record(
    db: Connection,
    row: Row[Any],
    claimer: str,
    state: str,
    reply: str,
    *,
    retry_in: float | None = None,
    attempt: bool = True,
    date: datetime | None = None,
) -> None:
    """Commit one record's outcome; a claim that was reaped meanwhile is left alone."""
    now = utcnow()
    db.execute(
        _OUTCOME,
        {
            "record_id": row.id,
            "claimer": claimer,
            "new_state": state,
            "reply": reply[:2000],
            "attempt": 1 if attempt else 0,
            "next_attempt_at": now + timedelta(seconds=retry_in) if retry_in is not None else None,
            "sent_at": now if state == "sent" else None,
            "message_date": date if state == "sent" else None,
            "now": now,
        },
    )
    db.commit()


def _update_claimed(connection: Connection, claimer: str, values: dict, *conditions: Any) -> int:
    return connection.execute(
        update(MailingDelivery)
        .where(
            MailingDelivery.claimed_by == claimer, MailingDelivery.state == "sending", *conditions
        )
        .values(**values)
    ).rowcount


def _release(db: Connection, claimer: str, mailing_state: str) -> None:
    """Give back what this batch has not sent: queued again on pause, cancelled on cancel."""
    state = "queued" if mailing_state == "paused" else "cancelled"
    _update_claimed(db, claimer, {"state": state, "claimed_by": None, "updated_at": utcnow()})
    db.commit()


def _defer_rest(db: Connection, claimer: str, reason: str) -> None:
    """The SMTP server is gone: the records not yet tried wait for the first backoff step."""
    now = utcnow()
    _update_claimed(
        db,
        claimer,
        {
            "state": "deferred",
            "smtp_reply": reason[:2000],
            "claimed_by": None,
            "next_attempt_at": now + backoff(1),
            "updated_at": now,
        },
    )
    db.commit()
