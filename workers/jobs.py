"""RQ jobs: each takes plain ids, loads what it needs through the runtime, does one thing.

Domain modules enqueue these functions by reference, so each job imports the service it calls
when it runs: this module depends on no domain package at import time and forms no cycle.
"""

from __future__ import annotations

from datetime import datetime

from helpdesk import logs
from helpdesk.db import utcnow
from helpdesk.runtime import current


def drain_outbox() -> dict[str, int]:
    """Send the queued outbox messages over one SMTP connection (safe to run on many workers
    at once: each claims different rows)."""
    from notifications.outbox import batch

    return batch.drain(current()).counts


def deliver_outbound(outbound_id: int) -> str:
    """Send one outbox message, a retry with RQ's backoff (idempotent: a sent message is never
    sent again)."""
    from notifications.outbox import services

    logs.bind(outbound_id=outbound_id)
    return services.deliver(current(), outbound_id)


def sweep_outbox() -> list[int]:
    """Re-enqueue outbox messages whose job was lost (Redis down at commit, worker killed)."""
    from notifications.outbox import services

    return services.requeue_stale(current())


def send_mailing_batch(mailing_id: int, first_id: int, last_id: int) -> dict[str, int]:
    """Send the due delivery records of one batch of a mandatory mailing (safe to run twice)."""
    from notifications.mailings import batch, dispatch

    logs.bind(mailing_id=mailing_id)
    runtime = current()
    result = batch.send_batch(runtime, mailing_id, first_id, last_id)
    with runtime.db.session() as session:
        dispatch.finish_if_complete(session, mailing_id)
    return {"claimed": result.claimed, **result.counts}


def mailing_tick() -> dict[str, int]:
    """Start scheduled mandatory mailings, reap dead claims, enqueue due retries, mark finished
    ones done, and tell customers about new hard bounces."""
    from notifications.mailings import dispatch, repair

    runtime = current()
    result = dispatch.tick(runtime)
    return {
        "started": result.started,
        "reaped": result.reaped,
        "jobs": result.enqueued_jobs,
        "finished": result.finished,
        "bounces_noticed": repair.notice_bounces(runtime),
    }


def fire_sla_step(ticket_id: int, step: str, due_iso: str) -> str:
    """Fire one SLA escalation step (warning, breach notice or page) once, when still due."""
    from tickets.models import format_number
    from tickets.sla import escalation

    logs.bind(ticket=format_number(ticket_id))
    return escalation.fire(
        current(), ticket_id, step, datetime.fromisoformat(due_iso), utcnow()
    ).outcome


def schedule_sla_timers(ticket_id: int) -> int:
    """Give the escalation steps of a newly filed ticket their timers (safe to run twice)."""
    from tickets.sla import escalation

    return escalation.schedule_planned(current(), ticket_id, utcnow())


def reconcile_sla() -> dict[str, int]:
    """Fire SLA steps whose time has passed and restore lost timers (every minute, at start)."""
    from tickets.sla import timers

    result = timers.reconcile(current(), utcnow())
    return {"clocked": result.clocked, "fired": result.fired, "scheduled": result.scheduled}


def post_sla_page_webhook(escalation_id: int) -> int:
    """Tell the on-call webhook about a page that fired; RQ retries when it does not answer."""
    from tickets.sla import timers

    return timers.post_page_webhook(current(), escalation_id)


def purge_sensitive_data() -> int:
    """Purge the sensitive data of tickets closed longer than the retention period."""
    from tickets import sensitive

    return sensitive.purge_expired(current())
