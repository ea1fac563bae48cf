"""The tickets API: tokens, cursor pages, filters, search, and no sensitive data in answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.integration.tickets.factories import (
    LOCKED_ACCESS,
    agent_token,
    customer_token,
    make_account,
)
from tickets import sensitive
from tickets.models import Ticket, parse_number


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def customer(client, runtime):
    account_id = make_account(runtime)
    return account_id, bearer(customer_token(runtime, account_id))


def file(client, headers, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/tickets", json={**LOCKED_ACCESS, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_pages_follow_the_cursor_without_gaps_or_repeats(client, customer):
    _account, headers = customer
    filed = [file(client, headers, subject=f"Frage {n}")["number"] for n in range(7)]

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": 3, "status": "alle", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/tickets", query_string=query, headers=headers).get_json()
        seen += [item["number"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert sorted(seen) == sorted(filed)
    assert len(seen) == len(set(seen))


def test_a_customer_sees_only_their_accounts_tickets(client, runtime, customer):
    _account, headers = customer
    mine = file(client, headers)["number"]
    theirs = file(client, bearer(customer_token(runtime)))["number"]

    listed = client.get("/api/v1/tickets", headers=headers).get_json()["items"]

    assert [item["number"] for item in listed] == [mine]
    assert client.get(f"/api/v1/tickets/{theirs}", headers=headers).status_code == 404


def test_an_agent_finds_tickets_by_number_customer_number_address_and_words(client, runtime):
    account_id = make_account(runtime, customer_number="K424242")
    headers = bearer(customer_token(runtime, account_id))
    locked = file(client, headers, text="Die Lizenzen der Filiale sind gesperrt.")["number"]
    other = file(
        client,
        bearer(customer_token(runtime)),
        subject="Rechnungen doppelt",
        reply_to="einkauf@anders.example",
    )["number"]
    agent = bearer(agent_token(runtime))

    def found(q: str) -> list[str]:
        page = client.get("/api/v1/tickets", query_string={"q": q}, headers=agent).get_json()
        return [item["number"] for item in page["items"]]

    assert found(locked) == [locked]
    assert found("K424242") == [locked]
    assert found("einkauf@anders.example") == [other]
    assert found("Filiale gesperrt") == [locked]
    assert found("rechnung") == [other]  # prefix match on the embedded default


def test_a_bad_cursor_is_a_field_error(client, customer):
    _account, headers = customer

    response = client.get("/api/v1/tickets?cursor=not-a-cursor", headers=headers)

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"cursor"}


def test_a_forged_or_tampered_cursor_is_refused(client, customer):
    from tickets.listing import encode_cursor

    _account, headers = customer
    first, second = (file(client, headers, subject=f"Frage {n}")["number"] for n in range(2))
    page = client.get("/api/v1/tickets?limit=1&status=alle", headers=headers).get_json()
    genuine = page["next_cursor"]
    payload, signature = genuine.split(".")
    forged = encode_cursor([datetime.now(UTC) + timedelta(days=1), 0], "changed", "guessed")
    tampered = f"{forged.split('.')[0]}.{signature}"

    def answer(cursor: str):
        query = {"limit": 1, "status": "alle", "cursor": cursor}
        return client.get("/api/v1/tickets", query_string=query, headers=headers)

    assert [item["number"] for item in page["items"]] == [second]
    assert [item["number"] for item in answer(genuine).get_json()["items"]] == [first]
    for cursor in (forged, tampered, payload, f"{payload}."):
        response = answer(cursor)
        assert response.status_code == 422, cursor
        assert set(response.get_json()["errors"]) == {"cursor"}


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=80))
def test_any_search_text_answers_200(client, runtime, query):
    headers = bearer(agent_token(runtime))

    response = client.get("/api/v1/tickets", query_string={"q": query}, headers=headers)

    assert response.status_code == 200


def test_the_listing_and_the_ticket_never_carry_sensitive_data(client, runtime, customer):
    _account, headers = customer
    number = file(client, headers)["number"]
    keyring = sensitive.Keyring.from_settings(runtime.settings)
    with runtime.db.session() as session:
        sensitive.add_item(session, keyring, parse_number(number), "SSH", "root / Xy-Geheim", "t")
    agent = bearer(agent_token(runtime))

    for who in (headers, agent):
        for path in ("/api/v1/tickets", f"/api/v1/tickets/{number}", f"/api/v1/tickets?q={number}"):
            response = client.get(path, headers=who)
            assert response.status_code == 200, (path, response.status_code)
            assert number in response.get_data(as_text=True), path
            assert "Xy-Geheim" not in response.get_data(as_text=True)
        searched = client.get("/api/v1/tickets?q=Geheim", headers=who)
        assert (searched.status_code, searched.get_json()["items"]) == (200, [])
    detail = client.get(f"/api/v1/tickets/{number}", headers=agent).get_json()
    assert detail["sensitive_data_items"] == 1


def test_a_customer_with_a_locked_licence_reaches_accounting_whatever_the_subject(client, runtime):
    from datetime import date, timedelta

    from accounts.models import LicenseLock

    account_id = make_account(runtime)
    with runtime.db.session() as session:
        session.add(
            LicenseLock(
                account_id=account_id,
                product="JTL-Wawi",
                since=date.today() - timedelta(days=3),
                reason="Zahlungsverzug",
            )
        )
    headers = bearer(customer_token(runtime, account_id))

    filed = file(client, headers, subject="Frage zu meinem Konto", component="Benutzerverwaltung")

    assert (filed["queue"], filed["priority"]) == ("accounting", "high")


def test_an_agent_lists_the_tickets_of_one_tag_and_a_customer_cannot_filter_by_tag(
    client, runtime, customer
):
    _account, headers = customer
    tagged = file(client, headers)["number"]
    file(client, headers)
    with runtime.db.session() as session:
        session.get_one(Ticket, parse_number(tagged)).tags = ["rückruf"]
    agent = bearer(agent_token(runtime))

    by_agent = client.get("/api/v1/tickets?tag=R%C3%BCckruf", headers=agent).get_json()
    by_customer = client.get("/api/v1/tickets?tag=rückruf", headers=headers).get_json()

    assert [item["number"] for item in by_agent["items"]] == [tagged]
    assert len(by_customer["items"]) == 2
