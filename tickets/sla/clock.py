"""A ticket's SLA clock: which policy applies, its pauses, due times, and what people see.

``apply_sla`` is called whenever something that moves the clock happens: the ticket is filed,
its priority, queue or status changes, or a message joins its thread. It recomputes
everything from the ticket's state, so calling it twice changes nothing, and plans the
escalation steps (``tickets.sla.escalation``) that follow from the new due times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Account
from tickets.models import Ticket, TicketEvent, TicketMessage
from tickets.routing import RuleSet
from tickets.sla import escalation
from tickets.sla.labels import format_berlin
from tickets.sla.live import current_policies
from tickets.sla.models import SlaPause
from tickets.sla.targets import Policy, SlaPolicies, UnknownPolicy
from vocabulary import UnknownEdition, support_level_for_edition

log = logging.getLogger(__name__)

# The clock stands still while the ticket waits for the customer or is resolved.
PAUSED_STATUSES = ("waiting", "resolved", "closed")
DONE_STATUSES = ("resolved", "closed")


def support_level_of(session: Session, ticket: Ticket) -> str:
    """The level of the ticket's account edition; Community without an account."""
    edition = None
    if ticket.account_id is not None:
        edition = session.scalar(select(Account.edition).where(Account.id == ticket.account_id))
    return _support_level(edition, ticket.account_id)


def _support_level(edition: str | None, account_id: int | None) -> str:
    try:
        return support_level_for_edition(edition)
    except UnknownEdition:
        log.warning("account %s: unknown edition %r, counted as Community", account_id, edition)
        return support_level_for_edition(None)


def policy_for(policies: SlaPolicies, support_level: str, ticket: Ticket) -> Policy:
    """The routing rule's ``sla`` override when it names a policy, else level and priority."""
    if ticket.sla_policy:
        level, _, priority = ticket.sla_policy.partition("/")
        try:
            return policies.policy(level, priority)
        except UnknownPolicy:
            log.warning(
                "ticket %s: routing names no SLA policy %r; using %s/%s",
                ticket.id,
                ticket.sla_policy,
                support_level,
                ticket.effective_priority,
            )
    return policies.policy(support_level, ticket.effective_priority)


def unknown_overrides(rules: RuleSet, policies: SlaPolicies) -> list[str]:
    """Routing rules whose ``sla`` names no policy ("Level/priority", e.g. ``Gold/high``)."""
    problems = []
    for rule in (*rules.rules, rules.default):
        name = rule.action.sla_policy
        if name is None:
            continue
        level, _, priority = name.partition("/")
        try:
            policies.policy(level, priority)
        except UnknownPolicy as error:
            problems.append(f"rule {rule.id!r} (line {rule.line}): sla {name!r}: {error}")
    return problems


def apply_sla(
    session: Session,
    ticket: Ticket,
    now: datetime,
    *,
    reason: str,
    policies: SlaPolicies | None = None,
) -> Policy:
    """(Re)compute the ticket's policy, pauses, due times and planned escalation steps.

    ``reason`` says what happened (``filed``, a history action such as ``changed``); it is
    only logged: everything is derived from the ticket's status, thread and account.

    Call it inside the transaction that changed the ticket, after the change was made (and
    flushed, for a new ticket). The timers for newly planned steps are handed to RQ after that
    transaction commits.
    """
    support_level = support_level_of(session, ticket)
    thread = _thread(session, ticket)
    pauses = list(
        session.scalars(
            select(SlaPause).where(SlaPause.ticket_id == ticket.id).order_by(SlaPause.id)
        )
    )
    spans = _update_pauses(session, ticket, now, thread, pauses)
    policy, targets, running = _clock(
        ticket, support_level, now, thread, spans, policies or current_policies()
    )
    log.debug("ticket %s clocked (%s): %s", ticket.id, reason, policy.name)
    escalation.plan(session, ticket, policy, targets, spans, running=running)
    return policy


def start_sla(
    session: Session,
    ticket: Ticket,
    now: datetime,
    *,
    edition: str | None,
    policies: SlaPolicies | None = None,
) -> Policy:
    """``apply_sla`` for a ticket being filed without a message, which it also stores.

    Call it instead of the new ticket's first flush: such a ticket has no thread, pause or
    step yet, so nothing is read, and its due times go into the INSERT. ``edition`` is its
    account's, as read for routing.
    """
    ticket.created_at = ticket.created_at or now
    support_level = _support_level(edition, ticket.account_id)
    spans = _update_pauses(session, ticket, now, [], [])
    policy, targets, running = _clock(
        ticket, support_level, now, [], spans, policies or current_policies()
    )
    session.flush()
    escalation.plan(session, ticket, policy, targets, spans, running=running, filed=True)
    return policy


