"""The compiled rule set and the routing decision: first matching rule wins, else the default.

Compilation does the work once, so routing a ticket is one subject normalisation and a short
loop:

* rules are indexed by (product family, component): a ticket only meets rules whose family
  and component conditions admit it;
* a rule with subject phrases is gated by one word of each phrase: the subject's words are
  looked up once in a word index, and a rule none of whose words occur is skipped unseen;
* the subject regexes of all rules are also joined into one alternation, searched once: when
  it finds nothing, every rule with a regex is skipped;
* every (rule, requested priority) outcome is a ready-made Decision.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpdesk.labels import label, labels
from tickets.routing.catalog import Catalog, Family, Priority, Queue
from tickets.routing.conditions import SET_CONDITIONS, Condition, FactsView
from tickets.routing.facts import Decision, TicketFacts, TraceStep

# The fast path leaves these to the (family, component) index.
INDEXED_CONDITIONS = frozenset({"product_family", "component"})
# Conditions a rule checks on the fast path, cheapest first.
_COST = {
    key: rank
    for rank, key in enumerate((*SET_CONDITIONS, "license_locked", "subject", "subject_regex"))
}
_COST["body"] = len(_COST)
# Regex features whose meaning changes inside a joined alternation (group numbers shift).
_NOT_JOINABLE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(|\(\?[aiLmsux-]+\)")

_UNGATED, _PHRASE_GATE, _REGEX_GATE = 0, 1, 2


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
    by_key: dict[str, Condition] = dataclasses.field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {c.key: c for c in self.conditions})

    def condition(self, key: str) -> Condition | None:
        return self.by_key.get(key)


class _CompiledRule:
    __slots__ = ("checks", "decisions", "gate", "position", "rule")

    def __init__(self, position: int, rule: Rule, gate: int, decisions: tuple[Decision, ...]):
        self.position = position
        self.rule = rule
        self.gate = gate
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
        self._default_decisions = self._decisions(default)
        self._word_index: dict[str, set[int]] = {}
        self._joined_regex = self._join_regexes(rules)
        self._compiled = tuple(
            _CompiledRule(position, rule, self._gate(position, rule), self._decisions(rule))
            for position, rule in enumerate(rules)
        )
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
        """Decide queue, effective priority, tags and SLA policy for one ticket.

        ``explain=True`` also records the trace (slower). An unknown requested priority is a
        ValueError: the doors validate it before routing.
        """
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
        gated_in: set[int] | None = None
        regex_found: bool | None = None
        for compiled in candidates:
            if compiled.gate == _PHRASE_GATE:
                if gated_in is None:
                    gated_in = self._gated_in(view.subject)
                if compiled.position not in gated_in:
                    continue
            elif compiled.gate == _REGEX_GATE:
                if regex_found is None:
                    assert self._joined_regex is not None
                    regex_found = self._joined_regex.search(view.subject) is not None
                if not regex_found:
                    continue
            for check in compiled.checks:
                if not check(view):
                    break
            else:
                return compiled.decisions[rank]
        return self._default_decisions[rank]

    def _explain(self, view: FactsView, rank: int) -> Decision:
        """The slow path: every rule in order, each condition tested and described."""
        trace: list[TraceStep] = []
        for compiled in self._compiled:
            rule = compiled.rule
            failed = next((c for c in rule.conditions if not c.test(view)), None)
            if failed is not None:
                trace.append(TraceStep(rule.id, rule.line, False, failed.explain(view), failed.key))
                continue
            reasons = "; ".join(condition.explain(view) for condition in rule.conditions)
            trace.append(TraceStep(rule.id, rule.line, True, reasons))
            return dataclasses.replace(compiled.decisions[rank], trace=tuple(trace))
        trace.append(TraceStep("default", self.default.line, True, self.default.description))
        return dataclasses.replace(self._default_decisions[rank], trace=tuple(trace))

    def _gated_in(self, subject: str) -> set[int]:
        """Positions of phrase-gated rules with a gate word in the subject."""
        found: set[int] = set()
        for word in set(subject.split()):
            positions = self._word_index.get(word)
            if positions is not None:
                found |= positions
        return found

    def _gate(self, position: int, rule: Rule) -> int:
        """Pick the rule's gate; phrase gates also enter the rule into the word index."""
        phrases = rule.condition("subject")
        if phrases is not None:
            assert not isinstance(phrases.values, bool)
            for phrase in phrases.values:
                # Any word of the phrase must occur; the longest is likely the rarest.
                self._word_index.setdefault(max(phrase.split(), key=len), set()).add(position)
            return _PHRASE_GATE
        regex = rule.condition("subject_regex")
        if regex is not None and self._joined_regex is not None and _joinable(regex):
            return _REGEX_GATE
        return _UNGATED

    @staticmethod
    def _join_regexes(rules: Iterable[Rule]) -> re.Pattern[str] | None:
        """One alternation of every joinable subject regex: no match means none matches."""
        sources = []
        for rule in rules:
            regex = rule.condition("subject_regex")
            if regex is not None and _joinable(regex):
                assert not isinstance(regex.values, bool)
                sources.append(f"(?:{regex.values[0]})")
        if not sources:
            return None
        try:
            return re.compile("|".join(sources), re.IGNORECASE)
        except re.error:  # e.g. one group name used in two rules: check each regex alone
            return None

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
                {
                    "id": p.id,
                    "name": label(p.id, "priority"),
                    "description": labels("priority_hint").get(p.id, ""),
                }
                for p in self.priorities
            ],
        }


def _joinable(regex: Condition) -> bool:
    assert not isinstance(regex.values, bool)
    return _NOT_JOINABLE.search(regex.values[0]) is None


def _admits(condition: Condition | None, key: str | None) -> bool:
    if condition is None:
        return True
    return key is not None and key in condition.value_set
