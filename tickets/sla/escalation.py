"""The escalation ladder: plan a ticket's steps, give them RQ timers, fire each exactly once.

A step is a row in ``sla_escalations``, unique per ticket, step and due time. Planning
inserts the rows the current due times call for and drops unfired ones they no longer call
for. Firing claims the row (``fired_at`` set where it is empty) in the same transaction that
queues the mails, so a step fires once however many jobs try. Timers are RQ scheduled jobs,
handed to Redis only after the planning transaction commits (for a newly filed ticket by a
worker job enqueued with its acknowledgement); ``tickets.sla.timers.reconcile``
fires whatever a lost timer or a stopped worker missed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

from accounts.models import User
from helpdesk.db import rows_changed, utcnow
from helpdesk.labels import label
from helpdesk.runtime import Runtime, current
from notifications.outbox.services import MailRequest, enqueue_delivery, queue_mail
from tickets.metrics import SLA_ESCALATIONS, escalation_kind
from tickets.models import Ticket
from tickets.routing import routing_rules
from tickets.sla.calendar import Pause
from tickets.sla.labels import format_berlin
from tickets.sla.live import current_policies
from tickets.sla.models import SlaEscalation
from tickets.sla.targets import Policy
from workers import jobs

log = logging.getLogger(__name__)

WEBHOOK_RETRY = Retry(max=4, interval=[30, 120, 600, 1800])
_TIMERS = "sla_timers"  # Session.info key: timers to hand to RQ once the transaction commits


@dataclass(frozen=True)
class Timer:
    """When to fire one step; the job finds the step again by ticket, step and due time."""

    ticket_id: int
    step: str
    due_at: datetime
    fire_at: datetime

    @property
    def job_id(self) -> str:
        return f"sla-{self.ticket_id}-{self.step}-{self.due_at:%Y%m%dT%H%M%S%f}"


def plan(
    session: Session,
    ticket: Ticket,
    policy: Policy,
    targets: dict[str, tuple[datetime, datetime]],
    pauses: Sequence[Pause],
    *,
    running: bool,
    filed: bool = False,
) -> list[Timer]:
    """Make the ticket's unfired steps match ``targets`` (kind -> (clock start, due time)).

    Warnings fire ``warn_before`` minutes on the policy's clock before a due time, breach
    notices at it; a paging ticket gets its next page. Fired steps are history and stay.
    A ticket being ``filed`` has no steps yet, so none are read, and its timers are left to
    ``timers_job``, which the filing enqueues with its acknowledgement after the commit.
    """
    ladder = policy.ladder
    wanted: dict[tuple[str, datetime], datetime] = {}
    for kind, (start, due) in targets.items():
        if ladder.warn_before is not None:
            target = policy.target(kind)
            warn_at = target.clock.add(start, target.minutes - ladder.warn_before, pauses)
            wanted[(f"warn_{kind}", due)] = warn_at
        wanted[(f"breach_{kind}", due)] = due
    paging_since = ticket.paging_since
    if running and ladder.page_every is not None and paging_since is not None and _paging(ticket):
        slot = paging_since if filed else next_page_slot(session, ticket, ladder.page_every)
        wanted[("page", slot)] = slot

    existing: dict[tuple[str, datetime], SlaEscalation] = {}
    if not filed:
        rows = session.scalars(select(SlaEscalation).where(SlaEscalation.ticket_id == ticket.id))
        existing = {(row.step, row.due_at): row for row in rows}
    for key, row in existing.items():
        if row.fired_at is None and key not in wanted:
            session.delete(row)
    timers = []
    for (step, due), fire_at in wanted.items():
        found = existing.get((step, due))
        if found is None:
            session.add(SlaEscalation(ticket_id=ticket.id, step=step, due_at=due, fire_at=fire_at))
        elif found.fired_at is None and found.fire_at != fire_at:
            found.fire_at = fire_at
        else:
            continue
        timers.append(Timer(ticket.id, step, due, fire_at))
    if not filed:
        session.info.setdefault(_TIMERS, []).extend(timers)
    return timers


def _paging(ticket: Ticket) -> bool:
    return ticket.paging_since is not None and ticket.acknowledged_at is None


def next_page_slot(session: Session, ticket: Ticket, every_minutes: int) -> datetime:
    """The next instant on the page schedule (every ``every_minutes`` from ``paging_since``).

    After a page that fired late (a worker was down), the schedule skips the slots missed in
    between: on-call gets one page for the gap, not a burst.
    """
    if ticket.paging_since is None:
        raise ValueError(f"ticket {ticket.id} is not paging")
    last = session.scalar(
        select(func.max(SlaEscalation.fired_at)).where(
            SlaEscalation.ticket_id == ticket.id,
            SlaEscalation.step == "page",
            SlaEscalation.due_at >= ticket.paging_since,
            SlaEscalation.fired_at.is_not(None),
        )
    )
    if last is None:
        return ticket.paging_since
    every = timedelta(minutes=every_minutes)
    return ticket.paging_since + every * (math.floor((last - ticket.paging_since) / every) + 1)


def cancel_pages(session: Session, ticket: Ticket) -> None:
    """Drop the ticket's unfired page (it was acknowledged)."""
    session.execute(
        delete(SlaEscalation).where(
            SlaEscalation.ticket_id == ticket.id,
            SlaEscalation.step == "page",
            SlaEscalation.fired_at.is_(None),
        )
    )


