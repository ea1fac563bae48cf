"""Keeping the escalation timers honest: reconcile the database with RQ, and the page webhook.

The database is the truth about which steps are planned; RQ's scheduled jobs are only
alarms. ``reconcile`` runs every minute and once when a worker starts: it clocks tickets that
never had their due times computed, fires every step whose time has passed (a worker that was
down for an hour fires what it missed, once) and gives a timer to every future step that has
none (Redis lost its data, or a commit happened while Redis was down).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from helpdesk.runtime import Runtime
from tickets.models import OPEN_STATUSES, Ticket
from tickets.sla import escalation
from tickets.sla.clock import apply_sla
from tickets.sla.models import SlaEscalation

log = logging.getLogger(__name__)

BATCH = 500
WEBHOOK_TIMEOUT = 10  # seconds


class WebhookFailed(Exception):
    """The on-call webhook did not answer 2xx; RQ retries the job."""


@dataclass(frozen=True)
class Reconciled:
    clocked: int  # open tickets given due times for the first time
    fired: int  # steps fired now
    scheduled: int  # future steps that had lost their timer


def reconcile(runtime: Runtime, now: datetime) -> Reconciled:
    """Bring tickets, steps and timers in line as of ``now``; safe to run at any time."""
    clocked = _clock_unclocked(runtime, now)
    with runtime.db.session() as session:
        due = session.execute(
            select(SlaEscalation.ticket_id, SlaEscalation.step, SlaEscalation.due_at)
            .where(SlaEscalation.fired_at.is_(None), SlaEscalation.fire_at <= now)
            .order_by(SlaEscalation.fire_at)
            .limit(BATCH)
        ).all()
        future = [
            escalation.Timer(*row)
            for row in session.execute(
                select(
                    SlaEscalation.ticket_id,
                    SlaEscalation.step,
                    SlaEscalation.due_at,
                    SlaEscalation.fire_at,
                ).where(SlaEscalation.fired_at.is_(None), SlaEscalation.fire_at > now)
            )
        ]
    fired = sum(
        escalation.fire(runtime, ticket_id, step, due_at, now).outcome == "fired"
        for ticket_id, step, due_at in due
    )
    registry = ScheduledJobRegistry(queue=runtime.queue("default"))
    known = set(registry.get_job_ids())
    lost = [timer for timer in future if timer.job_id not in known]
    escalation.schedule(runtime, lost, now)
    if clocked or fired or lost:
        log.info(
            "SLA reconcile: %d clocked, %d fired, %d timers restored", clocked, fired, len(lost)
        )
    return Reconciled(clocked, fired, len(lost))


def _clock_unclocked(runtime: Runtime, now: datetime) -> int:
    """Open tickets filed before the SLA clock existed (or by a path that skipped it)."""
    with runtime.db.session() as session:
        tickets = session.scalars(
            select(Ticket)
            .where(Ticket.sla_key.is_(None), Ticket.status.in_(OPEN_STATUSES))
            .order_by(Ticket.id)
            .limit(BATCH)
        ).all()
        for ticket in tickets:
            apply_sla(session, ticket, now, reason="reconcile")
    return len(tickets)


def post_page_webhook(runtime: Runtime, escalation_id: int) -> int:
    """POST a fired page to ``ONCALL_WEBHOOK_URL`` as JSON; returns the HTTP status."""
    url = runtime.settings.oncall_webhook_url
    if url is None:
        return 0
    with runtime.db.session() as session:
        row = session.get_one(SlaEscalation, escalation_id)
        ticket = session.get_one(Ticket, row.ticket_id)
        body = {
            "event": "sla.page",
            "ticket": ticket.number,
            "subject": ticket.subject,
            "queue": ticket.queue,
            "priority": ticket.effective_priority,
            "support_level": ticket.support_level,
            "page_at": row.due_at.isoformat(),
            "first_response_due_at": _iso(ticket.first_response_due_at),
            "acknowledged": ticket.acknowledged_at is not None,
            "ticket_url": f"{runtime.settings.public_url}/konsole/tickets/{ticket.number}",
        }
    # ONCALL_WEBHOOK_URL is checked to be http(s) when the settings are read.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "helpdesk-sla"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310
            status = response.status
    except OSError as error:  # URLError and HTTPError are OSErrors
        raise WebhookFailed(f"on-call webhook: {error}") from error
    if not 200 <= status < 300:
        raise WebhookFailed(f"on-call webhook answered {status}")
    return status


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None
