"""Mein Konto through the browser's door: forms, field messages, audit log, sign-in with 2FA."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import func, select

from accounts import people, services, users
from accounts.credentials import new_totp_secret
from accounts.models import AuditEntry, ContactPerson
from tests.integration.accounts.factories import (
    attempt_sign_in,
    csrf_token,
    make_account,
    make_customer,
    make_staff,
    sign_in,
)


def _owner_client(app, runtime):
    account = make_account(runtime)
    owner = make_customer(runtime, account, owner=True)
    client = app.test_client()
    sign_in(client, owner.email)
    return client, account, owner


def test_adding_a_contact_person_is_stored_and_audited(app, runtime):
    client, account, owner = _owner_client(app, runtime)
    token = csrf_token(client, "/konto/ansprechpartner/neu")

    response = client.post(
        "/konto/ansprechpartner/neu",
        data={
            "csrf_token": token,
            "salutation": "Frau",
            "first_name": "Jana",
            "last_name": "Groß",
            "email": "Jana.Gross@Bäckerei.example",
            "receives_critical": "y",
            "responsibilities": ["administration"],
            "newsletter_channels": ["events"],
        },
    )

    assert response.status_code == 302
    [contact] = people.list_contacts(runtime, account.id)
    assert (contact.email, contact.receives_critical) == ("Jana.Gross@bäckerei.example", True)
    [entry] = [e for e in services.audit_log(runtime, account.id) if e.action.startswith("contact")]
    assert (entry.actor, entry.after["last_name"]) == (owner.email, "Groß")


def test_a_bad_contact_form_shows_field_messages_and_stores_nothing(app, runtime):
    client, _account, _owner = _owner_client(app, runtime)
    token = csrf_token(client, "/konto/ansprechpartner/neu")

    response = client.post(
        "/konto/ansprechpartner/neu",
        data={
            "csrf_token": token,
            "first_name": "",
            "last_name": "X",
            "email": "Chef <chef@firma.example>",
        },
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="first_name-error"' in page and 'id="email-error"' in page
    assert 'aria-invalid="true"' in page
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ContactPerson)) == 0


def test_a_form_without_csrf_token_is_refused(app, runtime):
    client, account, _owner = _owner_client(app, runtime)

    response = client.post("/konto/firmenprofil", data={"first_contact": "neu@firma.example"})

    assert response.status_code == 400
    assert services.get_account(runtime, account.id).first_contact == "info@beispiel.example"


def test_editing_the_emergency_list_replaces_it_and_names_bad_lines(app, runtime):
    client, account, _owner = _owner_client(app, runtime)
    path = "/konto/verteiler/emergency"

    bad = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "addresses": "admin@firma.example\nroot@firma.example\r\nBcc: x@y.example\nnix",
        },
    )
    good = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "addresses": "Admin@Firma.example\nadmin@firma.example\nnotfall@firma.example",
        },
    )

    assert bad.status_code == 422 and "Zeile 3" in bad.get_data(as_text=True)
    assert good.status_code == 302
    lists = people.distribution_lists(runtime, account.id)
    assert lists == {
        "emergency": ["Admin@firma.example", "notfall@firma.example"],
        "data_protection": [],
    }
    with runtime.db.session() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("distribution_list.changed") == 1


def test_first_contact_change_is_audited_with_before_and_after(app, runtime):
    client, account, owner = _owner_client(app, runtime)

    client.post(
        "/konto/firmenprofil",
        data={
            "csrf_token": csrf_token(client, "/konto/firmenprofil"),
            "first_contact": "pflicht@firma.example",
        },
    )

    entry = services.audit_log(runtime, account.id)[0]
    assert (entry.action, entry.actor) == ("first_contact.changed", owner.email)
    assert entry.before == {"first_contact": "info@beispiel.example"}
    assert entry.after == {"first_contact": "pflicht@firma.example"}


def test_sign_in_with_totp_and_a_replayed_code_is_refused(app, runtime):
    account = make_account(runtime)
    user = make_customer(runtime, account, owner=True)
    secret = new_totp_secret()
    used = pyotp.TOTP(secret).now()  # the very code spent on enrolment, whatever the clock does
    users.enable_totp(runtime, user.id, secret, used)
    client = app.test_client()

    first = attempt_sign_in(client, user.email)
    assert first.headers["Location"] == "/anmelden/code"
    replay = client.post(
        "/anmelden/code",
        data={"csrf_token": csrf_token(client, "/anmelden/code"), "code": used},
    )
    assert replay.status_code == 401
    assert client.get("/konto").status_code == 302


def test_a_recovery_code_works_once(app, runtime):
    account = make_account(runtime)
    user = make_customer(runtime, account, owner=True)
    secret = new_totp_secret()
    codes = users.enable_totp(runtime, user.id, secret, pyotp.TOTP(secret).now())

    assert users.check_second_factor(runtime, user.id, codes[0].upper()) is True
    assert users.check_second_factor(runtime, user.id, codes[0]) is False


def test_staff_with_enforced_2fa_must_set_it_up_before_anything_else(app, runtime):
    staff = make_staff(runtime, "admin", require_totp=True)
    client = app.test_client()

    response = attempt_sign_in(client, staff.email)

    assert response.headers["Location"] == "/anmelden/zwei-faktor-einrichten"
    assert client.get("/verwaltung/konten").status_code == 302


def test_sign_in_attempts_are_rate_limited(app, runtime):
    account = make_account(runtime)
    user = make_customer(runtime, account, owner=True)
    client = app.test_client()

    statuses = [
        attempt_sign_in(client, user.email, password="falsch-falsch-falsch").status_code
        for _ in range(11)
    ]

    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert attempt_sign_in(client, user.email).status_code == 429


def test_staff_find_an_account_by_an_address_of_its_lists(app, runtime):
    account = make_account(runtime, company="Fundstück KG")
    people.replace_distribution_list(
        runtime, account.id, "data_protection", ["dsb@fund.example"], "t"
    )
    agent = make_staff(runtime, "agent", queues=("support",))
    client = app.test_client()
    sign_in(client, agent.email)

    page = client.get("/verwaltung/konten?q=DSB@fund.example").get_data(as_text=True)

    assert "Fundstück KG" in page and "1 Treffer" in page


def test_signing_out_right_after_turning_on_two_factor_works(app, runtime):
    user = make_customer(runtime, make_account(runtime), owner=True)
    client = app.test_client()
    sign_in(client, user.email)
    page = client.get("/konto/sicherheit").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert re.search(r'id="totp-qr"><svg [^>]*>', page)  # the app can scan instead of typing

    codes_page = client.post(
        "/konto/sicherheit/zwei-faktor",
        data={
            "csrf_token": csrf_token(client, "/konto/sicherheit"),
            "code": pyotp.TOTP(secret).now(),
        },
    ).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', codes_page).group(1)
    response = client.post("/abmelden", data={"csrf_token": token})

    assert response.status_code == 302
    assert client.get("/konto").status_code == 302
