"""Routing: one engine, driven by ``routing_rules.yaml``, decides queue, priority, tags and SLA."""

from tickets.routing.engine import RuleSet
from tickets.routing.facts import Decision, TicketFacts, TraceStep
from tickets.routing.live import routing_rules, routing_status
from tickets.routing.rules import check_rules, compile_rules, load_rules

__all__ = [
    "Decision",
    "RuleSet",
    "TicketFacts",
    "TraceStep",
    "check_rules",
    "compile_rules",
    "load_rules",
    "routing_rules",
    "routing_status",
]
