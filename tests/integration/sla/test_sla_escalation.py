"""Escalation through the real worker and SMTP sink: warnings, breach notices, on-call pages."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from rq.registry import ScheduledJobRegistry

from helpdesk.runtime import Runtime, install
from tests.integration.sla.helpers import (
    WAWI,
    add_message,
    berlin,
    clock_from,
    mails_to,
    steps,
    ticket,
)
from tests.integration.tickets.factories import make_account, make_ticket, make_user
from tests.support import wait_until
from tickets.models import Ticket
from tickets.sla import escalation
from tickets.sla.clock import acknowledge
from tickets.sla.timers import reconcile

ON_CALL = "oncall@support.example.com"
FIRE = "workers.jobs.fire_sla_step"


def _step(runtime, ticket_id, name):
    return next(step for step in steps(runtime, ticket_id) if step.step == name)


def test_critical_ticket_pages_on_call_at_once(runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime, **WAWI, priority="critical")

    work()

    pages = mails_to(smtp_sink.wait_for(2), ON_CALL)
    assert len(pages) == 1
    assert pages[0]["Subject"].startswith(f"[{ticket(runtime, ticket_id).number}] KRITISCH")
    assert "Bereitschaft, bitte übernehmen" in pages[0].get_body(("plain",)).get_content()


def test_page_repeats_until_someone_acknowledges(runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime, **WAWI, priority="critical")
    work()
    paging_since = ticket(runtime, ticket_id).paging_since
    every = timedelta(minutes=30)  # Community/critical

    reconcile(runtime, paging_since + every)
    work()
    with runtime.db.session() as session:
        acknowledge(
            session, session.get_one(Ticket, ticket_id), "agent@example.com", paging_since + every
        )
    reconcile(runtime, paging_since + 3 * every)
    work()

    assert len(mails_to(smtp_sink.wait_for(3), ON_CALL)) == 2
    assert [
        step.fired_at is not None for step in steps(runtime, ticket_id) if step.step == "page"
    ] == [True, True]


def test_first_agent_reply_counts_as_acknowledgement(runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime, **WAWI, priority="critical")
    work()
    paging_since = ticket(runtime, ticket_id).paging_since

    add_message(
        runtime, ticket_id, "agent", paging_since + timedelta(minutes=5), "agent@example.com"
    )
    reconcile(runtime, paging_since + timedelta(hours=2))
    work()

    answered = ticket(runtime, ticket_id)
    assert answered.acknowledged_by == "agent@example.com"
    assert len(mails_to(smtp_sink.wait_for(2), ON_CALL)) == 1


def test_a_step_fires_once_even_when_its_job_runs_twice(runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime, **WAWI, priority="critical")
    page = _step(runtime, ticket_id, "page")
    queue = runtime.queue("default")

    for job_id in ("duplicate-a", "duplicate-b"):
        queue.enqueue(FIRE, ticket_id, "page", page.due_at.isoformat(), job_id=job_id)
    work()

    assert len(mails_to(smtp_sink.wait_for(2), ON_CALL)) == 1
    assert len([s for s in steps(runtime, ticket_id) if s.step == "page" and s.fired_at]) == 1


def test_warning_goes_to_the_assignee_before_the_due_time(runtime, work, smtp_sink):
    assignee = "bearbeiterin@support.example.com"
    ticket_id = make_ticket(runtime, **WAWI)
    with runtime.db.session() as session:
        session.get_one(Ticket, ticket_id).assignee_id = make_user(
            runtime, roles=("agent",), email=assignee
        )
    warn = _step(runtime, ticket_id, "warn_first_response")

    reconcile(runtime, warn.fire_at)
    work()

    warnings = mails_to(smtp_sink.wait_for(2), assignee)
    assert len(warnings) == 1
    assert "SLA-Warnung: Erste Antwort fällig" in warnings[0]["Subject"]
    assert not ticket(runtime, ticket_id).first_response_breached


def test_breach_notifies_the_supervisors_of_the_queue(runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime, **WAWI)
    queue = ticket(runtime, ticket_id).queue
    make_user(runtime, roles=("supervisor",), queues=(queue,), email="lead@support.example.com")
    make_user(runtime, roles=("supervisor",), queues=("shop",), email="shop@support.example.com")
    breach = _step(runtime, ticket_id, "breach_first_response")

    reconcile(runtime, breach.fire_at)
    work()

    received = smtp_sink.wait_for(2)
    notices = mails_to(received, "lead@support.example.com")
    assert len(notices) == 1
    assert "SLA verletzt: Erste Antwort überfällig" in notices[0]["Subject"]
    assert mails_to(received, "shop@support.example.com") == []
    assert ticket(runtime, ticket_id).first_response_breached


def test_worker_down_for_an_hour_fires_what_it_missed_once(runtime, work, smtp_sink):
    make_user(runtime, roles=("supervisor",), email="lead@support.example.com")
    ticket_id = make_ticket(runtime, **WAWI)
    account_id = make_account(runtime, edition="enterprise")
    clock_from(runtime, ticket_id, berlin("2026-03-30 08:00"), account_id=account_id)
    runtime.redis.flushdb()  # the restart: no scheduled or queued job survived

    # Gold/normal: warning at 09:30, breach at 10:00; the worker is back at 11:00.
    first = reconcile(runtime, berlin("2026-03-30 11:00"))
    again = reconcile(runtime, berlin("2026-03-30 11:01"))
    work()

    fired = {step.step: step for step in steps(runtime, ticket_id) if step.fired_at}
    assert set(fired) == {"warn_first_response", "breach_first_response"}
    assert fired["warn_first_response"].recipients == []  # a late warning says nothing new
    assert (first.fired, again.fired) == (1, 0)
    assert first.scheduled == 2  # the resolution steps got their timers back
    assert len(mails_to(smtp_sink.wait_for(1), "lead@support.example.com")) == 1


def test_filed_ticket_steps_get_their_timers_from_the_worker(runtime, work):
    ticket_id = make_ticket(runtime, **WAWI)

    work()

    scheduled = set(ScheduledJobRegistry(queue=runtime.queue("default")).get_job_ids())
    planned = steps(runtime, ticket_id)
    assert len(planned) == 4
    assert {
        escalation.Timer(ticket_id, step.step, step.due_at, step.fire_at).job_id for step in planned
    } <= scheduled


def test_reconcile_clocks_tickets_that_never_had_due_times(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    with runtime.db.session() as session:
        unclocked = session.get_one(Ticket, ticket_id)
        unclocked.sla_key = unclocked.first_response_due_at = None

    result = reconcile(runtime, ticket(runtime, ticket_id).created_at)

    assert result.clocked == 1
    assert ticket(runtime, ticket_id).first_response_due_at is not None


def test_a_replanned_step_does_not_fire_from_its_old_timer(runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    breach = _step(runtime, ticket_id, "breach_first_response")
    clock_from(runtime, ticket_id, ticket(runtime, ticket_id).created_at + timedelta(days=2))

    outcome = escalation.fire(runtime, ticket_id, breach.step, breach.due_at, breach.fire_at)

    assert outcome.outcome == "cancelled"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def test_page_is_posted_to_the_on_call_webhook(runtime, work):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/pager"
    hooked = install(Runtime(replace(runtime.settings, oncall_webhook_url=url)))
    try:
        ticket_id = make_ticket(hooked, **WAWI, priority="critical")
        work()
        wait_until(lambda: _Hook.received, what="the webhook call")
    finally:
        server.shutdown()
        hooked.db.dispose()
        install(runtime)

    assert _Hook.received[0]["event"] == "sla.page"
    assert _Hook.received[0]["ticket"] == ticket(runtime, ticket_id).number
