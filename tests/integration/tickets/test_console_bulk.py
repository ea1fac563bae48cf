"""The console list: bulk actions on selected tickets, sortable columns, "Meine Tickets", and a
ticket number typed into the search that opens the ticket."""

from __future__ import annotations

from sqlalchemy import event, select

from tests.integration.accounts.factories import csrf_token, make_staff, sign_in
from tests.integration.tickets.factories import make_ticket
from tickets.models import Ticket, TicketEvent


def _agent(app, runtime, queues=("accounting",)):
    agent = make_staff(runtime, "agent", queues=queues)
    client = app.test_client()
    sign_in(client, agent.email)
    return agent, client


def _tickets(runtime, n: int, **values) -> list[Ticket]:
    ids = [make_ticket(runtime) for _ in range(n)]
    with runtime.db.session() as session:
        tickets = [session.get_one(Ticket, ticket_id) for ticket_id in ids]
        for ticket in tickets:
            for name, value in values.items():
                setattr(ticket, name, value)
        return tickets


def _bulk(client, numbers, **fields):
    token = csrf_token(client, "/konsole")
    data = {"csrf_token": token, "numbers": numbers, "back": "queue=accounting", **fields}
    return client.post("/konsole/auswahl", data=data)


def _events(runtime, ticket_id: int, action: str) -> list[TicketEvent]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == ticket_id, TicketEvent.action == action
                )
            )
        )


def _ticket(runtime, ticket_id: int) -> Ticket:
    with runtime.db.session() as session:
        return session.get_one(Ticket, ticket_id)


def test_a_priority_change_on_a_selection_writes_one_history_entry_per_ticket(app, runtime):
    agent, client = _agent(app, runtime)
    mine = _tickets(runtime, 2)
    (theirs,) = _tickets(runtime, 1, queue="support")

    response = _bulk(
        client,
        [t.number for t in (*mine, theirs)],
        priority="low",
        reason="Kein Stillstand, Kunde arbeitet weiter",
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/konsole?queue=accounting")
    for ticket in mine:
        assert _ticket(runtime, ticket.id).effective_priority == "low"
        (entry,) = _events(runtime, ticket.id, "changed")
        assert (entry.actor, entry.reason, entry.changes["effective_priority"][1]) == (
            agent.email,
            "Kein Stillstand, Kunde arbeitet weiter",
            "low",
        )
    assert _ticket(runtime, theirs.id).effective_priority != "low"
    assert _events(runtime, theirs.id, "changed") == []
    page = client.get("/konsole?queue=accounting").get_data(as_text=True)
    assert f"Nicht geändert: {theirs.number} (nicht in Ihren Queues)." in page


def test_assigning_a_selection_to_me_shows_them_under_meine_tickets(app, runtime):
    agent, client = _agent(app, runtime)
    selected = _tickets(runtime, 2)
    (other,) = _tickets(runtime, 1)

    _bulk(client, [t.number for t in selected], assignee="me")

    assert [_ticket(runtime, t.id).assignee_id for t in selected] == [agent.id, agent.id]
    assert all(len(_events(runtime, t.id, "assigned")) == 1 for t in selected)
    mine = client.get("/konsole?assignee=me").get_data(as_text=True)
    assert all(t.number in mine for t in selected)
    assert other.number not in mine


def test_a_change_without_a_reason_changes_nothing(app, runtime):
    _agent_user, client = _agent(app, runtime)
    tickets = _tickets(runtime, 2)

    _bulk(client, [t.number for t in tickets], status="waiting", reason=" ")

    assert {_ticket(runtime, t.id).status for t in tickets} == {"new"}
    assert "Bitte geben Sie einen Grund an." in client.get("/konsole").get_data(as_text=True)


def test_searching_a_ticket_number_opens_the_ticket(app, runtime):
    _agent_user, client = _agent(app, runtime)
    (ticket,) = _tickets(runtime, 1)

    response = client.get(f"/konsole?q={ticket.number.lower()}")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/konsole/tickets/{ticket.number}")


def test_sorting_by_priority_puts_critical_tickets_first(app, runtime):
    _agent_user, client = _agent(app, runtime)
    (low,) = _tickets(runtime, 1, effective_priority="low")
    (critical,) = _tickets(runtime, 1, effective_priority="critical")

    by_priority = client.get("/konsole?queue=accounting&sort=priority").get_data(as_text=True)
    newest = client.get("/konsole?queue=accounting&sort=created").get_data(as_text=True)

    assert by_priority.index(critical.number) < by_priority.index(low.number)
    assert newest.index(critical.number) < newest.index(low.number)
    assert client.get("/konsole?sort=quer").status_code == 200  # reported, due-first instead


def test_meine_tickets_costs_the_same_statements_for_3_and_30_tickets(app, runtime):
    agent, client = _agent(app, runtime)

    def statements() -> int:
        count = 0

        def counter(*_args):
            nonlocal count
            count += 1

        event.listen(runtime.db.engine, "before_cursor_execute", counter)
        try:
            assert client.get("/konsole?assignee=me&sort=priority").status_code == 200
        finally:
            event.remove(runtime.db.engine, "before_cursor_execute", counter)
        return count

    _tickets(runtime, 3, assignee_id=agent.id)
    few = statements()
    _tickets(runtime, 27, assignee_id=agent.id)
    many = statements()

    assert few == many
