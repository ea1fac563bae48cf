"""Textbausteine: supervisors keep them per queue; the ticket page offers them filled in."""

from __future__ import annotations

import html
import re

from tests.integration.accounts.factories import csrf_token, make_staff, sign_in
from tests.integration.tickets.factories import make_account, make_ticket
from tickets.models import TextModule, Ticket

PAGE = "/konsole/textbausteine"
BODY = "Guten Tag {ansprechpartner},\nzu {ticketnummer} ({kunde}, {kundennummer}): bis {faellig}."


def _supervisor(app, runtime):
    client = app.test_client()
    sign_in(client, make_staff(runtime, "supervisor").email)
    return client


def _create(client, **fields):
    data = {"csrf_token": csrf_token(client, PAGE), "queue": "accounting", "title": "Sperre"}
    return client.post(PAGE, data={**data, **fields})


def test_a_supervisor_saves_a_module_and_the_agent_gets_it_filled_in_for_the_ticket(app, runtime):
    supervisor = _supervisor(app, runtime)
    account_id = make_account(runtime, company="Müller & Söhne GmbH", customer_number="K4711")
    ticket_id = make_ticket(runtime)
    with runtime.db.session() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.account_id = account_id
        number, queue = ticket.number, ticket.queue
    agent = app.test_client()
    sign_in(agent, make_staff(runtime, "agent", queues=(queue,)).email)

    saved = _create(supervisor, queue=queue, body=BODY)
    page = agent.get(f"/konsole/tickets/{number}").get_data(as_text=True)

    assert saved.status_code == 303
    texts = [html.unescape(text) for text in re.findall(r'data-text="([^"]*)"', page)]
    assert len(texts) == 2  # in the answer form and in the note form
    assert texts[0].startswith(f"Guten Tag buchhaltung@mueller-handel.example,\nzu {number} ")
    assert "(Müller & Söhne GmbH, K4711): bis " in texts[0]
    assert "{" not in texts[0]
    assert 'src="/static/text-modules.js"' in page
    assert "<script>" not in page


def test_an_unknown_placeholder_is_refused_with_its_name(app, runtime):
    supervisor = _supervisor(app, runtime)

    response = _create(supervisor, body="Hallo {kundname}")

    assert response.status_code == 422
    assert "Unbekannte Platzhalter: {kundname}." in response.get_data(as_text=True)


def test_a_title_is_unique_within_its_queue(app, runtime):
    supervisor = _supervisor(app, runtime)
    _create(supervisor, body="Eins")

    again = _create(supervisor, body="Zwei")

    assert again.status_code == 422
    assert "schon einen Textbaustein mit diesem Titel" in again.get_data(as_text=True)


def test_a_supervisor_edits_and_deletes_a_module(app, runtime):
    supervisor = _supervisor(app, runtime)
    _create(supervisor, body="Alt")
    with runtime.db.session() as session:
        module_id = session.query(TextModule).one().id
    path = f"{PAGE}/{module_id}"

    supervisor.post(
        path,
        data={
            "csrf_token": csrf_token(supervisor, path),
            "queue": "accounting",
            "title": "Sperre",
            "body": "Neu für {kunde}",
        },
    )
    edited = supervisor.get(PAGE).get_data(as_text=True)
    supervisor.post(f"{path}/loeschen", data={"csrf_token": csrf_token(supervisor, path)})

    assert "Neu für {kunde}" in edited
    with runtime.db.session() as session:
        assert session.query(TextModule).count() == 0


def test_agents_may_not_edit_modules(app, runtime):
    agent = app.test_client()
    sign_in(agent, make_staff(runtime, "agent", queues=("accounting",)).email)

    assert agent.get(PAGE).status_code == 403
