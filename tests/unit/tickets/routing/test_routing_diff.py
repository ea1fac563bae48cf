"""`helpdesk routes diff OLD NEW --tickets open`: which open tickets move; --apply moves them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from helpdesk.cli import main
from tests.unit.tickets.routing.rulefiles import SHIPPED_RULES
from tickets.models import Ticket, TicketEvent
from tickets.routing import RuleSet, TicketFacts, load_rules


def file_routed(runtime, rules: RuleSet, facts: TicketFacts, **overrides) -> int:
    """Store a ticket as intake would have routed it with ``rules``; return its id."""
    decision = rules.route(facts)
    fields = dict(
        reply_to="kunde@example.com",
        product_family=facts.product_family,
        component=facts.component,
        department=facts.department,
        subject=facts.subject,
        body=facts.body,
        channel=facts.channel,
        requested_priority=facts.requested_priority,
        effective_priority=decision.priority,
        queue=decision.queue,
        tags=list(decision.tags),
        sla_policy=decision.sla_policy,
        emergency_review=decision.emergency_review,
        routing_rule=decision.rule_id,
        routing_rule_line=decision.rule_line,
        rules_version=decision.rules_version,
    )
    ticket = Ticket(**{**fields, **overrides})
    with runtime.db.session() as session:
        session.add(ticket)
        session.flush()
        return ticket.id


@pytest.fixture
def rule_files(tmp_path):
    """The shipped rules, and a change: JTL-Wawi tickets go to general support instead."""
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    text = SHIPPED_RULES.read_text(encoding="utf-8")
    old.write_text(text, encoding="utf-8")
    changed = text.replace(
        "      product_family: JTL-Wawi\n    then:\n      queue: wawi\n",
        "      product_family: JTL-Wawi\n    then:\n      queue: support\n",
    )
    assert changed != text
    new.write_text(changed, encoding="utf-8")
    return old, new


@pytest.fixture
def tickets(runtime, rule_files):
    old = load_rules(rule_files[0])
    wawi = TicketFacts(product_family="JTL-Wawi", component="JTL-Wawi", subject="Abgleich")
    shop = TicketFacts(product_family="JTL-Shop", component="JTL-Shop", subject="Template")
    return {
        "open": file_routed(runtime, old, wawi),
        "closed": file_routed(runtime, old, wawi, status="closed"),
        "by_hand": file_routed(runtime, old, wawi, queue="shop"),
        "unaffected": file_routed(runtime, old, shop),
    }


def diff(rule_files, env: dict[str, str], *extra: str) -> tuple[int, str]:
    old, new = rule_files
    result = CliRunner(env=env).invoke(
        main, ["routes", "diff", str(old), str(new), "--tickets", "open", *extra]
    )
    return result.exit_code, result.output


def queues(runtime) -> dict[int, str]:
    with runtime.db.session() as session:
        return {
            ticket_id: queue
            for ticket_id, queue in session.execute(select(Ticket.id, Ticket.queue))
        }


def test_dry_run_lists_the_open_tickets_that_would_move_and_changes_nothing(
    runtime, rule_files, tickets, cli_env
):
    before = queues(runtime)

    code, output = diff(rule_files, cli_env, "--json")

    report = json.loads(output)
    assert code == 0 and report["applied"] is False
    moves = {move["ticket"]: move for move in report["moves"]}
    assert set(moves) == {f"HD-{tickets['open']:06d}", f"HD-{tickets['by_hand']:06d}"}
    assert moves[f"HD-{tickets['open']:06d}"]["queue"] == ["wawi", "support"]
    assert moves[f"HD-{tickets['by_hand']:06d}"]["moved_by_hand"] is True
    assert queues(runtime) == before


def test_apply_moves_them_with_a_history_entry_each(runtime, rule_files, tickets, cli_env):
    code, output = diff(rule_files, cli_env, "--apply")

    assert code == 0
    assert "1 moved, 1 left alone" in output
    after = queues(runtime)
    assert after[tickets["open"]] == "support"
    assert after[tickets["by_hand"]] == "shop"
    assert after[tickets["closed"]] == "wawi"
    with runtime.db.session() as session:
        events = session.scalars(select(TicketEvent).where(TicketEvent.action == "rerouted")).all()
        moved = session.get(Ticket, tickets["open"])
        assert moved is not None and moved.rules_version == load_rules(rule_files[1]).version
    assert [event.ticket_id for event in events] == [tickets["open"]]
    assert events[0].changes["queue"] == ["wawi", "support"]
    assert events[0].actor == "helpdesk routes diff"


def test_apply_twice_moves_nothing_the_second_time(runtime, rule_files, tickets, cli_env):
    _code, first = diff(rule_files, cli_env, "--apply")
    assert "1 moved" in first

    code, output = diff(rule_files, cli_env, "--apply")

    assert code == 0 and "0 moved" in output
