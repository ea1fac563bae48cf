"""Delivery records that failed or wait, for the failed-work page: list, send again, give up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, select, update

from helpdesk.db import rows_changed, utcnow
from helpdesk.runtime import Runtime
from notifications.mailings import dispatch
from notifications.mailings.models import Mailing, MailingDelivery


class NotRetryable(Exception):
    """The record was sent, bounced or cancelled, is in flight, or its mailing was cancelled."""


def _failed_or_waiting(runtime: Runtime) -> ColumnElement[bool]:
    """Failed or deferred, or queued or claimed for longer than the lease: its job or its
    worker was lost. A record in flight within its lease is never touched."""
    stale = utcnow() - timedelta(seconds=runtime.settings.mailing_lease_seconds)
    return MailingDelivery.state.in_(("failed", "deferred")) | (
        MailingDelivery.state.in_(("queued", "sending")) & (MailingDelivery.updated_at < stale)
    )


def failed_or_waiting(runtime: Runtime, limit: int = 200) -> list[MailingDelivery]:
    """The records that need a person, most recently changed first."""
    with runtime.db.reading() as session:
        return list(
            session.scalars(
                select(MailingDelivery)
                .where(_failed_or_waiting(runtime))
                .order_by(MailingDelivery.updated_at.desc())
                .limit(limit)
            )
        )


def retry(runtime: Runtime, delivery_id: int) -> None:
    """Queue the record again and send it now; a finished mailing goes back to sending."""
    with runtime.db.session() as session:
        record = session.get(MailingDelivery, delivery_id)
        mailing = session.get(Mailing, record.mailing_id, with_for_update=True) if record else None
        if mailing is None or mailing.state in ("cancelled", "draft"):
            raise NotRetryable(delivery_id)
        moved = rows_changed(
            session,
            update(MailingDelivery)
            .where(MailingDelivery.id == delivery_id, _failed_or_waiting(runtime))
            .values(state="queued", claimed_by=None, next_attempt_at=None, updated_at=utcnow()),
        )
        if not moved:
            raise NotRetryable(delivery_id)
        if mailing.state == "done":
            mailing.state, mailing.finished_at = "sending", None
        mailing_id, sending = mailing.id, mailing.state == "sending"
    if sending:  # a paused mailing sends it when it is resumed
        dispatch.enqueue_batches(runtime, mailing_id, [delivery_id])


def discard(runtime: Runtime, delivery_id: int) -> None:
    """Give the record up (cancelled); its mailing is done when nothing else is open."""
    with runtime.db.session() as session:
        record = session.get(MailingDelivery, delivery_id)
        moved = rows_changed(
            session,
            update(MailingDelivery)
            .where(MailingDelivery.id == delivery_id, _failed_or_waiting(runtime))
            .values(state="cancelled", claimed_by=None, updated_at=utcnow()),
        )
        if record is None or not moved:
            raise NotRetryable(delivery_id)
        dispatch.finish_if_complete(session, record.mailing_id)