def schedule(runtime: Runtime, timers: Sequence[Timer], now: datetime) -> None:
    """Hand timers to RQ: due ones go straight to the queue, later ones to its scheduler (those
    in one round trip)."""
    queue = runtime.queue("default")
    with runtime.redis.pipeline() as pipeline:
        for timer in timers:
            args = (timer.ticket_id, timer.step, timer.due_at.isoformat())
            if timer.fire_at <= now:
                queue.enqueue(jobs.fire_sla_step, *args, job_id=timer.job_id, job_timeout=120)
            else:
                queue.enqueue_at(
                    timer.fire_at,
                    jobs.fire_sla_step,
                    *args,
                    job_id=timer.job_id,
                    job_timeout=120,
                    pipeline=pipeline,
                )
        pipeline.execute()


def timers_job(runtime: Runtime, ticket_id: int, pipeline: Pipeline) -> None:
    """Add to ``pipeline`` the job that gives a newly filed ticket's steps their timers."""
    queue = runtime.queue("default")
    queue.enqueue_many(
        [
            queue.prepare_data(
                jobs.schedule_sla_timers,
                args=(ticket_id,),
                job_id=f"sla-timers-{ticket_id}",
                timeout=120,
            )
        ],
        pipeline=pipeline,
    )


def schedule_planned(runtime: Runtime, ticket_id: int, now: datetime) -> int:
    """Give each unfired step of the ticket its timer; return how many (safe to run twice)."""
    with runtime.db.reading() as session:
        planned = [
            Timer(*row)
            for row in session.execute(
                select(
                    SlaEscalation.ticket_id,
                    SlaEscalation.step,
                    SlaEscalation.due_at,
                    SlaEscalation.fire_at,
                ).where(SlaEscalation.ticket_id == ticket_id, SlaEscalation.fired_at.is_(None))
            )
        ]
    schedule(runtime, planned, now)
    return len(planned)


@event.listens_for(Session, "after_commit")
def _schedule_after_commit(session: Session) -> None:
    timers = session.info.pop(_TIMERS, None)
    if not timers:
        return
    try:
        schedule(current(), timers, utcnow())
    except RedisError:
        log.exception("%d SLA timers not scheduled; the reconcile job will fire them", len(timers))


@event.listens_for(Session, "after_rollback")
def _forget_timers(session: Session) -> None:
    session.info.pop(_TIMERS, None)


@dataclass(frozen=True)
class Fired:
    """What firing a step did: ``outcome`` is fired, skipped, already_fired, cancelled, early."""

    outcome: str
    recipients: tuple[str, ...] = ()
    outbound_ids: tuple[int, ...] = ()


def fire(runtime: Runtime, ticket_id: int, step: str, due_at: datetime, now: datetime) -> Fired:
    """Fire one step if it is still planned and due; safe to call any number of times."""
    with runtime.db.session() as session:
        row = session.scalar(
            select(SlaEscalation).where(
                SlaEscalation.ticket_id == ticket_id,
                SlaEscalation.step == step,
                SlaEscalation.due_at == due_at,
            )
        )
        if row is None:
            return Fired("cancelled")
        if row.fired_at is not None:
            return Fired("already_fired")
        if row.fire_at > now:
            return Fired("early")  # re-planned later; its own timer fires it
        claimed = rows_changed(
            session,
            update(SlaEscalation)
            .where(SlaEscalation.id == row.id, SlaEscalation.fired_at.is_(None))
            .values(fired_at=now)
            .execution_options(synchronize_session=False),
        )
        if not claimed:
            return Fired("already_fired")
        ticket = session.get_one(Ticket, ticket_id)
        fired = _act(runtime, session, ticket, row, now)
        row.recipients = list(fired.recipients)
        session.flush()
        outbound_ids = [outbound.id for outbound in fired.outbound]
    enqueue_delivery(runtime, outbound_ids)
    if step == "page" and runtime.settings.oncall_webhook_url and fired.outcome == "fired":
        runtime.queue("default").enqueue(
            jobs.post_sla_page_webhook, row.id, job_id=f"sla-webhook-{row.id}", retry=WEBHOOK_RETRY
        )
    log.info("SLA step %s of ticket %s (due %s): %s", step, ticket_id, due_at, fired.outcome)
    if fired.outcome in ("fired", "skipped"):  # came due; skipped: nobody to tell
        SLA_ESCALATIONS.labels(escalation_kind(step), step).inc()
    return Fired(fired.outcome, fired.recipients, tuple(outbound_ids))


