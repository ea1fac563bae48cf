"""Routing: one engine, driven by ``routing_rules.yaml``, decides queue, priority, tags and SLA."""

from tickets.routing.engine import RuleSet
from tickets.routing.facts import Decision, TicketFacts, TraceStep
from tickets.routing.live import LiveRules
from tickets.routing.rules import check_rules, load_rules
from tickets.routing.source import Problem, RulesError

__all__ = [
    "Decision",
    "LiveRules",
    "Problem",
    "RuleSet",
    "RulesError",
    "TicketFacts",
    "TraceStep",
    "check_rules",
    "load_rules",
]
