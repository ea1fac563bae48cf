"""Tags in the console: agents add and remove them on the ticket page, each change in the
history, and the list filters by tag."""

from __future__ import annotations

from sqlalchemy import event, select

from tests.integration.accounts.factories import csrf_token, make_staff, sign_in
from tests.integration.tickets.factories import make_ticket
from tickets.models import Ticket, TicketEvent, format_number


def _accounting_ticket(runtime, tags: list[str] | None = None) -> str:
    ticket_id = make_ticket(runtime)
    with runtime.db.session() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.queue, ticket.tags = "accounting", tags or []
    return format_number(ticket_id)


def _agent(app, runtime, queue: str = "accounting"):
    client = app.test_client()
    sign_in(client, make_staff(runtime, "agent", queues=(queue,)).email)
    return client


def _post_tags(client, number: str, **data):
    path = f"/konsole/tickets/{number}"
    return client.post(f"{path}/tags", data={"csrf_token": csrf_token(client, path), **data})


def _ticket(runtime, number: str) -> Ticket:
    with runtime.db.session() as session:
        return session.get_one(Ticket, int(number[3:]))


def _tag_events(runtime, number: str) -> list[TicketEvent]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == int(number[3:]),
                    TicketEvent.action == "tags_changed",
                )
            )
        )


def test_an_agent_adds_tags_and_the_history_names_the_change_in_german(app, runtime):
    number = _accounting_ticket(runtime, ["zugang-gesperrt"])
    client = _agent(app, runtime)

    response = _post_tags(client, number, add=" Rückruf ,VIP, rückruf")

    assert response.status_code == 302
    assert _ticket(runtime, number).tags == ["rückruf", "vip", "zugang-gesperrt"]
    (entry,) = _tag_events(runtime, number)
    assert entry.changes == {"tags": [["zugang-gesperrt"], ["rückruf", "vip", "zugang-gesperrt"]]}
    page = client.get(f"/konsole/tickets/{number}").get_data(as_text=True)
    assert "Tags geändert" in page
    assert "Tags: zugang-gesperrt → rückruf, vip, zugang-gesperrt" in page
    assert "Die Tags sind gespeichert." in page


def test_an_agent_removes_a_tag_with_its_button(app, runtime):
    number = _accounting_ticket(runtime, ["rückruf", "vip"])
    client = _agent(app, runtime)
    page = client.get(f"/konsole/tickets/{number}").get_data(as_text=True)
    assert 'aria-label="Tag vip entfernen"' in page

    _post_tags(client, number, remove="vip")

    assert _ticket(runtime, number).tags == ["rückruf"]
    (entry,) = _tag_events(runtime, number)
    assert entry.changes == {"tags": [["rückruf", "vip"], ["rückruf"]]}


def test_adding_a_tag_the_ticket_has_writes_no_history(app, runtime):
    number = _accounting_ticket(runtime, ["vip"])

    _post_tags(_agent(app, runtime), number, add="VIP")

    assert _ticket(runtime, number).tags == ["vip"]
    assert _tag_events(runtime, number) == []


def test_a_tag_too_long_or_with_a_control_character_is_refused_by_field(app, runtime):
    number = _accounting_ticket(runtime)
    client = _agent(app, runtime)

    too_long = _post_tags(client, number, add="x" * 41)
    control = _post_tags(client, number, add="a\x07b")

    assert (too_long.status_code, control.status_code) == (422, 422)
    assert "Ein Tag hat höchstens 40 Zeichen." in too_long.get_data(as_text=True)
    assert 'id="add-error"' in control.get_data(as_text=True)
    assert _ticket(runtime, number).tags == []


def test_an_agent_of_another_queue_may_not_change_tags(app, runtime):
    number = _accounting_ticket(runtime, ["vip"])
    other = _agent(app, runtime, queue="support")

    page = other.get(f"/konsole/tickets/{number}").get_data(as_text=True)
    response = _post_tags(other, number, remove="vip")

    assert 'id="add-tags"' not in page
    assert response.status_code == 403
    assert _ticket(runtime, number).tags == ["vip"]


def test_changing_tags_without_the_csrf_token_is_refused(app, runtime):
    number = _accounting_ticket(runtime, ["vip"])
    client = _agent(app, runtime)

    response = client.post(f"/konsole/tickets/{number}/tags", data={"remove": "vip"})

    assert response.status_code == 400
    assert _ticket(runtime, number).tags == ["vip"]


def test_the_console_list_filters_by_tag(app, runtime):
    tagged = _accounting_ticket(runtime, ["rückruf", "vip"])
    untagged = _accounting_ticket(runtime, ["vip"])
    client = _agent(app, runtime)

    page = client.get("/konsole?queue=accounting&tag=R%C3%BCckruf").get_data(as_text=True)

    listed = page.split('<table id="ticket-list">')[1]
    assert tagged in listed
    assert untagged not in listed
    assert 'href="/konsole?tag=vip"' in listed  # each tag links to its filter


def test_the_tag_filter_costs_the_same_statements_for_3_and_25_tickets(app, runtime):
    client = _agent(app, runtime)

    def statements() -> int:
        count = 0

        def counter(*_args):
            nonlocal count
            count += 1

        event.listen(runtime.db.engine, "before_cursor_execute", counter)
        try:
            page = client.get("/konsole?tag=vip").get_data(as_text=True)
        finally:
            event.remove(runtime.db.engine, "before_cursor_execute", counter)
        assert page.count("/konsole/tickets/HD-") > 0
        return count

    for _ in range(3):
        _accounting_ticket(runtime, ["vip"])
    few = statements()
    for _ in range(22):
        _accounting_ticket(runtime, ["vip"])
    many = statements()

    assert few == many
