"""Moving open tickets when the rules change: which would move, and moving them with an audit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import OPEN_STATUSES, Ticket, TicketEvent
from tickets.routing.engine import RuleSet
from tickets.routing.facts import Decision, TicketFacts

REROUTED = "rerouted"


@dataclass(frozen=True)
class Move:
    """One open ticket whose route differs under the new rules."""

    ticket_id: int
    number: str
    old: Decision  # what the old rules decide
    new: Decision  # what the new rules decide
    current_queue: str  # where the ticket is now
    current_priority: str

    @property
    def moved_by_hand(self) -> bool:
        """An agent changed queue or priority since routing; such a ticket is left alone."""
        return (self.current_queue, self.current_priority) != (self.old.queue, self.old.priority)

    def to_dict(self) -> dict[str, object]:
        return {
            "ticket": self.number,
            "queue": [self.current_queue, self.new.queue],
            "priority": [self.current_priority, self.new.priority],
            "rule": [self.old.rule_id, self.new.rule_id],
            "moved_by_hand": self.moved_by_hand,
        }


def ticket_facts(ticket: Ticket) -> TicketFacts:
    """The facts routing saw when the ticket was filed, rebuilt from the stored ticket."""
    return TicketFacts(
        product_family=ticket.product_family,
        component=ticket.component,
        department=ticket.department,
        subject=ticket.subject,
        body=ticket.body,
        channel=ticket.channel,
        requested_priority=ticket.requested_priority,
    )


def planned_moves(session: Session, old: RuleSet, new: RuleSet) -> list[Move]:
    """Open tickets whose queue or effective priority differ between ``old`` and ``new``."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.id)
    )
    return list(_moves(tickets, old, new))


def _moves(tickets: Iterable[Ticket], old: RuleSet, new: RuleSet) -> Iterable[Move]:
    for ticket in tickets:
        facts = ticket_facts(ticket)
        before, after = old.route(facts), new.route(facts)
        if (before.queue, before.priority) == (after.queue, after.priority):
            continue
        yield Move(
            ticket_id=ticket.id,
            number=ticket.number,
            old=before,
            new=after,
            current_queue=ticket.queue,
            current_priority=ticket.effective_priority,
        )


def apply_moves(session: Session, moves: Iterable[Move], actor: str) -> list[Move]:
    """Move the tickets not moved by hand, each with a history entry; the caller commits."""
    applied = []
    for move in moves:
        if move.moved_by_hand:
            continue
        ticket = session.get(Ticket, move.ticket_id, with_for_update=True)
        if ticket is None or ticket.status not in OPEN_STATUSES:
            continue
        if (ticket.queue, ticket.effective_priority) != (move.current_queue, move.current_priority):
            continue  # changed since the plan was made
        decision = move.new
        changes = {
            "queue": [ticket.queue, decision.queue],
            "effective_priority": [ticket.effective_priority, decision.priority],
            "routing_rule": [ticket.routing_rule, decision.rule_id],
            "rules_version": [ticket.rules_version, decision.rules_version],
        }
        ticket.queue = decision.queue
        ticket.effective_priority = decision.priority
        ticket.tags = sorted(set(ticket.tags) - set(move.old.tags) | set(decision.tags))
        ticket.sla_policy = decision.sla_policy
        ticket.emergency_review = decision.emergency_review
        ticket.routing_rule = decision.rule_id
        ticket.routing_rule_line = decision.rule_line
        ticket.rules_version = decision.rules_version
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                actor=actor,
                action=REROUTED,
                changes=changes,
                reason=f"routing rules {move.old.rules_version} -> {decision.rules_version}",
            )
        )
        applied.append(move)
    return applied
