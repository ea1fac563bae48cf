"""The customer's "Meine Tickets": search, status filter, sortable columns, paged by cursor."""

from __future__ import annotations

import html
import re

from sqlalchemy import event

from tests.integration.accounts.factories import make_account, make_customer, sign_in
from tests.integration.tickets.factories import make_ticket
from tickets.listing import PAGE_SIZE
from tickets.models import Ticket, format_number

MORE = re.compile(r'<a href="([^"]+)">Weitere Tickets</a>')
ROW = re.compile(r'<tr>\s*<td><a href="/tickets/(HD-\d{6})">')


def _customer(app, runtime):
    account = make_account(runtime)
    client = app.test_client()
    sign_in(client, make_customer(runtime, account).email)
    return account, client


def _ticket(runtime, account_id: int | None, subject: str, status: str = "new", **values) -> str:
    ticket_id = make_ticket(runtime, subject=subject, **values)
    with runtime.db.session() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.account_id, ticket.status = account_id, status
    return format_number(ticket_id)


def _listed(client, path: str) -> list[str]:
    response = client.get(path)
    assert response.status_code == 200, path
    return ROW.findall(response.get_data(as_text=True))


def test_the_subject_links_to_the_ticket(app, runtime):
    account, client = _customer(app, runtime)
    number = _ticket(runtime, account.id, "Drucker druckt nicht")

    page = client.get("/tickets").get_data(as_text=True)

    assert f'<a href="/tickets/{number}">Drucker druckt nicht</a>' in page


def test_search_finds_by_number_subject_and_text_and_never_another_accounts_ticket(app, runtime):
    account, client = _customer(app, runtime)
    other_account, _other = _customer(app, runtime)
    printer = _ticket(runtime, account.id, "Drucker druckt nicht")
    invoice = _ticket(runtime, account.id, "Frage", text="Die Rechnung 4711 fehlt.")
    foreign = _ticket(runtime, other_account.id, "Drucker streikt")

    assert _listed(client, "/tickets?q=Drucker") == [printer]
    assert _listed(client, "/tickets?q=Rechnung") == [invoice]
    assert _listed(client, f"/tickets?q={printer.lower()}") == [printer]
    assert _listed(client, f"/tickets?q={foreign}") == []
    page = client.get("/tickets?q=Zahnradbahn").get_data(as_text=True)
    assert "Keine Tickets gefunden." in page


def test_the_status_filter_shows_open_or_one_status(app, runtime):
    account, client = _customer(app, runtime)
    waiting = _ticket(runtime, account.id, "Wartet", status="waiting")
    closed = _ticket(runtime, account.id, "Erledigt", status="closed")

    assert _listed(client, "/tickets?status=offen") == [waiting]
    assert _listed(client, "/tickets?status=closed") == [closed]
    assert sorted(_listed(client, "/tickets")) == sorted([waiting, closed])
    assert sorted(_listed(client, "/tickets?status=quer")) == sorted([waiting, closed])


def test_columns_sort_by_number_subject_and_last_change(app, runtime):
    account, client = _customer(app, runtime)
    billing = _ticket(runtime, account.id, "Buchung fehlt")
    cashier = _ticket(runtime, account.id, "Kasse steht")
    access = _ticket(runtime, account.id, "Anmeldung klappt nicht")
    with runtime.db.session() as session:  # the first ticket changed last
        session.get_one(Ticket, int(billing[3:])).subject = "Buchung fehlt (Nachtrag)"

    assert _listed(client, "/tickets?sort=number") == [access, cashier, billing]
    assert _listed(client, "/tickets?sort=subject") == [access, billing, cashier]
    assert _listed(client, "/tickets") == [billing, access, cashier]
    page = client.get("/tickets?sort=subject").get_data(as_text=True)
    assert '<th scope="col" aria-sort="ascending">Betreff</th>' in page


def test_the_more_link_walks_every_ticket_once_in_subject_order_with_the_filter(app, runtime):
    account, client = _customer(app, runtime)
    filed = [
        _ticket(runtime, account.id, f"Anfrage {n % 7}", status="open")
        for n in range(PAGE_SIZE + 5)
    ]
    _ticket(runtime, account.id, "Anfrage geschlossen", status="closed")

    seen: list[str] = []
    path: str | None = "/tickets?status=offen&sort=subject"
    while path is not None:
        page = client.get(path).get_data(as_text=True)
        seen.extend(ROW.findall(page))
        link = MORE.search(page)
        path = html.unescape(link.group(1)) if link else None

    assert sorted(seen) == sorted(filed)
    assert len(seen) == len(filed)


def test_the_list_costs_the_same_statements_for_3_and_25_tickets(app, runtime):
    account, client = _customer(app, runtime)

    def statements() -> int:
        count = 0

        def counter(*_args):
            nonlocal count
            count += 1

        event.listen(runtime.db.engine, "before_cursor_execute", counter)
        try:
            listed = _listed(client, "/tickets?status=offen&sort=subject&q=Anfrage")
        finally:
            event.remove(runtime.db.engine, "before_cursor_execute", counter)
        assert listed
        return count

    for n in range(3):
        _ticket(runtime, account.id, f"Anfrage {n}")
    few = statements()
    for n in range(22):
        _ticket(runtime, account.id, f"Anfrage {n}")
    many = statements()

    assert few == many
