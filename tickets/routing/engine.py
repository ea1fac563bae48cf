"""The compiled rule set and the routing decision: first matching rule wins, else the default.

Compilation does the work once: conditions become small predicates with their values
pre-normalised, rules are indexed by (product family, component) so a ticket only looks at
rules that can apply to it, and every (rule, requested priority) outcome is a ready-made
Decision. Routing a ticket is then one subject normalisation and a short loop.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickets.routing.facts import Decision, TicketFacts, TraceStep
from tickets.routing.normalise import contains_phrase, normalise_subject, normalise_text

SET_CONDITIONS = (
    "product_family",
    "component",
    "department",
    "channel",
    "mailbox",
    "edition",
    "support_level",
    "requested_priority",
)
PHRASE_CONDITIONS = ("subject", "body")
CONDITION_KEYS = (*SET_CONDITIONS, *PHRASE_CONDITIONS, "subject_regex", "license_locked")
# The fast path leaves these to the (family, component) index.
INDEXED_CONDITIONS = frozenset({"product_family", "component"})


class FactsView:
    """One ticket's facts as conditions read them: case-folded, subject and body normalised once."""

    __slots__ = (
        "_body",
        "_subject",
        "body_text",
        "channel",
        "component",
        "department",
        "edition",
        "license_locked",
        "mailbox",
        "product_family",
        "requested_priority",
        "subject_text",
        "support_level",
    )

    def __init__(self, facts: TicketFacts) -> None:
        self.product_family = _fold(facts.product_family)
        self.component = _fold(facts.component)
        self.department = _fold(facts.department)
        self.channel = facts.channel
        self.mailbox = _fold(facts.mailbox)
        self.edition = _fold(facts.edition)
        self.support_level = _fold(facts.support_level)
        self.requested_priority = facts.requested_priority
        self.license_locked = facts.license_locked
        self.subject_text = facts.subject
        self.body_text = facts.body
        self._subject: str | None = None
        self._body: str | None = None

    @property
    def subject(self) -> str:
        if self._subject is None:
            self._subject = normalise_subject(self.subject_text)
        return self._subject

    @property
    def body(self) -> str:
        if self._body is None:
            self._body = normalise_text(self.body_text)
        return self._body


