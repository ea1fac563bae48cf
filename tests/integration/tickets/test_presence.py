"""Collision notice: agents see who else has a ticket open and who is writing (real Redis)."""

from __future__ import annotations

from tests.integration.accounts.factories import csrf_token, make_staff, sign_in
from tests.integration.tickets.factories import make_ticket
from tickets import presence
from tickets.models import format_number


def _agent(app, runtime, email: str):
    client = app.test_client()
    sign_in(client, make_staff(runtime, "agent", queues=("accounting",), email=email).email)
    return client


def test_an_agent_sees_a_colleague_who_has_the_ticket_open_and_is_writing(app, runtime):
    path = f"/konsole/tickets/{format_number(make_ticket(runtime))}"
    anna = _agent(app, runtime, "anna@support.example.com")
    ben = _agent(app, runtime, "ben@support.example.com")

    alone = anna.get(path).get_data(as_text=True)
    seen = ben.get(path).get_data(as_text=True)
    anna.post(f"{path}/anwesenheit", data={"csrf_token": csrf_token(anna, path), "writing": "1"})
    beat = ben.post(f"{path}/anwesenheit", data={"csrf_token": csrf_token(ben, path)}).get_json()

    assert "Ebenfalls geöffnet" not in alone
    assert "Ebenfalls geöffnet von: anna@support.example.com." in seen
    assert beat["others"] == [{"who": "anna@support.example.com", "writing": True}]
    assert beat["notice"] == (
        "Ebenfalls geöffnet von: anna@support.example.com (schreibt gerade eine Antwort)."
    )


def test_presence_ends_after_the_missed_heartbeats(runtime):
    connection = runtime.redis

    presence.announce(connection, 1, "anna@support.example.com", writing=True, now=1000.0)
    later = 1000.0 + presence.PRESENCE_SECONDS + 1
    others = presence.announce(connection, 1, "ben@support.example.com", writing=False, now=later)

    assert others == []
    assert connection.ttl("helpdesk:presence:ticket:1") <= presence.PRESENCE_SECONDS


def test_the_heartbeat_needs_the_csrf_token(app, runtime):
    path = f"/konsole/tickets/{format_number(make_ticket(runtime))}"
    anna = _agent(app, runtime, "anna@support.example.com")

    assert anna.post(f"{path}/anwesenheit", data={"writing": "1"}).status_code == 400
