"""Handing delivery records to the workers in batches, retrying deferred ones, reaping claims.

One RQ job covers a range of record ids (``MAILING_BATCH_SIZE`` records); all jobs of a
fan-out are enqueued in one Redis pipeline. The periodic tick returns records whose claim
outlived its lease (the worker died) to ``deferred``, enqueues deferred records that are due
and queued records whose job was lost (both become ``queued`` again), and marks finished
mailings done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from helpdesk.db import rows_changed, utcnow
from helpdesk.runtime import Runtime
from notifications.mailings.models import OPEN_DELIVERY_STATES, Mailing, MailingDelivery
from workers import jobs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickResult:
    reaped: int
    enqueued_jobs: int
    finished: int
    started: int = 0


def ranges(ids: list[int], size: int) -> list[tuple[int, int]]:
    """Consecutive slices of the sorted ``ids`` as (first, last) pairs of ``size`` records."""
    ordered = sorted(ids)
    return [
        (ordered[i], ordered[min(i + size, len(ordered)) - 1]) for i in range(0, len(ordered), size)
    ]


def enqueue_batches(runtime: Runtime, mailing_id: int, ids: list[int]) -> int:
    """One job per batch of ``ids``, enqueued in one pipeline; returns the number of jobs."""
    batches = ranges(ids, runtime.settings.mailing_batch_size)
    if not batches:
        return 0
    queue = runtime.queue("mail")
    queue.enqueue_many(
        [
            queue.prepare_data(
                jobs.send_mailing_batch,
                args=(mailing_id, first, last),
                timeout=runtime.settings.mailing_lease_seconds,
                result_ttl=600,
            )
            for first, last in batches
        ]
    )
    return len(batches)


def queued_ids(session: Session, mailing_id: int) -> list[int]:
    return list(
        session.scalars(
            select(MailingDelivery.id).where(
                MailingDelivery.mailing_id == mailing_id, MailingDelivery.state == "queued"
            )
        )
    )


def finish_if_complete(session: Session, mailing_id: int) -> bool:
    """Mark a sending mailing done when none of its records is open any more."""
    open_records = exists().where(
        MailingDelivery.mailing_id == mailing_id,
        MailingDelivery.state.in_(OPEN_DELIVERY_STATES),
    )
    return bool(
        rows_changed(
            session,
            update(Mailing)
            .where(Mailing.id == mailing_id, Mailing.state == "sending", ~open_records)
            .values(state="done", finished_at=utcnow(), updated_at=utcnow()),
        )
    )


def start_scheduled(runtime: Runtime, now: datetime) -> int:
    """Start the drafts whose scheduled time has come; the database is the schedule's truth."""
    # Imported here: services builds on this module (it enqueues batches through it).
    from notifications.mailings import services

    with runtime.db.reading() as session:
        due = session.execute(
            select(Mailing.id, Mailing.scheduled_by).where(
                Mailing.state == "draft", Mailing.scheduled_at <= now
            )
        ).all()
    started = 0
    for mailing_id, actor in due:
        try:
            services.start_sending(runtime, mailing_id, actor or "schedule")
        except services.MailingRefused as error:
            log.warning("scheduled mailing %s not started: %s", mailing_id, error)
        else:
            started += 1
    return started


def tick(runtime: Runtime, now: datetime | None = None) -> TickResult:
    """Start scheduled mailings, reap dead claims, enqueue what is due, finish what is complete
    (periodic job)."""
    now = now or utcnow()
    started = start_scheduled(runtime, now)
    lease = timedelta(seconds=runtime.settings.mailing_lease_seconds)
    due: dict[int, list[int]] = {}
    with runtime.db.session() as session:
        reaped = rows_changed(
            session,
            update(MailingDelivery)
            .where(MailingDelivery.state == "sending", MailingDelivery.claimed_at < now - lease)
            .values(state="deferred", claimed_by=None, next_attempt_at=now, updated_at=now),
        )
        sending = list(session.scalars(select(Mailing.id).where(Mailing.state == "sending")))
        for mailing_id in sending:
            this_mailing = MailingDelivery.mailing_id == mailing_id
            due_deferred = (MailingDelivery.state == "deferred") & (
                MailingDelivery.next_attempt_at <= now
            )
            stale_queued = (MailingDelivery.state == "queued") & (
                MailingDelivery.updated_at < now - lease
            )
            ids = list(
                session.scalars(
                    select(MailingDelivery.id).where(this_mailing, due_deferred | stale_queued)
                )
            )
            if ids:
                session.execute(
                    update(MailingDelivery)
                    .where(this_mailing, due_deferred | stale_queued)
                    .values(state="queued", updated_at=now)
                )
                due[mailing_id] = ids
        finished = sum(finish_if_complete(session, mailing_id) for mailing_id in sending)
    jobs = sum(enqueue_batches(runtime, mailing_id, ids) for mailing_id, ids in due.items())
    if started or reaped or jobs or finished:
        log.info(
            "mailing tick: %s started, %s reaped, %s jobs enqueued, %s finished",
            started,
            reaped,
            jobs,
            finished,
        )
    return TickResult(reaped, jobs, finished, started)
