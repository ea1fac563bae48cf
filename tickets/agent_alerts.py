"""Mails agents choose on their settings page: a new ticket in one of their queues, a
customer's answer to a ticket assigned to them, and SLA warnings on their tickets (sent by
``tickets.sla.escalation`` to those whose ``notify_sla_warning`` is on).

An alert is queued in the transaction that stores what it tells about (the ticket, the
customer's message), under a dedupe key naming that new row and the agent: what is stored once
is told once (a mail delivered twice is one message), and the outbox's claim sends each row
once however many workers or retries try. The rows go to the mail workers after the
commit (the outbox sweep picks them up should Redis be away then).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from accounts.models import User
from accounts.services import NotFound, record_audit
from accounts.users import granted_permissions
from helpdesk.errors import ValidationError
from helpdesk.labels import LABELS, label
from helpdesk.runtime import Runtime
from notifications.outbox.services import MailRequest, enqueue_delivery, queue_new_mail
from tickets.models import Ticket, TicketMessage
from tickets.sla.escalation import queue_name

log = logging.getLogger(__name__)

ALERTS = tuple(LABELS["agent_alert"])  # new_ticket, customer_reply, sla_warning
_QUEUED = "agent_alerts"  # Session.info key: (runtime, outbox ids) to hand over after commit


@dataclass(frozen=True)
class AlertSettings:
    chosen: frozenset[str]


def settings_of(runtime: Runtime, user_id: int) -> AlertSettings:
    with runtime.db.session() as session:
        return AlertSettings(_chosen(_agent(session, user_id)))


def choose(runtime: Runtime, user_id: int, alerts: Iterable[str], actor: str) -> AlertSettings:
    """Store which mails the agent wants; a change is written to the audit log."""
    wanted = frozenset(alerts)
    unknown = sorted(wanted - set(ALERTS))
    if unknown:
        raise ValidationError({"alerts": f"Unbekannte Benachrichtigung: {', '.join(unknown)}."})
    with runtime.db.session() as session:
        agent = _agent(session, user_id)
        before = _chosen(agent)
        for alert in ALERTS:
            setattr(agent, f"notify_{alert}", alert in wanted)
        if before != wanted:
            record_audit(
                session,
                account_id=None,
                actor=actor,
                action="staff.notifications_changed",
                subject_id=user_id,
                before={"alerts": sorted(before)},
                after={"alerts": sorted(wanted)},
            )
    return AlertSettings(wanted)


def new_ticket(runtime: Runtime, session: Session, ticket: Ticket) -> None:
    """Tell the agents of the ticket's queue who asked for it (in the filing transaction)."""
    agents = session.scalars(
        select(User).where(
            User.kind == "staff", User.active.is_(True), User.notify_new_ticket.is_(True)
        )
    )
    recipients = [
        agent
        for agent in agents
        if ticket.queue in agent.queues and "agent" in granted_permissions(agent)
    ]
    if recipients:
        session.flush()  # the ticket's id names the alert
        _queue(runtime, session, ticket, "new_ticket", recipients, ticket.reply_to, ticket.id)


def customer_replied(
    runtime: Runtime, session: Session, ticket: Ticket, message: TicketMessage
) -> None:
    """Tell the ticket's assignee, if they asked for it (in the transaction storing the answer)."""
    if ticket.assignee_id is None:
        return
    assignee = session.get(User, ticket.assignee_id)
    if assignee is None or not assignee.active or not assignee.notify_customer_reply:
        return
    session.flush()  # the message's id names the alert
    _queue(runtime, session, ticket, "customer_reply", [assignee], message.author, message.id)


def _queue(
    runtime: Runtime,
    session: Session,
    ticket: Ticket,
    alert: str,
    agents: Sequence[User],
    sender: str,
    about_id: int,
) -> None:
    settings = runtime.settings
    ticket_url = f"{settings.public_url}/konsole/tickets/{ticket.number}"
    context = {
        "headline": label(alert, "agent_alert_mail"),
        "reason": label(alert, "agent_alert"),
        "number": ticket.number,
        "subject": ticket.subject,
        "queue": queue_name(runtime, ticket.queue),
        "priority": ticket.effective_priority,
        "sender": sender,
        "ticket_url": ticket_url,
        "settings_url": f"{settings.public_url}/konsole/benachrichtigungen",
    }
    outbound = [
        queue_new_mail(
            session,
            MailRequest(
                kind="agent_alert",
                dedupe_key=f"alert:{alert}:{about_id}:{agent.id}",
                recipient=agent.email,
                subject=f"[{ticket.number}] {context['headline']}: {ticket.subject}",
                template="agent_alert",
                context=context,
                ticket_id=ticket.id,
            ),
            settings.mail_domain,
        )
        for agent in agents
    ]
    session.flush()
    session.info.setdefault(_QUEUED, (runtime, []))[1].extend(row.id for row in outbound)


def _chosen(agent: User) -> frozenset[str]:
    return frozenset(alert for alert in ALERTS if getattr(agent, f"notify_{alert}"))


def _agent(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.kind != "staff":
        raise NotFound(f"staff user {user_id}")
    return user


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued is None:
        return
    runtime, outbound_ids = queued
    try:
        enqueue_delivery(runtime, outbound_ids)
    except RedisError:
        log.exception(
            "%d agent alerts not enqueued; the outbox sweep sends them", len(outbound_ids)
        )


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_QUEUED, None)
