"""Saved views: an agent keeps a filtered console list under a name, and only they see it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.integration.accounts.factories import (
    csrf_token,
    make_account,
    make_customer,
    make_staff,
    sign_in,
)
from tests.integration.tickets.factories import make_ticket
from tickets import saved_views
from tickets.access import Viewer
from tickets.console.lists import SORT_LABELS
from tickets.models import SavedView, Ticket, format_number
from tickets.services import ValidationError

VIEW_LINK = re.compile(r'<a href="/konsole/ansichten/(\d+)">([^<]+)</a>')


def _agent(app, runtime):
    agent = make_staff(runtime, "agent", queues=("accounting",))
    client = app.test_client()
    sign_in(client, agent.email)
    return agent, client


def _save(client, name: str, query: str):
    return client.post(
        "/konsole/ansichten",
        data={"csrf_token": csrf_token(client, "/konsole"), "name": name, "query": query},
    )


def _views(runtime, user_id: int) -> list[SavedView]:
    with runtime.db.session() as session:
        return list(session.scalars(select(SavedView).where(SavedView.user_id == user_id)))


def test_a_saved_view_is_listed_in_the_console_and_opens_the_filtered_list(app, runtime):
    agent, client = _agent(app, runtime)
    critical, normal = make_ticket(runtime), make_ticket(runtime)
    with runtime.db.session() as session:
        for ticket_id, priority in ((critical, "critical"), (normal, "normal")):
            ticket = session.get_one(Ticket, ticket_id)
            ticket.queue, ticket.effective_priority = "accounting", priority

    response = _save(client, "Kritisch in der Buchhaltung", "queue=accounting&priority=critical")

    assert response.status_code == 303
    (view,) = _views(runtime, agent.id)
    assert response.headers["Location"].endswith(f"/konsole/ansichten/{view.id}")
    console = client.get("/konsole").get_data(as_text=True)
    assert (str(view.id), "Kritisch in der Buchhaltung") in VIEW_LINK.findall(console)
    opened = client.get(f"/konsole/ansichten/{view.id}")
    assert opened.status_code == 303
    location = opened.headers["Location"]
    assert dict(parse_qsl(location.split("?", 1)[1])) == {
        "queue": "accounting",
        "priority": "critical",
    }
    listed = client.get(location).get_data(as_text=True).split('<table id="ticket-list">')[1]
    assert format_number(critical) in listed
    assert format_number(normal) not in listed


def test_the_console_offers_to_save_the_list_as_it_is_filtered(app, runtime):
    _agent_user, client = _agent(app, runtime)

    page = client.get("/konsole?queue=accounting&sort=priority&cursor=").get_data(as_text=True)

    form = page.split('id="saved-views"')[1].split("</form>")[0]
    assert 'name="query" value="queue=accounting&amp;sort=priority"' in form


def test_another_agent_neither_sees_nor_opens_nor_changes_the_view(app, runtime):
    owner, client = _agent(app, runtime)
    _save(client, "Meine Rückrufe", "assignee=me")
    (view,) = _views(runtime, owner.id)
    _other, intruder = _agent(app, runtime)
    token = csrf_token(intruder, "/konsole")

    assert "Meine Rückrufe" not in intruder.get("/konsole").get_data(as_text=True)
    assert "Meine Rückrufe" not in intruder.get("/konsole/ansichten").get_data(as_text=True)
    assert intruder.get(f"/konsole/ansichten/{view.id}").status_code == 404
    renamed = intruder.post(
        f"/konsole/ansichten/{view.id}",
        data={f"view-{view.id}-csrf_token": token, f"view-{view.id}-name": "Übernommen"},
    )
    deleted = intruder.post(f"/konsole/ansichten/{view.id}/loeschen", data={"csrf_token": token})

    assert (renamed.status_code, deleted.status_code) == (404, 404)
    assert [v.name for v in _views(runtime, owner.id)] == ["Meine Rückrufe"]


def test_the_owner_renames_and_deletes_a_view(app, runtime):
    owner, client = _agent(app, runtime)
    _save(client, "Offen", "status=offen")
    (view,) = _views(runtime, owner.id)
    token = csrf_token(client, "/konsole/ansichten")

    renamed = client.post(
        f"/konsole/ansichten/{view.id}",
        data={f"view-{view.id}-csrf_token": token, f"view-{view.id}-name": "  Alles Offene "},
    )

    assert renamed.status_code == 303
    assert [v.name for v in _views(runtime, owner.id)] == ["Alles Offene"]
    assert "Alles Offene" in client.get("/konsole/ansichten").get_data(as_text=True)

    deleted = client.post(f"/konsole/ansichten/{view.id}/loeschen", data={"csrf_token": token})

    assert deleted.status_code == 303
    assert _views(runtime, owner.id) == []
    assert client.get(f"/konsole/ansichten/{view.id}").status_code == 404


def test_a_second_view_of_the_same_name_is_refused_in_german(app, runtime):
    owner, client = _agent(app, runtime)
    _save(client, "Heute", "sort=created")

    response = _save(client, "Heute", "sort=priority")

    assert response.status_code == 422
    assert "Sie haben schon eine Ansicht mit diesem Namen." in response.get_data(as_text=True)
    assert [v.query for v in _views(runtime, owner.id)] == ["sort=created"]


def test_a_view_with_a_filter_the_list_refuses_is_not_saved(app, runtime):
    owner, client = _agent(app, runtime)

    response = _save(client, "Kaputt", "status=irgendwas")

    assert response.status_code == 422
    assert "ungültigen Filter" in response.get_data(as_text=True)
    assert _views(runtime, owner.id) == []


def test_saving_without_the_csrf_token_saves_nothing(app, runtime):
    owner, client = _agent(app, runtime)

    response = client.post("/konsole/ansichten", data={"name": "Ohne", "query": ""})

    assert response.status_code == 400
    assert _views(runtime, owner.id) == []


def test_customers_have_no_saved_views(runtime, client):
    customer = make_customer(runtime, make_account(runtime))
    sign_in(client, customer.email)

    assert client.get("/konsole/ansichten").status_code == 403


STAFF = Viewer("agent@example.com", 1, None, True, frozenset({"accounting"}))
QUERY_KEYS = st.sampled_from(["q", "queue", "status", "sort", "tag", "cursor", "page", "x"])
QUERY_VALUES = st.sampled_from(["", " ", "accounting", "offen", "alle", "priority", "vip", "ä&b"])


@given(st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=8))
def test_a_stored_query_keeps_only_list_keys_and_stays_as_it_is_when_stored_again(pairs):
    try:
        stored = saved_views.view_query(urlencode(pairs), STAFF, SORT_LABELS)
    except ValidationError:
        return
    keys = [key for key, _value in parse_qsl(stored)]
    assert set(keys) <= set(saved_views.LIST_KEYS) - {"cursor"}
    assert keys == sorted(keys, key=saved_views.LIST_KEYS.index)
    assert saved_views.view_query(stored, STAFF, SORT_LABELS) == stored
