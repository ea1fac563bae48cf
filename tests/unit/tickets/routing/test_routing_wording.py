"""The console's German explanation follows the engine: the same deciding rule as routing
without a trace, one step per rule tried, every step but the last a miss."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.tickets.routing.rulefiles import SHIPPED_RULES
from tickets.routing import TicketFacts, load_rules
from tickets.routing.wording import explain
from vocabulary import CHANNELS, PRIORITIES, SUPPORT_LEVELS

RULES = load_rules(SHIPPED_RULES)
FAMILIES = [family.name for family in RULES.catalog.families]
COMPONENTS = [component for family in RULES.catalog.families for component in family.components]
# Subjects built from the rules' own phrases, so that rules of every kind come into play.
WORDS = ["Zugang", "gesperrt", "Todesfall", "absagen", "Installationsservice", "Rechnung", "x"]

facts = st.builds(
    TicketFacts,
    product_family=st.none() | st.sampled_from(FAMILIES),
    component=st.none() | st.sampled_from(COMPONENTS),
    department=st.none() | st.sampled_from(RULES.catalog.departments),
    subject=st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join),
    body=st.lists(st.sampled_from(WORDS), max_size=3).map(" ".join),
    channel=st.sampled_from(CHANNELS),
    requested_priority=st.sampled_from(PRIORITIES),
    support_level=st.none() | st.sampled_from(SUPPORT_LEVELS),
    license_locked=st.booleans(),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(facts)
def test_the_explanation_names_the_rule_the_engine_routes_by(ticket: TicketFacts):
    decision = RULES.route(ticket)

    explanation = explain(RULES, ticket)

    assert explanation.rule.reference == decision.rule_id
    assert explanation.queue == RULES.queue(decision.queue).name
    assert [step.matched for step in explanation.steps] == [False] * (
        len(explanation.steps) - 1
    ) + [True]
    assert all(step.why for step in explanation.steps)