@dataclass
class _Action:
    outcome: str
    recipients: tuple[str, ...]
    outbound: list[Any]


def _act(
    runtime: Runtime, session: Session, ticket: Ticket, row: SlaEscalation, now: datetime
) -> _Action:
    kind = row.step.partition("_")[2]
    policies = current_policies(runtime.settings.sla_policies_path)
    ladder = policies.ladder(*ticket.sla_key.split("/")) if ticket.sla_key else None
    if row.step.startswith("warn_"):
        if row.due_at <= now:  # the breach notice, due as well, says more than a late warning
            return _Action("skipped", (), [])
        recipients = _assignee_or_queue_agents(session, ticket)
        template, subject = "sla_warning", f"SLA-Warnung: {label(kind, 'sla_target')} fällig"
    elif row.step.startswith("breach_"):
        setattr(ticket, f"{kind}_breached", True)
        if ladder is not None and not ladder.notify_supervisors:
            return _Action("fired", (), [])
        recipients = _queue_supervisors(session, ticket.queue)
        template, subject = "sla_breach", f"SLA verletzt: {label(kind, 'sla_target')} überfällig"
    else:
        recipients = runtime.settings.oncall_emails
        template, subject = "sla_page", "KRITISCH: Bereitschaft, bitte übernehmen"
        if ladder is not None and ladder.page_every is not None and _paging(ticket):
            plan_next_page(session, ticket, ladder.page_every)
    outbound = [
        queue_mail(
            session,
            MailRequest(
                kind=template,
                dedupe_key=f"sla:{row.id}:{recipient.lower()}",
                recipient=recipient,
                subject=f"[{ticket.number}] {subject}: {ticket.subject}",
                template=template,
                context=mail_context(runtime, ticket, row, kind),
                ticket_id=ticket.id,
            ),
            runtime.settings.mail_domain,
        )
        for recipient in recipients
    ]
    return _Action("fired", tuple(recipients), outbound)


def plan_next_page(session: Session, ticket: Ticket, every_minutes: int) -> None:
    session.flush()  # the page just claimed counts for the schedule
    slot = next_page_slot(session, ticket, every_minutes)
    session.add(SlaEscalation(ticket_id=ticket.id, step="page", due_at=slot, fire_at=slot))
    session.info.setdefault(_TIMERS, []).append(Timer(ticket.id, "page", slot, slot))


def mail_context(runtime: Runtime, ticket: Ticket, row: SlaEscalation, kind: str) -> dict[str, Any]:
    ticket_url = f"{runtime.settings.public_url}/konsole/tickets/{ticket.number}"
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "queue": queue_name(runtime, ticket.queue),
        "priority": ticket.effective_priority,
        "support_level": ticket.support_level or "",
        "target": label(kind, "sla_target"),
        "due": format_berlin(row.due_at),
        "ticket_url": ticket_url,
        "acknowledge_url": f"{ticket_url}/sla",
    }


def queue_name(runtime: Runtime, queue_id: str) -> str:
    """The queue's name as people read it (mails about tickets name it)."""
    names = {queue.id: queue.name for queue in routing_rules(runtime).queues}
    return names.get(queue_id, queue_id)


def _staff(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User).where(User.kind == "staff", User.active.is_(True)).order_by(User.id)
        )
    )


def _assignee_or_queue_agents(session: Session, ticket: Ticket) -> tuple[str, ...]:
    """The assignee; an unassigned ticket warns the agents of its queue. Agents who turned
    SLA warnings off on their settings page (``tickets.agent_alerts``) are left out."""
    if ticket.assignee_id is not None:
        assignee = session.get(User, ticket.assignee_id)
        if assignee is not None and assignee.active:
            return (assignee.email,) if assignee.notify_sla_warning else ()
    return tuple(
        user.email
        for user in _staff(session)
        if ticket.queue in user.queues
        and {"agent", "supervisor"} & set(user.roles)
        and user.notify_sla_warning
    )


def _queue_supervisors(session: Session, queue: str) -> tuple[str, ...]:
    """Supervisors of ``queue``; when it has none, every supervisor (a breach is never lost)."""
    supervisors = [user for user in _staff(session) if "supervisor" in user.roles]
    of_queue = [user.email for user in supervisors if queue in user.queues]
    return tuple(of_queue or (user.email for user in supervisors))
