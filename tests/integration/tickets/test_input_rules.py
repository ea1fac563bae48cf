"""Input that could break a mail or a query is refused at the door, field by field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.integration.accounts.factories import (
    csrf_token,
    make_customer,
    make_staff,
    sign_in,
    token_for,
)
from tests.integration.accounts.factories import make_account as make_full_account
from tests.integration.tickets.factories import (
    LOCKED_ACCESS,
    agent_token,
    customer_token,
    make_account,
)
from tickets.models import Ticket

# Each would break a mail header (or cannot be encoded at all): C0, DEL, C1, NEL, tab,
# the Unicode line and paragraph separators, a lone surrogate.
UNSAFE = ["a\x01b", "a\x7fb", "a\x9bb", "a\x85b", "a\tb", "a\u2028b", "a\u2029b", "a\ud800b"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ticket_count(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(Ticket))


@pytest.mark.parametrize("subject", UNSAFE)
def test_the_api_refuses_a_subject_no_mail_header_can_hold(client, runtime, subject):
    headers = bearer(customer_token(runtime))

    response = client.post(
        "/api/v1/tickets", json={**LOCKED_ACCESS, "subject": subject}, headers=headers
    )

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"subject"}
    assert ticket_count(runtime) == 0


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b", "a\x1bb"])
def test_the_api_refuses_a_text_with_control_characters_but_keeps_line_breaks(
    client, runtime, text
):
    headers = bearer(customer_token(runtime))

    refused = client.post("/api/v1/tickets", json={**LOCKED_ACCESS, "text": text}, headers=headers)
    taken = client.post(
        "/api/v1/tickets", json={**LOCKED_ACCESS, "text": "Zeile 1\r\n\tZeile 2"}, headers=headers
    )

    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]) == {"text"}
    assert taken.status_code == 201


def test_the_form_names_the_subject_with_a_control_character(client, runtime):
    user = make_customer(runtime, make_full_account(runtime))
    sign_in(client, user.email)
    data = {
        "csrf_token": csrf_token(client, "/tickets/neu"),
        **LOCKED_ACCESS,
        "department": "",
        "subject": "Zugang\x1bgesperrt",
    }

    response = client.post("/tickets/neu", data=data, content_type="multipart/form-data")

    assert response.status_code == 422
    assert "unzulässige Steuerzeichen" in response.get_data(as_text=True)
    assert ticket_count(runtime) == 0


def test_phone_intake_names_the_keyword_with_a_line_separator(client, runtime):
    account = make_full_account(runtime)
    sign_in(client, make_staff(runtime, "agent", queues=("accounting",)).email)

    response = client.post(
        "/konsole/telefon",
        data={
            "csrf_token": csrf_token(client, "/konsole/telefon"),
            "customer_number": account.customer_number,
            "keyword": "Zugang\u2028gesperrt",
            "product_family": "JTL-Kundenkonto",
            "component": "Fragen zu Firmendaten/Kundenkonto",
            "priority": "normal",
        },
    )

    assert response.status_code == 422
    assert "unzulässige Steuerzeichen" in response.get_data(as_text=True)
    assert ticket_count(runtime) == 0


def test_a_nul_in_a_form_field_is_a_bad_request(client, runtime):
    user = make_customer(runtime, make_full_account(runtime))
    sign_in(client, user.email)
    data = {"csrf_token": csrf_token(client, "/tickets/neu"), **LOCKED_ACCESS, "text": "a\x00b"}

    response = client.post("/tickets/neu", data=data, content_type="multipart/form-data")

    assert response.status_code == 400
    assert ticket_count(runtime) == 0


def test_critical_through_the_api_needs_the_emergency_confirmation(client, runtime):
    headers = bearer(customer_token(runtime))
    critical = {**LOCKED_ACCESS, "priority": "critical", "subject": "Shop offline"}

    unconfirmed = client.post("/api/v1/tickets", json=critical, headers=headers)
    not_true = client.post(
        "/api/v1/tickets", json={**critical, "emergency_confirmed": "yes"}, headers=headers
    )
    confirmed = client.post(
        "/api/v1/tickets", json={**critical, "emergency_confirmed": True}, headers=headers
    )

    assert unconfirmed.status_code == not_true.status_code == 422
    assert set(unconfirmed.get_json()["errors"]) == {"emergency_confirmed"}
    assert confirmed.status_code == 201
    assert confirmed.get_json()["requested_priority"] == "critical"
    assert ticket_count(runtime) == 1


@pytest.mark.parametrize(
    "number",
    [
        "HD-٣",
        "HD-²",
        "HD-00000٣",
        f"HD-{2**63}",
        f"HD-{2**31}",
        f"HD-{2**31 - 1}",
        "HD-" + "9" * 30,
        "HD-+3",
    ],
)
def test_a_ticket_number_in_other_digits_or_out_of_range_finds_no_ticket(client, runtime, number):
    account_id = make_account(runtime)
    headers = bearer(customer_token(runtime, account_id))
    for _ in range(3):
        client.post("/api/v1/tickets", json=LOCKED_ACCESS, headers=headers)
    assert client.get("/api/v1/tickets/HD-000003", headers=headers).status_code == 200

    response = client.get(f"/api/v1/tickets/{number}", headers=headers)

    assert response.status_code == 404


def test_ids_in_urls_and_filters_take_only_ascii_digits_in_range(client, runtime):
    ops = make_staff(runtime, "ops")
    ops_headers = bearer(token_for(runtime, ops, "ops"))
    agent_headers = bearer(agent_token(runtime))

    for path in ("/api/v1/mailings/٣", "/api/v1/mailings/²", f"/api/v1/mailings/{2**31}"):
        assert client.get(path, headers=ops_headers).status_code == 404, path
    assert client.get("/api/v1/mailings/" + "9" * 40, headers=ops_headers).status_code == 404
    for assignee in ("²", "٣", str(2**64)):
        response = client.get(f"/api/v1/tickets?assignee={assignee}", headers=agent_headers)
        assert response.status_code == 422, assignee
        assert set(response.get_json()["errors"]) == {"assignee"}


def test_a_page_with_an_id_in_other_digits_is_not_found(client, runtime):
    sign_in(client, make_staff(runtime, "supervisor").email)

    assert client.get("/konsole/tickets/HD-٣").status_code == 404
    assert client.get("/reports/sla?wochen=٣").status_code == 400
    assert client.get("/reports/sla?wochen=3").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/routes/explain", "/api/v1/mailings"])
def test_deeply_nested_json_is_a_bad_request(client, runtime, path):
    role = "ops" if path == "/api/v1/mailings" else "agent"
    headers = bearer(token_for(runtime, make_staff(runtime, role, queues=("support",)), role))
    body = '{"subject": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = client.post(path, data=body, content_type="application/json", headers=headers)

    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"


def test_json_nested_within_the_limit_is_read(client, runtime):
    headers = bearer(agent_token(runtime))
    body = '{"subject": ' + "[" * 60 + "]" * 60 + ', "note": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}'

    response = client.post(
        "/api/v1/routes/explain", data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 422  # read, then refused field by field
    assert set(response.get_json()["errors"]) == {"subject", "note"}