def _fold(value: str | None) -> str | None:
    return None if value is None else value.strip().casefold()


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of a rule: ``key`` as written in the file, ``values`` normalised."""

    key: str
    values: tuple[str, ...] | bool
    test: Callable[[FactsView], bool] = dataclasses.field(compare=False, repr=False)

    @classmethod
    def build(cls, key: str, values: Iterable[str] | bool) -> Condition:
        """Compile a condition; values must already have passed validation."""
        if key == "license_locked":
            assert isinstance(values, bool)
            wanted = values
            return cls(key, wanted, lambda view: view.license_locked is wanted)
        assert not isinstance(values, bool)
        if key in PHRASE_CONDITIONS:
            phrases = tuple(dict.fromkeys(normalise_text(value) for value in values))
            padded = tuple(f" {phrase} " for phrase in phrases)
            if key == "subject":
                return cls(key, phrases, lambda view: _any_in(padded, f" {view.subject} "))
            return cls(key, phrases, lambda view: _any_in(padded, f" {view.body} "))
        if key == "subject_regex":
            (source,) = values
            pattern = re.compile(source, re.IGNORECASE)
            return cls(key, (source,), lambda view: pattern.search(view.subject) is not None)
        if key in ("channel", "requested_priority"):
            exact = tuple(dict.fromkeys(values))
            allowed = frozenset(exact)
            return cls(key, exact, lambda view: getattr(view, key) in allowed)
        folded = tuple(dict.fromkeys(value.strip().casefold() for value in values))
        allowed = frozenset(folded)
        return cls(key, folded, lambda view: getattr(view, key) in allowed)

    def explain(self, view: FactsView) -> str:
        """Say in one line what this condition asked of the ticket and what the ticket had."""
        matched = self.test(view)
        if isinstance(self.values, bool):
            wanted = "as required" if matched else f"rule wants {self.values}"
            return f"license_locked is {view.license_locked}, {wanted}"
        if self.key == "subject_regex":
            verb = "matches" if matched else "does not match"
            return f"subject {view.subject!r} {verb} /{self.values[0]}/"
        if self.key in PHRASE_CONDITIONS:
            text = view.subject if self.key == "subject" else view.body
            shown = repr(text) if self.key == "subject" else "text"
            if matched:
                found = next(p for p in self.values if contains_phrase(text, p))
                return f"{self.key} {shown} contains {found!r}"
            return f"{self.key} {shown} contains none of {_listing(self.values)}"
        verb = "is one of" if matched else "is not one of"
        return f"{self.key} {getattr(view, self.key)!r} {verb} {_listing(self.values)}"


def _listing(values: tuple[str, ...]) -> str:
    return ", ".join(repr(value) for value in values)


def _any_in(padded_phrases: tuple[str, ...], padded_text: str) -> bool:
    return any(phrase in padded_text for phrase in padded_phrases)


@dataclass(frozen=True, slots=True)
class Action:
    queue: str
    priority: str | None = None
    priority_at_least: str | None = None
    tags: tuple[str, ...] = ()
    sla_policy: str | None = None
    emergency_review: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    line: int
    conditions: tuple[Condition, ...]
    action: Action

    def condition(self, key: str) -> Condition | None:
        return next((c for c in self.conditions if c.key == key), None)


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    colour: str
    components: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Edition:
    name: str
    support_level: str


@dataclass(frozen=True, slots=True)
class Queue:
    id: str
    name: str
    team: str
    description: str


@dataclass(frozen=True, slots=True)
class Priority:
    id: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Catalog:
    families: tuple[Family, ...]
    departments: tuple[str, ...]
    editions: tuple[Edition, ...]


# Conditions a rule checks on the fast path, cheapest first.
_COST = {key: rank for rank, key in enumerate((*SET_CONDITIONS, "license_locked", "subject"))}
_COST.update({"subject_regex": len(_COST), "body": len(_COST) + 1})


class _CompiledRule:
    __slots__ = ("checks", "decisions", "rule")

    def __init__(self, rule: Rule, decisions: tuple[Decision, ...]) -> None:
        self.rule = rule
        self.checks = tuple(
            condition.test
            for condition in sorted(rule.conditions, key=lambda c: _COST[c.key])
            if condition.key not in INDEXED_CONDITIONS
        )
        self.decisions = decisions


class RuleSet:
    """A compiled, immutable rule file. Build it with ``load_rules``; route with ``route``."""

    def __init__(
        self,
        *,
        path: Path,
        version: str,
        schema_version: int,
        catalog: Catalog,
        queues: tuple[Queue, ...],
        priorities: tuple[Priority, ...],
        rules: tuple[Rule, ...],
        default: Rule,
    ) -> None:
        self.path = path
        self.version = version
        self.schema_version = schema_version
        self.catalog = catalog
        self.queues = queues
        self.priorities = priorities
        self.rules = rules
        self.default = default
        self._priority_rank = {priority.id: rank for rank, priority in enumerate(priorities)}
        self._compiled = tuple(_CompiledRule(rule, self._decisions(rule)) for rule in rules)
        self._default_decisions = self._decisions(default)
        self._families = frozenset(family.name.casefold() for family in catalog.families)
        self._components = frozenset(
            component.casefold() for family in catalog.families for component in family.components
        )
        self._candidates: dict[tuple[str | None, str | None], tuple[_CompiledRule, ...]] = {}
        for family in catalog.families:
            family_key = family.name.casefold()
            self._candidates_for(family_key, None)
            for component in family.components:
                self._candidates_for(family_key, component.casefold())
        self._candidates_for(None, None)

    # -- routing -------------------------------------------------------------------------------

    def route(self, facts: TicketFacts, *, explain: bool = False) -> Decision:
        """Decide queue, effective priority, tags and SLA policy for one ticket."""
        rank = self._priority_rank.get(facts.requested_priority)
        if rank is None:
            raise ValueError(f"unknown requested priority {facts.requested_priority!r}")
        view = FactsView(facts)
        if explain:
            return self._explain(view, rank)
        family = view.product_family if view.product_family in self._families else None
        component = view.component if view.component in self._components else None
        candidates = self._candidates.get((family, component))
        if candidates is None:
            candidates = self._candidates_for(family, component)
        for compiled in candidates:
            for check in compiled.checks:
                if not check(view):
                    break
            else:
                return compiled.decisions[rank]
        return self._default_decisions[rank]

    def _explain(self, view: FactsView, rank: int) -> Decision:
        trace: list[TraceStep] = []
        for compiled in self._compiled:
            rule = compiled.rule
            failed = next((c for c in rule.conditions if not c.test(view)), None)
            if failed is not None:
                trace.append(TraceStep(rule.id, rule.line, False, failed.explain(view)))
                continue
            reasons = "; ".join(condition.explain(view) for condition in rule.conditions)
            trace.append(TraceStep(rule.id, rule.line, True, reasons))
            return dataclasses.replace(compiled.decisions[rank], trace=tuple(trace))
        trace.append(TraceStep("default", self.default.line, True, self.default.description))
        return dataclasses.replace(self._default_decisions[rank], trace=tuple(trace))

    def _candidates_for(
        self, family: str | None, component: str | None
    ) -> tuple[_CompiledRule, ...]:
        """Rules whose family and component conditions admit this (family, component) key.

        ``None`` stands for "absent or not in the catalog", which no family or component
        condition admits (check guarantees conditions name catalog entries only). The keys are
        bounded by the catalog, so the memo cannot grow without limit.
        """
        candidates = tuple(
            compiled
            for compiled in self._compiled
            if _admits(compiled.rule.condition("product_family"), family)
            and _admits(compiled.rule.condition("component"), component)
        )
        self._candidates[(family, component)] = candidates
        return candidates

    def _decisions(self, rule: Rule) -> tuple[Decision, ...]:
        """The rule's Decision for each requested priority, in priority order."""
        action = rule.action
        decisions = []
        for requested in self.priorities:
            effective = requested.id
            if action.priority is not None:
                effective = action.priority
            elif action.priority_at_least is not None:
                floor = action.priority_at_least
                if self._priority_rank[floor] > self._priority_rank[requested.id]:
                    effective = floor
            decisions.append(
                Decision(
                    queue=action.queue,
                    priority=effective,
                    requested_priority=requested.id,
                    rule_id=rule.id,
                    rule_line=rule.line,
                    tags=action.tags,
                    sla_policy=action.sla_policy,
                    emergency_review=action.emergency_review,
                    rules_version=self.version,
                )
            )
        return tuple(decisions)

    # -- catalog and queues ----------------------------------------------------------------------

    def queue_ids(self) -> tuple[str, ...]:
        return tuple(queue.id for queue in self.queues)

    def queue(self, queue_id: str) -> Queue:
        for queue in self.queues:
            if queue.id == queue_id:
                return queue
        raise KeyError(queue_id)

    def priority_ids(self) -> tuple[str, ...]:
        return tuple(priority.id for priority in self.priorities)

    def family(self, name: str) -> Family:
        folded = name.casefold()
        for family in self.catalog.families:
            if family.name.casefold() == folded:
                return family
        raise KeyError(name)

    def family_colour(self, family: str) -> str:
        """The product colour for a family's mail banner ("#RRGGBB"); KeyError if unknown."""
        return self.family(family).colour

    def catalog_dict(self) -> dict[str, Any]:
        """What the ticket form needs: families with components, departments, priorities."""
        return {
            "version": self.version,
            "product_families": [
                {"name": f.name, "colour": f.colour, "components": list(f.components)}
                for f in self.catalog.families
            ],
            "departments": list(self.catalog.departments),
            "priorities": [
                {"id": p.id, "name": p.name, "description": p.description} for p in self.priorities
            ],
        }


def _admits(condition: Condition | None, key: str | None) -> bool:
    if condition is None:
        return True
    assert not isinstance(condition.values, bool)
    return key is not None and key in condition.values
