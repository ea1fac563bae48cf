"""Recording what happened to delivery records, one committed UPDATE per message.

Every write is conditional on the record still being ``sending`` under the writer's claim, so a
batch whose claim was reaped (its worker presumed dead) can never overwrite what the retry did.
A message that reached the SMTP server also leaves an attempt row (time, reply code and text)
in the same transaction, for the proof of delivery.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Integer, Row, bindparam, insert, update
from sqlalchemy.engine import Connection

from helpdesk.db import UTCDateTime, utcnow
from notifications.mailings.models import MailingAttempt, MailingDelivery

BACKOFF_SECONDS = (30, 120, 600, 1800, 3600, 7200)

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


_ATTEMPT = insert(MailingAttempt)


def smtp_code(reply: str) -> int | None:
    """The three-digit reply code a reply starts with (None for a dropped connection)."""
    head = reply[:3]
    return int(head) if head.isdigit() and len(head) == 3 else None


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` temporary failures."""
    return timedelta(seconds=BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1])


def record(
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
    result = db.execute(
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
    if attempt and cast(CursorResult[Any], result).rowcount:
        code = smtp_code(reply)
        db.execute(
            _ATTEMPT,
            {
                "delivery_id": row.id,
                "attempted_at": now,
                "outcome": state,
                "smtp_code": code,
                "smtp_text": (reply[4:] if code is not None else reply)[:2000],
            },
        )
    db.commit()


def temporary(db: Connection, max_attempts: int, row: Row[Any], claimer: str, reply: str) -> str:
    """A 4xx or a dropped connection: deferred with backoff, or failed after ``max_attempts``."""
    if row.attempts + 1 >= max_attempts:
        record(db, row, claimer, "failed", reply)
        return "failed"
    record(db, row, claimer, "deferred", reply, retry_in=backoff(row.attempts + 1).total_seconds())
    return "deferred"


def _update_claimed(db: Connection, claimer: str, values: dict[str, Any]) -> int:
    return db.execute(
        update(MailingDelivery)
        .where(MailingDelivery.claimed_by == claimer, MailingDelivery.state == "sending")
        .values(**values)
    ).rowcount


def release(db: Connection, claimer: str, mailing_state: str) -> None:
    """Give back what a batch has not sent: queued again on pause, cancelled on cancel."""
    state = "queued" if mailing_state == "paused" else "cancelled"
    _update_claimed(db, claimer, {"state": state, "claimed_by": None, "updated_at": utcnow()})
    db.commit()


def give_back(db: Connection, claimer: str) -> None:
    """The batch failed: what it had not sent is queued again, for a retry of the job (or the
    tick, after the lease) to send."""
    _update_claimed(db, claimer, {"state": "queued", "claimed_by": None, "updated_at": utcnow()})
    db.commit()


def defer_rest(db: Connection, claimer: str, reason: str) -> None:
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
