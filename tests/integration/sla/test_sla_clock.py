"""The SLA clock through the services: policy by edition, pauses, responses, resolution."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from tests.integration.sla.helpers import (
    WAWI,
    add_message,
    berlin,
    clock_from,
    set_status,
    steps,
    ticket,
)
from tests.integration.tickets.factories import make_account, make_ticket
from tickets.inbound.services import take_message
from tickets.sla.clock import sla_view
from tickets.sla.live import current_policies

MONDAY_8 = berlin("2026-03-30 08:00")


def test_filed_ticket_gets_due_times_from_its_policy(runtime):
    ticket_id = make_ticket(runtime, **WAWI)

    filed = ticket(runtime, ticket_id)

    expected = current_policies().due("Community", "normal", filed.created_at)
    assert (filed.support_level, filed.sla_key) == ("Community", "Community/normal")
    assert filed.first_response_due_at == expected
    assert filed.sla_next_due_at == expected


def test_support_level_comes_from_the_account_edition(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    account_id = make_account(runtime, edition="pro")

    clock_from(runtime, ticket_id, MONDAY_8, account_id=account_id)

    clocked = ticket(runtime, ticket_id)
    assert clocked.sla_key == "Silber/normal"
    assert clocked.first_response_due_at == berlin("2026-03-30 12:00")  # 4 business hours


def test_friday_afternoon_ticket_is_due_on_monday(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    account_id = make_account(runtime, edition="enterprise")

    clock_from(runtime, ticket_id, berlin("2026-03-27 16:30"), account_id=account_id)

    assert ticket(runtime, ticket_id).first_response_due_at == berlin("2026-03-30 09:30")


def test_critical_ticket_does_not_wait_for_monday(runtime):
    ticket_id = make_ticket(runtime, **WAWI, priority="critical")
    account_id = make_account(runtime, edition="enterprise")

    clock_from(runtime, ticket_id, berlin("2026-03-28 23:10"), account_id=account_id)

    clocked = ticket(runtime, ticket_id)
    assert clocked.sla_key == "Gold/critical"
    assert clocked.first_response_due_at == berlin("2026-03-28 23:40")


def test_waiting_for_the_customer_stops_the_clock_until_they_reply(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, MONDAY_8, account_id=make_account(runtime, edition="pro"))

    set_status(runtime, ticket_id, "waiting", berlin("2026-03-30 09:00"))
    add_message(runtime, ticket_id, "customer", berlin("2026-03-31 09:00"), "kunde@example.com")

    resumed = ticket(runtime, ticket_id)
    # One of four hours ran before the pause; the other three run from Tuesday 09:00.
    assert resumed.first_response_due_at == berlin("2026-03-31 12:00")
    assert resumed.resolution_due_at == current_policies().due(
        "Silber",
        "normal",
        MONDAY_8,
        "resolution",
        paused=[(berlin("2026-03-30 09:00"), berlin("2026-03-31 09:00"))],
    )


def test_a_status_change_ends_the_wait_too(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, MONDAY_8, account_id=make_account(runtime, edition="pro"))

    set_status(runtime, ticket_id, "waiting", berlin("2026-03-30 11:00"))
    set_status(runtime, ticket_id, "open", berlin("2026-03-30 15:00"))

    assert ticket(runtime, ticket_id).first_response_due_at == berlin("2026-03-30 16:00")


def test_a_paused_ticket_plans_no_escalation(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, MONDAY_8)
    assert [step for step in steps(runtime, ticket_id) if step.fired_at is None] != []

    set_status(runtime, ticket_id, "waiting", berlin("2026-03-30 09:00"))

    paused = ticket(runtime, ticket_id)
    assert [step for step in steps(runtime, ticket_id) if step.fired_at is None] == []
    assert paused.sla_next_due_at is None
    assert sla_view(paused, berlin("2026-03-30 10:00")).label == "Pausiert: wartet auf Kunde"


def test_agent_reply_is_the_first_response_and_its_time_is_kept(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, MONDAY_8, account_id=make_account(runtime, edition="pro"))

    add_message(runtime, ticket_id, "agent", berlin("2026-03-30 10:30"), "agent@example.com")

    answered = ticket(runtime, ticket_id)
    assert answered.first_responded_at == berlin("2026-03-30 10:30")
    assert answered.first_response_minutes == 150
    assert not answered.first_response_breached
    assert {step.step for step in steps(runtime, ticket_id) if step.fired_at is None} == {
        "warn_resolution",
        "breach_resolution",
    }


def test_a_late_first_response_is_a_breach(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, MONDAY_8, account_id=make_account(runtime, edition="pro"))

    add_message(runtime, ticket_id, "agent", berlin("2026-03-30 13:00"), "agent@example.com")

    assert ticket(runtime, ticket_id).first_response_breached


def test_customer_message_after_an_answer_starts_the_next_response_clock(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, MONDAY_8, account_id=make_account(runtime, edition="pro"))
    add_message(runtime, ticket_id, "agent", berlin("2026-03-30 09:00"), "agent@example.com")

    add_message(runtime, ticket_id, "customer", berlin("2026-03-30 16:00"), "kunde@example.com")

    waiting = ticket(runtime, ticket_id)
    assert waiting.awaiting_reply_since == berlin("2026-03-30 16:00")
    assert waiting.next_response_due_at == berlin("2026-03-31 16:00")  # 1 working day


def test_resolving_stops_the_clock_and_reopening_resumes_it(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, MONDAY_8, account_id=make_account(runtime, edition="pro"))
    add_message(runtime, ticket_id, "agent", berlin("2026-03-30 09:00"), "agent@example.com")

    set_status(runtime, ticket_id, "resolved", berlin("2026-03-30 12:00"))
    resolved = ticket(runtime, ticket_id)
    set_status(runtime, ticket_id, "open", berlin("2026-03-31 12:00"))
    reopened = ticket(runtime, ticket_id)

    assert resolved.resolution_minutes == 240
    assert resolved.sla_next_due_at is None
    assert reopened.resolved_at is None
    assert reopened.resolution_due_at == resolved.resolution_due_at + timedelta(days=1)


def test_applying_twice_changes_nothing(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, MONDAY_8)
    before = ticket(runtime, ticket_id)
    planned = [(step.step, step.due_at, step.fire_at) for step in steps(runtime, ticket_id)]

    set_status(runtime, ticket_id, "new", MONDAY_8)

    after = ticket(runtime, ticket_id)
    assert after.first_response_due_at == before.first_response_due_at
    assert [(s.step, s.due_at, s.fire_at) for s in steps(runtime, ticket_id)] == planned


def test_a_customer_mail_ends_the_wait(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    filed = ticket(runtime, ticket_id)
    set_status(runtime, ticket_id, "waiting", filed.created_at)
    mail = EmailMessage()
    mail["From"] = filed.reply_to
    mail["To"] = runtime.settings.mail_from
    mail["Subject"] = f"[{filed.number}] Re: {filed.subject}"
    mail["Message-ID"] = make_msgid(domain="kunde.example")
    mail.set_content("Hier die gewünschten Angaben.")

    outcome = take_message(runtime, mail.as_bytes(), mailbox=runtime.settings.mail_from)

    replied = ticket(runtime, ticket_id)
    assert outcome.action == "appended"
    assert (replied.status, replied.sla_status) == ("open", "open")
    assert replied.sla_next_due_at is not None
    assert [step for step in steps(runtime, ticket_id) if step.fired_at is None]


def test_a_routing_override_picks_the_policy_it_names(runtime):
    ticket_id = make_ticket(runtime, **WAWI)

    clock_from(runtime, ticket_id, MONDAY_8, sla_policy="Gold/high")

    clocked = ticket(runtime, ticket_id)
    assert clocked.sla_key == "Gold/high"
    assert clocked.first_response_due_at == berlin("2026-03-30 09:00")


def test_an_override_naming_no_policy_falls_back_to_level_and_priority(runtime):
    ticket_id = make_ticket(runtime, **WAWI)

    clock_from(runtime, ticket_id, MONDAY_8, sla_policy="urgent")

    assert ticket(runtime, ticket_id).sla_key == "Community/normal"
