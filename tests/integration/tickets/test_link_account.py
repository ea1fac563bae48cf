"""An e-mail ticket of an unknown sender is linked to an account in the console: routing and the
SLA are evaluated again with the account's facts, in one history entry."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.accounts.factories import csrf_token, make_staff, sign_in
from tests.integration.tickets.factories import make_account, make_ticket
from tickets.models import Ticket, TicketEvent


def _ticket(runtime, ticket_id: int) -> Ticket:
    with runtime.db.session() as session:
        return session.get_one(Ticket, ticket_id)


def _link(app, runtime, ticket: Ticket, **data):
    agent = app.test_client()
    sign_in(agent, make_staff(runtime, "agent", queues=(ticket.queue,)).email)
    path = f"/konsole/tickets/{ticket.number}"
    return agent.post(f"{path}/konto", data={"csrf_token": csrf_token(agent, path), **data})


def test_linking_an_account_routes_again_and_clocks_the_accounts_sla(app, runtime):
    make_account(runtime, customer_number="K777001", edition="enterprise")
    ticket = _ticket(runtime, make_ticket(runtime))

    response = _link(
        app, runtime, ticket, customer_number="K777001", reason="Absender ist Kunde K777001"
    )

    assert response.status_code == 302
    linked = _ticket(runtime, ticket.id)
    assert linked.account_id is not None
    assert (ticket.support_level, linked.support_level) == ("Community", "Gold")
    assert linked.sla_key.startswith("Gold/")
    assert linked.first_response_due_at < ticket.first_response_due_at
    with runtime.db.session() as session:
        entry = session.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.action == "account_linked"
            )
        ).one()
    assert entry.reason == "Absender ist Kunde K777001"
    assert entry.changes["account_id"] == [None, linked.account_id]


def test_an_unknown_customer_number_names_the_field_and_changes_nothing(app, runtime):
    ticket = _ticket(runtime, make_ticket(runtime))

    response = _link(app, runtime, ticket, customer_number="K000000", reason="Anruf")

    assert response.status_code == 422
    assert "Keine Kundennummer gefunden." in response.get_data(as_text=True)
    assert _ticket(runtime, ticket.id).account_id is None


def test_a_ticket_with_an_account_is_not_linked_again(app, runtime):
    make_account(runtime, customer_number="K777002")
    ticket = _ticket(runtime, make_ticket(runtime))
    _link(app, runtime, ticket, customer_number="K777002", reason="erstmals")

    again = _link(app, runtime, ticket, customer_number="K777002", reason="nochmal")

    assert again.status_code == 422
    assert "Dieses Ticket gehört schon zu einem Konto." in again.get_data(as_text=True)
