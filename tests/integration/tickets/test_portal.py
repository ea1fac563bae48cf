"""The customer portal: filing through the form, the list, the thread, sensitive data."""

from __future__ import annotations

import io

from sqlalchemy import select

from tests.integration.accounts.factories import csrf_token, make_account, make_customer, sign_in
from tickets.models import SensitiveItem, Ticket, TicketAttachment

FORM = {
    "reply_to": "buchhaltung@beispiel.example",
    "product_family": "JTL-Kundenkonto",
    "component": "Fragen zu Firmendaten/Kundenkonto",
    "department": "",
    "subject": "Zugang gesperrt",
    "text": "Unsere Wawi-Lizenz ist gesperrt.",
    "priority": "normal",
}


def signed_in_customer(client, runtime):
    account = make_account(runtime)
    user = make_customer(runtime, account)
    sign_in(client, user.email)
    return account, user


def file_form(client, **fields):
    data = {"csrf_token": csrf_token(client, "/tickets/neu"), **FORM, **fields}
    return client.post("/tickets/neu", data=data, content_type="multipart/form-data")


def test_a_customer_files_a_locked_access_ticket_and_sees_it_in_the_list(client, runtime):
    account, user = signed_in_customer(client, runtime)

    response = file_form(client)

    assert response.status_code == 302
    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert response.headers["Location"].endswith(f"/tickets/{ticket.number}")
    assert (ticket.account_id, ticket.requester_id, ticket.channel) == (account.id, user.id, "web")
    assert (ticket.queue, ticket.effective_priority) == ("accounting", "high")
    page = client.get("/tickets").get_data(as_text=True)
    assert ticket.number in page
    assert "Zugang gesperrt" in page


def test_the_form_defaults_the_answer_address_to_the_users_email(client, runtime):
    _account, user = signed_in_customer(client, runtime)

    page = client.get("/tickets/neu").get_data(as_text=True)

    assert f'value="{user.email}"' in page
    assert "Serverausfall" in page
    assert "verrechnet" in page


def test_critical_without_confirming_the_emergency_is_refused_and_nothing_is_stored(
    client, runtime
):
    signed_in_customer(client, runtime)

    response = file_form(client, priority="critical")

    assert response.status_code == 422
    assert "Bitte bestätigen Sie, dass ein Notfall vorliegt" in response.get_data(as_text=True)
    with runtime.db.session() as session:
        assert session.scalars(select(Ticket)).all() == []


def test_bad_fields_are_named_on_the_form(client, runtime):
    signed_in_customer(client, runtime)

    response = file_form(client, reply_to="kein-mailkonto", component="Gibt es nicht", text="")

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="reply_to-error"' in page
    assert 'id="component-error"' in page
    assert 'id="text-error"' in page


def test_markup_in_the_subject_is_shown_as_text(client, runtime):
    signed_in_customer(client, runtime)
    file_form(client, subject="<script>alert(1)</script>")

    page = client.get("/tickets").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_sensitive_data_filed_with_the_ticket_is_stored_sealed_and_never_shown_back(
    client, runtime
):
    signed_in_customer(client, runtime)

    file_form(client, sensitive_label="FTP-Zugang", sensitive_value="ftp-user / Sehr-Geheim-99")

    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        item = session.scalars(select(SensitiveItem)).one()
    assert b"Sehr-Geheim-99" not in item.sealed
    for path in ("/tickets", f"/tickets/{ticket.number}"):
        page = client.get(path).get_data(as_text=True)
        assert ticket.number in page, path
        assert "Sehr-Geheim-99" not in page
    assert "FTP-Zugang" in client.get(f"/tickets/{ticket.number}").get_data(as_text=True)


def test_a_refused_attachment_leaves_no_ticket_behind(client, runtime):
    signed_in_customer(client, runtime)

    response = file_form(client, attachments=(io.BytesIO(b"MZ\x90\x00"), "tool.exe"))

    assert response.status_code == 422
    assert "Dateityp ist nicht erlaubt" in response.get_data(as_text=True)
    with runtime.db.session() as session:
        assert session.scalars(select(Ticket)).all() == []
        assert session.scalars(select(TicketAttachment)).all() == []


def test_the_customer_replies_and_closes_and_another_account_cannot_see_it(client, app, runtime):
    signed_in_customer(client, runtime)
    file_form(client)
    with runtime.db.session() as session:
        number = session.scalars(select(Ticket)).one().number
    token = csrf_token(client, f"/tickets/{number}")

    client.post(f"/tickets/{number}/antwort", data={"csrf_token": token, "text": "Noch ein Detail"})
    client.post(f"/tickets/{number}/schliessen", data={"csrf_token": token})

    page = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "Noch ein Detail" in page
    assert "Geschlossen" in page
    stranger = app.test_client()
    signed_in_customer(stranger, runtime)
    assert stranger.get(f"/tickets/{number}").status_code == 404


def test_a_refused_form_does_not_echo_the_sensitive_data_back_nor_log_it(client, runtime, caplog):
    signed_in_customer(client, runtime)
    caplog.set_level("DEBUG")

    response = file_form(
        client,
        sensitive_label="SSH",
        sensitive_value="root / Nie-Zeigen-77",
        attachments=(io.BytesIO(b"MZ\x90\x00"), "tool.exe"),
    )

    assert response.status_code == 422
    assert 'value="SSH"' in response.get_data(as_text=True)  # the form came back filled in
    assert "Nie-Zeigen-77" not in response.get_data(as_text=True)
    assert "Nie-Zeigen-77" not in caplog.text
    with runtime.db.session() as session:
        assert session.scalars(select(SensitiveItem)).all() == []