def _clock(
    ticket: Ticket,
    support_level: str,
    now: datetime,
    thread: list[tuple[str, datetime, str]],
    spans: list[tuple[datetime, datetime]],
    policies: SlaPolicies,
) -> tuple[Policy, dict[str, tuple[datetime, datetime]], bool]:
    """Set the ticket's policy, responses and due times; return the policy, the pending
    targets (kind -> (clock start, due time)) and whether the clock runs."""
    ticket.support_level = support_level
    policy = policy_for(policies, support_level, ticket)
    ticket.sla_key = policy.name
    start = ticket.created_at or now
    _update_responses(ticket, policy, start, spans, thread)

    target = policy.target
    ticket.first_response_due_at = target("first_response").due(start, spans)
    if ticket.awaiting_reply_since is not None:
        ticket.next_response_due_at = target("next_response").due(
            ticket.awaiting_reply_since, spans
        )
    else:
        ticket.next_response_due_at = None
    ticket.resolution_due_at = target("resolution").due(start, spans)

    if ticket.status in DONE_STATUSES:
        ticket.resolved_at = ticket.resolved_at or now
        ticket.resolution_minutes = policy.clock.business_minutes(start, ticket.resolved_at, spans)
        if ticket.resolved_at > ticket.resolution_due_at:
            ticket.resolution_breached = True
    else:
        ticket.resolved_at = None
        ticket.resolution_minutes = None

    running = ticket.status not in PAUSED_STATUSES
    _update_paging(ticket, policy, now, running)
    pending = pending_due_times(ticket)
    ticket.sla_next_due_at = min(pending.values(), default=None)
    starts = {
        "first_response": start,
        "next_response": ticket.awaiting_reply_since or start,
        "resolution": start,
    }
    return policy, {kind: (starts[kind], due) for kind, due in pending.items()}, running


def pending_due_times(ticket: Ticket) -> dict[str, datetime]:
    """The targets still to be met while the clock runs, by kind."""
    if ticket.status in PAUSED_STATUSES:
        return {}
    pending: dict[str, datetime] = {}
    if ticket.first_responded_at is None and ticket.first_response_due_at is not None:
        pending["first_response"] = ticket.first_response_due_at
    if ticket.next_response_due_at is not None:
        pending["next_response"] = ticket.next_response_due_at
    if ticket.resolution_due_at is not None:
        pending["resolution"] = ticket.resolution_due_at
    return pending


def _thread(session: Session, ticket: Ticket) -> list[tuple[str, datetime, str]]:
    """(kind, time, author) of the customer's and agents' messages, oldest first."""
    rows = session.execute(
        select(TicketMessage.kind, TicketMessage.created_at, TicketMessage.author)
        .where(
            TicketMessage.ticket_id == ticket.id,
            TicketMessage.kind.in_(("customer", "agent")),
        )
        .order_by(TicketMessage.created_at, TicketMessage.id)
    )
    return [(kind, at, author) for kind, at, author in rows]


def _update_pauses(
    session: Session,
    ticket: Ticket,
    now: datetime,
    thread: list[tuple[str, datetime, str]],
    pauses: list[SlaPause],
) -> list[tuple[datetime, datetime]]:
    """Open a pause when the ticket enters a paused status, close it when it leaves one.

    ``pauses`` are the ticket's pauses so far, oldest first. A customer's message ends a wait
    for the customer even while the status still says waiting. Only transitions open a pause
    (``sla_status`` is the status seen last time), so a repeated call with the same status
    opens no second one.
    """
    running = next((pause for pause in pauses if pause.ended_at is None), None)
    if running is not None:
        answered = [at for kind, at, _ in thread if kind == "customer" and at >= running.started_at]
        if ticket.status not in PAUSED_STATUSES:
            running.ended_at = max(now, running.started_at)
        elif ticket.status == "waiting" and answered:
            running.ended_at = answered[0]
    entered = ticket.status in PAUSED_STATUSES and ticket.sla_status not in PAUSED_STATUSES
    if entered and (running is None or running.ended_at is not None):
        pause = SlaPause(ticket_id=ticket.id, started_at=now)
        session.add(pause)
        pauses.append(pause)
    ticket.sla_status = ticket.status
    return [(pause.started_at, pause.ended_at or now) for pause in pauses]


