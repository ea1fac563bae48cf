"""SLA pages through the Flask client: the report (table, CSV, chart), acknowledging a page,
due times in the agent console and the promised response time on the customer's ticket."""

from __future__ import annotations

from datetime import timedelta

from helpdesk.db import utcnow
from tests.integration.accounts.factories import (
    csrf_token,
    make_customer,
    make_staff,
    sign_in,
)
from tests.integration.accounts.factories import make_account as make_customer_account
from tests.integration.sla.helpers import (
    BERLIN,
    WAWI,
    add_message,
    clock_from,
    set_status,
    steps,
    ticket,
)
from tests.integration.tickets.factories import make_ticket
from tickets.sla.reports import iso_week
from tickets.sla.timers import reconcile


def _critical_ticket(runtime, filed, answered_after: timedelta) -> int:
    """A Community/critical ticket (2 h to the first response, around the clock), resolved
    an hour after the answer."""
    ticket_id = make_ticket(runtime, **WAWI, priority="critical")
    clock_from(runtime, ticket_id, filed)
    add_message(runtime, ticket_id, "agent", filed + answered_after, "agent@example.com")
    set_status(runtime, ticket_id, "resolved", filed + answered_after + timedelta(hours=1))
    return ticket_id


def _two_resolved_tickets(runtime):
    filed = utcnow() - timedelta(days=7)
    _critical_ticket(runtime, filed, timedelta(minutes=30))
    _critical_ticket(runtime, filed, timedelta(hours=3))  # first response breached
    return filed


def _supervisor(client, runtime) -> None:
    user = make_staff(runtime, "supervisor", queues=("on-call",))
    sign_in(client, user.email)


def test_report_shows_response_times_and_breach_rate_per_queue_level_and_week(client, runtime):
    filed = _two_resolved_tickets(runtime)
    _supervisor(client, runtime)

    page = client.get("/reports/sla")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    week = iso_week(filed.astimezone(BERLIN).date())
    row = html[html.index(f"<td>{week}</td>") :].split("</tr>")[0]
    cells = [cell.split("</td>")[0].strip() for cell in row.split("<td>")[1:]]
    assert cells[2:] == ["Community", "2", "105,0", "105,0", "2", "165,0", "165,0", "1", "50,0 %"]
    assert "<svg" in html and "50,0 %" in html


def test_report_downloads_as_csv(client, runtime):
    filed = _two_resolved_tickets(runtime)
    _supervisor(client, runtime)

    response = client.get("/reports/sla.csv?wochen=4&queue=on-call")

    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert lines[0].startswith("Woche;Queue;Support-Level;Tickets;")
    week = iso_week(filed.astimezone(BERLIN).date())
    assert lines[1:] == [f"{week};on-call;Community;2;105,0;105,0;2;165,0;165,0;1;50,0"]


def test_report_is_for_supervisors_only(client, runtime):
    agent = make_staff(runtime, "agent", queues=("on-call",))
    sign_in(client, agent.email)

    assert client.get("/reports/sla").status_code == 403
    assert client.get("/reports/sla.csv").status_code == 403


def test_report_refuses_an_unknown_queue(client, runtime):
    _supervisor(client, runtime)

    assert client.get("/reports/sla?queue=nirgendwo").status_code == 400


def test_agent_acknowledges_a_page_and_paging_stops(client, runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime, **WAWI, priority="critical")
    work()
    number = ticket(runtime, ticket_id).number
    agent = make_staff(runtime, "agent", queues=("on-call",))
    sign_in(client, agent.email)
    path = f"/konsole/tickets/{number}/sla"

    response = client.post(f"{path}/uebernehmen", data={"csrf_token": csrf_token(client, path)})
    reconcile(runtime, ticket(runtime, ticket_id).paging_since + timedelta(hours=3))
    work()

    assert response.status_code == 303
    assert ticket(runtime, ticket_id).acknowledged_by == agent.email
    assert [
        step.fired_at is not None for step in steps(runtime, ticket_id) if step.step == "page"
    ] == [True]
    assert f"übernommen von {agent.email}" in client.get(path).get_data(as_text=True)


def test_acknowledging_needs_the_csrf_token(client, runtime):
    ticket_id = make_ticket(runtime, **WAWI, priority="critical")
    sign_in(client, make_staff(runtime, "agent", queues=("on-call",)).email)
    path = f"/konsole/tickets/{ticket(runtime, ticket_id).number}/sla"

    without = client.post(f"{path}/uebernehmen")
    unacknowledged = ticket(runtime, ticket_id).acknowledged_at
    with_token = client.post(f"{path}/uebernehmen", data={"csrf_token": csrf_token(client, path)})

    assert (without.status_code, unacknowledged) == (400, None)
    assert with_token.status_code == 303
    assert ticket(runtime, ticket_id).acknowledged_at is not None  # the same post, with token


def test_console_list_shows_the_due_time(client, runtime):
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, utcnow() - timedelta(days=30))
    sign_in(client, make_staff(runtime, "supervisor").email)

    html = client.get("/konsole").get_data(as_text=True)

    assert "Fällig (SLA)" in html
    assert "überfällig seit" in html


def test_customer_sees_the_promised_response_time(client, runtime):
    account = make_customer_account(runtime, edition="enterprise")
    customer = make_customer(runtime, account)
    ticket_id = make_ticket(runtime, **WAWI)
    clock_from(runtime, ticket_id, utcnow(), account_id=account.id)
    sign_in(client, customer.email)

    html = client.get(f"/tickets/{ticket(runtime, ticket_id).number}").get_data(as_text=True)

    assert "Zugesagte Antwortzeit" in html
    assert "Antwort bis " in html
