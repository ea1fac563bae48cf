"""Properties over generated rule files: check and engine agree, shadowing is sound."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpdesk.yamlsource import SourceError
from tests.unit.tickets.routing.rulefiles import small_document
from tickets.routing import TicketFacts, check_rules, load_rules
from tickets.routing.conditions import Condition, FactsView
from tickets.routing.engine import Action, Rule
from tickets.routing.normalise import contains_phrase, normalise_text
from tickets.routing.shadowing import covers

FAMILIES = ["JTL-Kundenkonto", "JTL-Wawi", "JTL-Vouchers"]
COMPONENTS = [
    "Fragen zu Firmendaten/Kundenkonto",
    "Benutzerverwaltung",
    "JTL-Wawi",
    "Module",
    "JTL-Vouchers",
]
PHRASES = [
    "Zugang gesperrt",
    "gesperrt",
    "Zugang",
    "Lizenz gesperrt",
    "Shop offline",
    "offline",
    "Rechnung",
    "Rechnung offen",
    "Tür",
    "Tuer",
]
VALUES: dict[str, list[Any]] = {
    "product_family": FAMILIES,
    "component": COMPONENTS,
    "department": ["Technischer Support", "Buchhaltung"],
    "channel": ["web", "api", "email", "phone"],
    "mailbox": ["buchhaltung@jtl-software.de", "support@jtl-software.de"],
    "edition": ["JTL Start", "JTL Pro"],
    "support_level": ["Community", "Silber"],
    "requested_priority": ["low", "normal", "high", "critical"],
    "subject": PHRASES,
    "body": PHRASES,
}
REGEXES = ["^zugang", "gesperrt$", r"\d{6}", "shop|offline", "t(ue|u)r", "^rechnung"]
BAD_REGEXES = ["(", "t[üu]r"]  # does not compile; spells an umlaut the subject never has
QUEUES = ["triage", "support", "accounting", "wawi", "on-call"]
# Sometimes a value that does not exist, so some files are rejected.
MISSPELLED = st.sampled_from(["JTL-Wawy", "Marketing", "fax", "nowhere", "urgent", "JTL Ultra"])


def some_of(values: list[Any]) -> st.SearchStrategy[Any]:
    listed = st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True)
    return st.one_of(st.sampled_from(values), listed)


@st.composite
def conditions(draw: st.DrawFn, *, valid_only: bool = False) -> dict[str, Any]:
    keys = draw(
        st.lists(
            st.sampled_from([*VALUES, "subject_regex", "license_locked"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    when: dict[str, Any] = {}
    for key in keys:
        if key == "license_locked":
            when[key] = draw(st.booleans())
        elif key == "subject_regex":
            when[key] = draw(st.sampled_from(REGEXES if valid_only else REGEXES + BAD_REGEXES))
        elif not valid_only and draw(st.integers(0, 30)) == 0:
            when[key] = draw(MISSPELLED)
        else:
            when[key] = draw(some_of(VALUES[key]))
    if valid_only and "component" in when and "product_family" in when:
        del when["component"]  # a component may not belong to the family; keep it simple
    return when


@st.composite
def actions(draw: st.DrawFn) -> dict[str, Any]:
    then: dict[str, Any] = {"queue": draw(st.sampled_from(QUEUES))}
    if draw(st.booleans()):
        key = draw(st.sampled_from(["priority", "priority_at_least"]))
        then[key] = draw(st.sampled_from(VALUES["requested_priority"]))
    if draw(st.booleans()):
        then["tags"] = draw(st.lists(st.sampled_from(["a", "b-c", "d.e"]), max_size=2))
    if draw(st.booleans()):
        then["emergency_review"] = draw(st.booleans())
    if draw(st.booleans()):
        then["sla"] = draw(st.sampled_from(["Gold", "Silber"]))
    return then


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(0, 8))
    ids = draw(
        st.lists(st.sampled_from([f"r{i}" for i in range(10)]), min_size=count, max_size=count)
    )
    rules = [
        {
            "id": rule_id,
            "description": "generated",
            "when": draw(conditions()),
            "then": draw(actions()),
        }
        for rule_id in ids
    ]
    return small_document(rules)


@st.composite
def facts(draw: st.DrawFn) -> TicketFacts:
    def maybe(values: list[str]) -> str | None:
        return draw(st.one_of(st.none(), st.sampled_from(values), st.just("Unbekannt")))

    words = draw(st.lists(st.sampled_from([*PHRASES, "AW:", "123456", "Frage"]), max_size=4))
    return TicketFacts(
        product_family=maybe(FAMILIES),
        component=maybe(COMPONENTS),
        department=maybe(VALUES["department"]),
        subject=" ".join(words),
        body=" ".join(draw(st.lists(st.sampled_from(PHRASES), max_size=3))),
        channel=draw(st.sampled_from(VALUES["channel"])),
        requested_priority=draw(st.sampled_from(VALUES["requested_priority"])),
        mailbox=maybe(VALUES["mailbox"]),
        edition=maybe(VALUES["edition"]),
        support_level=maybe(VALUES["support_level"]),
        license_locked=draw(st.booleans()),
    )


def rule_from(when: dict[str, Any], rule_id: str = "r") -> Rule:
    built = tuple(
        Condition.build(key, value if isinstance(value, (list, bool)) else [value])
        for key, value in when.items()
    )
    return Rule(rule_id, "generated", 1, built, Action(queue="support"))


def matches(rule: Rule, ticket: TicketFacts) -> bool:
    view = FactsView(ticket)
    return all(condition.test(view) for condition in rule.conditions)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated")


@st.composite
def accepted_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Files with distinct ids and only known values; about half pass the check (the rest
    have a rule an earlier one shadows)."""
    count = draw(st.integers(1, 8))
    rules = [
        {
            "id": f"r{n}",
            "description": "generated",
            "when": draw(conditions(valid_only=True)),
            "then": draw(actions()),
        }
        for n in range(count)
    ]
    return small_document(rules)


