"""German validation messages: the API names allowed values by label and id, pages by label."""

from __future__ import annotations

from tests.integration.accounts.factories import csrf_token, make_staff, sign_in
from tests.integration.notifications.factories import make_mailing
from tests.integration.pages.visible import raw_words, read_html
from tests.integration.tickets.factories import LOCKED_ACCESS, customer_token

PRIORITIES_FOR_THE_API = "Niedrig (low), Normal (normal), Hoch (high), Kritisch (critical)"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_names_the_allowed_priorities_by_label_and_the_id_to_send(client, runtime):
    response = client.post(
        "/api/v1/tickets",
        json={**LOCKED_ACCESS, "priority": "dringend"},
        headers=_bearer(customer_token(runtime)),
    )

    assert response.status_code == 422
    assert response.get_json()["errors"]["priority"] == f"Erlaubt sind: {PRIORITIES_FOR_THE_API}."


def test_api_filter_errors_name_labels_with_the_ids_to_send(client, runtime):
    response = client.get(
        "/api/v1/tickets",
        query_string={"priority": "dringend", "status": "erledigt", "order": "alter"},
        headers=_bearer(customer_token(runtime)),
    )

    errors = response.get_json()["errors"]
    assert response.status_code == 422
    assert errors["priority"] == f"Erlaubt sind: {PRIORITIES_FOR_THE_API}."
    assert "Wartet auf Kunde (waiting)" in errors["status"]
    assert "Letzte Änderung (changed)" in errors["order"] and "Betreff (subject)" in errors["order"]


def test_console_filter_error_names_labels_and_never_ids(client, runtime):
    sign_in(client, make_staff(runtime, "supervisor").email)

    page = client.get("/konsole", query_string={"priority": "dringend", "status": "x"})

    text, _links = read_html(page.get_data(as_text=True))
    assert "Erlaubt sind: Niedrig, Normal, Hoch, Kritisch." in text
    assert "Wartet auf Kunde" in text
    assert raw_words(text) == set()


def test_ops_test_send_to_a_bad_address_says_why_in_german(client, runtime):
    mailing_id = make_mailing(runtime)
    sign_in(client, make_staff(runtime, "ops").email)

    page = client.post(
        f"/ops/mailings/{mailing_id}/test",
        data={"csrf_token": csrf_token(client, f"/ops/mailings/{mailing_id}"), "an": "kollegin@"},
        follow_redirects=True,
    ).get_data(as_text=True)

    assert "Keine gültige E-Mail-Adresse: Nach dem @-Zeichen fehlt die Domain." in page
    assert "There must be something" not in page
