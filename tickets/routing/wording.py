"""The live routing rules and an explained decision in German words, for the console.

Queues by their names, priorities and channels by their labels, conditions by their German
names with the values as the rules file spells them. A rule's id appears only as the
reference an agent looks up (a ticket's history names it); the rules' English descriptions
are notes for the people who edit the file and stay there.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.labels import label, sla_name
from tickets.routing.conditions import PHRASE_CONDITIONS, Condition
from tickets.routing.engine import Rule, RuleSet
from tickets.routing.facts import TicketFacts

# Conditions whose values are stored identifiers, shown through a label table.
LABELLED = {"channel": "channel", "requested_priority": "priority"}


@dataclass(frozen=True)
class Clause:
    """One condition or outcome as a sentence; ``pattern`` is a regular expression shown as
    code beside it."""

    text: str
    pattern: str | None = None


@dataclass(frozen=True)
class ShownRule:
    position: int  # 1 is tried first; the default route comes last
    reference: str
    line: int
    conditions: tuple[Clause, ...]
    outcome: tuple[Clause, ...]
    default: bool = False


@dataclass(frozen=True)
class ShownStep:
    position: int
    reference: str
    matched: bool
    why: str


@dataclass(frozen=True)
class Explanation:
    queue: str
    priority: str
    requested_priority: str
    tags: str
    rule: ShownRule
    steps: tuple[ShownStep, ...]


def shown_rules(rules: RuleSet) -> list[ShownRule]:
    """Every rule in the order the engine tries them, then the default route."""
    shown = [_shown(rules, position, rule) for position, rule in enumerate(rules.rules, 1)]
    shown.append(_shown(rules, len(rules.rules) + 1, rules.default, default=True))
    return shown


def explain(rules: RuleSet, facts: TicketFacts) -> Explanation:
    """Where ``facts`` would go and, rule by rule up to the one that decided, why."""
    decision = rules.route(facts, explain=True)
    *listed, default = shown_rules(rules)
    shown = {rule.reference: rule for rule in listed}
    by_id = {rule.id: rule for rule in rules.rules}
    steps = []
    for step in decision.trace:
        rule = by_id.get(step.rule_id)
        if rule is None:  # the default route closes the trace when no rule matched
            why = "Keine Regel trifft zu; es gilt der Standardweg."
            steps.append(ShownStep(default.position, default.reference, True, why))
            continue
        position = shown[rule.id].position
        if step.matched:
            met = "; ".join(clause.text for clause in shown[rule.id].conditions)
            steps.append(ShownStep(position, rule.id, True, f"Alle Bedingungen erfüllt: {met}."))
            continue
        failed = rule.condition(step.failed or "")
        assert failed is not None, "the engine names the condition that failed"
        steps.append(ShownStep(position, rule.id, False, _not_met(failed, facts)))
    deciding = shown.get(decision.rule_id, default)
    return Explanation(
        queue=rules.queue(decision.queue).name,
        priority=label(decision.priority, "priority"),
        requested_priority=label(decision.requested_priority, "priority"),
        tags=", ".join(decision.tags) or "–",
        rule=deciding,
        steps=tuple(steps),
    )


def _shown(rules: RuleSet, position: int, rule: Rule, *, default: bool = False) -> ShownRule:
    return ShownRule(
        position=position,
        reference=rule.id,
        line=rule.line,
        conditions=tuple(_condition(condition) for condition in rule.conditions),
        outcome=_outcome(rules, rule),
        default=default,
    )


def _condition(condition: Condition) -> Clause:
    name = label(condition.key, "routing_condition")
    if isinstance(condition.values, bool):
        return Clause(f"{name}: {'ja' if condition.values else 'nein'}")
    if condition.key == "subject_regex":
        return Clause(f"{name}: Der Betreff passt zum Muster", condition.written[0])
    if condition.key in PHRASE_CONDITIONS:
        return Clause(f"{name} enthält {_either(condition)}")
    return Clause(f"{name} ist {_either(condition)}")


def _not_met(condition: Condition, facts: TicketFacts) -> str:
    name = label(condition.key, "routing_condition")
    if isinstance(condition.values, bool):
        wanted, had = _yes_no(condition.values), _yes_no(facts.license_locked)
        return f"{name}: verlangt {wanted}, das Ticket hat {had}."
    if condition.key == "subject_regex":
        return "Der Betreff passt nicht zum Muster der Regel."
    if condition.key in PHRASE_CONDITIONS:
        return f"{name} enthält nicht {_either(condition)}."
    return f"{name}: verlangt {_either(condition)}, das Ticket hat {_had(condition.key, facts)}."


def _outcome(rules: RuleSet, rule: Rule) -> tuple[Clause, ...]:
    action = rule.action
    if action.priority is not None:
        priority = label(action.priority, "priority")
    elif action.priority_at_least is not None:
        priority = f"mindestens {label(action.priority_at_least, 'priority')}"
    else:
        priority = "wie vom Kunden gewählt"
    clauses = [
        Clause(f"Queue: {rules.queue(action.queue).name}"),
        Clause(f"Priorität: {priority}"),
    ]
    if action.tags:
        clauses.append(Clause(f"Schlagwörter: {', '.join(action.tags)}"))
    if action.sla_policy:
        clauses.append(Clause(f"SLA-Richtlinie: {sla_name(action.sla_policy)}"))
    if action.emergency_review:
        clauses.append(Clause("Die Bereitschaft prüft, ob ein Notfall vorliegt"))
    return tuple(clauses)


def _either(condition: Condition) -> str:
    kind = LABELLED.get(condition.key)
    words = [label(value, kind) if kind else value for value in condition.written]
    return " oder ".join(f"„{word}“" for word in words)


def _had(key: str, facts: TicketFacts) -> str:
    value = getattr(facts, key)
    if not value:
        return "keine Angabe"
    kind = LABELLED.get(key)
    return f"„{label(value, kind) if kind else value}“"


def _yes_no(value: bool) -> str:
    return "ja" if value else "nein"