def _update_responses(
    ticket: Ticket,
    policy: Policy,
    start: datetime,
    spans: list[tuple[datetime, datetime]],
    thread: list[tuple[str, datetime, str]],
) -> None:
    """First response, the reply the customer is waiting for, and the breaches they show."""
    agent_replies = [(at, author) for kind, at, author in thread if kind == "agent"]
    if agent_replies:
        first_at = agent_replies[0][0]
        ticket.first_responded_at = first_at
        ticket.first_response_minutes = policy.clock.business_minutes(start, first_at, spans)
        due = policy.target("first_response").due(start, spans)
        if first_at > due:
            ticket.first_response_breached = True
    else:
        ticket.first_responded_at = None
        ticket.first_response_minutes = None

    previous_due = ticket.next_response_due_at
    awaiting = None
    if agent_replies:
        last_agent_at = agent_replies[-1][0]
        later = [at for kind, at, _ in thread if kind == "customer" and at > last_agent_at]
        awaiting = later[0] if later else None
        if awaiting is None and previous_due is not None and last_agent_at > previous_due:
            ticket.next_response_breached = True
    ticket.awaiting_reply_since = awaiting

    if ticket.paging_since is not None and ticket.acknowledged_at is None:
        reply = next(((at, who) for at, who in agent_replies if at >= ticket.paging_since), None)
        if reply is not None:
            ticket.acknowledged_at, ticket.acknowledged_by = reply


def _update_paging(ticket: Ticket, policy: Policy, now: datetime, running: bool) -> None:
    """Paging starts when a ticket becomes critical (a new emergency needs a new answer)."""
    if policy.ladder.pages_on_call and running:
        if ticket.paging_since is None:
            ticket.paging_since = now
            ticket.acknowledged_at = ticket.acknowledged_by = None
    elif not policy.ladder.pages_on_call:
        ticket.paging_since = None


def acknowledge(session: Session, ticket: Ticket, actor: str, now: datetime) -> bool:
    """Someone took the critical ticket: paging stops. False if nothing was paging."""
    if ticket.paging_since is None or ticket.acknowledged_at is not None:
        return False
    ticket.acknowledged_at = now
    ticket.acknowledged_by = actor
    escalation.cancel_pages(session, ticket)
    session.add(TicketEvent(ticket_id=ticket.id, actor=actor, action="acknowledged"))
    return True


@dataclass(frozen=True)
class SlaView:
    """What agents and customers see of a ticket's clock at ``now``."""

    kind: str | None  # first_response, next_response or resolution; None when nothing is due
    due: datetime | None
    remaining: timedelta | None  # negative once breached
    breached: bool
    paused: bool
    label: str  # e.g. "Antwort bis Mo, 30.03. 08:30"
    promise: str | None  # for the customer: the promised response time, if one is open
    paging: bool  # critical and not yet acknowledged


def sla_view(ticket: Ticket, now: datetime) -> SlaView:
    """The next due time of the ticket, how long is left and German labels for the pages."""
    paging = ticket.paging_since is not None and ticket.acknowledged_at is None
    breached_before = (
        ticket.first_response_breached
        or ticket.next_response_breached
        or ticket.resolution_breached
    )
    if ticket.status in DONE_STATUSES:
        label = "Gelöst" + (" (SLA verletzt)" if breached_before else " (SLA eingehalten)")
        return SlaView(None, None, None, breached_before, False, label, None, False)
    if ticket.status in PAUSED_STATUSES:
        return SlaView(
            None, None, None, breached_before, True, "Pausiert: wartet auf Kunde", None, paging
        )
    pending = pending_due_times(ticket)
    if not pending:
        return SlaView(None, None, None, breached_before, False, "Keine SLA", None, paging)
    kind, due = min(pending.items(), key=lambda item: item[1])
    remaining = due - now
    breached = remaining <= timedelta(0) or breached_before
    noun = "Lösung" if kind == "resolution" else "Antwort"
    if remaining <= timedelta(0):
        label = f"{noun} überfällig seit {format_berlin(due)}"
    else:
        label = f"{noun} bis {format_berlin(due)}"
    response = pending.get("first_response") or pending.get("next_response")
    promise = f"Antwort bis {format_berlin(response)}" if response is not None else None
    return SlaView(kind, due, remaining, breached, False, label, promise, paging)