# Where a sample subject part goes so that the pattern finds it (start, middle or end).
REGEX_SAMPLES = {
    "^zugang": ("Zugang", 0),
    "gesperrt$": ("gesperrt", 2),
    r"\d{6}": ("123456", 1),
    "shop|offline": ("offline", 1),
    "t(ue|u)r": ("Tuer", 1),
    "^rechnung": ("Rechnung", 0),
}


@st.composite
def facts_meeting(draw: st.DrawFn, when: dict[str, Any]) -> TicketFacts:
    """Facts built to satisfy ``when`` (the tests still check that they do)."""
    ticket = draw(facts())
    chosen: dict[str, Any] = {}
    subject_parts: list[list[str]] = [[], [], []]
    for key, value in when.items():
        if key == "license_locked":
            chosen[key] = value
        elif key == "subject_regex":
            sample, place = REGEX_SAMPLES[value]
            subject_parts[place].append(sample)
        else:
            phrase_or_value = draw(st.sampled_from(value if isinstance(value, list) else [value]))
            if key == "subject":
                subject_parts[1].append(phrase_or_value)
            else:
                chosen[key] = phrase_or_value
    if any(subject_parts):
        chosen["subject"] = " ".join(part for parts in subject_parts for part in parts)
    return dataclasses.replace(ticket, **chosen)


@st.composite
def narrower(draw: st.DrawFn, general: dict[str, Any]) -> dict[str, Any]:
    """Conditions that ask at least what ``general`` asks: fewer values, longer phrases,
    sometimes a further key."""
    when: dict[str, Any] = {}
    for key, value in general.items():
        if key in ("subject", "body"):
            wide = value if isinstance(value, list) else [value]
            longer = [
                phrase
                for phrase in PHRASES
                if any(contains_phrase(normalise_text(phrase), normalise_text(w)) for w in wide)
            ]
            when[key] = draw(st.lists(st.sampled_from(longer), min_size=1, max_size=2, unique=True))
        elif isinstance(value, list):
            when[key] = draw(st.lists(st.sampled_from(value), min_size=1, unique=True))
        else:
            when[key] = value
    extra = draw(conditions(valid_only=True))
    return {**extra, **when}


# No deadline: each example writes and compiles a file, and CI machines vary.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents())
def test_the_loader_refuses_exactly_the_files_check_reports(workdir: Path, document):
    path = workdir / "rules.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    problems = check_rules(path)
    try:
        load_rules(path)
    except SourceError as error:
        refused = error.problems
    else:
        refused = []

    assert refused == problems


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=accepted_documents(), tickets=st.lists(facts(), min_size=1, max_size=5))
def test_the_engine_routes_by_the_first_matching_rule_of_an_accepted_file(
    workdir: Path, document, tickets
):
    path = workdir / "rules.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    assume(check_rules(path) == [])  # only files the check accepts are loaded in production

    rules = load_rules(path)

    for ticket in tickets:
        decision = rules.route(ticket)
        explained = rules.route(ticket, explain=True)
        assert dataclasses.replace(explained, trace=()) == decision
        assert decision.queue in rules.queue_ids()
        assert decision.priority in rules.priority_ids()
        assert explained.trace[-1].matched and explained.trace[-1].rule_id == decision.rule_id
        assert not any(step.matched for step in explained.trace[:-1])


@given(general=conditions(valid_only=True), data=st.data())
def test_shadowing_is_sound(general, data):
    specific = data.draw(st.one_of(conditions(valid_only=True), narrower(general)))
    wide, narrow = rule_from(general, "wide"), rule_from(specific, "narrow")
    assume(covers(wide, narrow))
    ticket = data.draw(facts_meeting(specific))
    assume(matches(narrow, ticket))

    assert matches(wide, ticket)


@settings(deadline=None)
@given(when=conditions(valid_only=True))
def test_a_rule_never_shadows_itself(workdir: Path, when):
    rule = {"id": "only", "description": "d", "when": when, "then": {"queue": "support"}}
    twin = {**rule, "id": "twin"}
    path = workdir / "twins.yaml"
    path.write_text(yaml.safe_dump(small_document([rule, twin]), allow_unicode=True))

    problems = check_rules(path)

    assert covers(rule_from(when), rule_from(when))
    assert [p.message.split(":")[0] for p in problems] == ["rule 'twin' can never match"]
