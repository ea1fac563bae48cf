"""A customer signs in with 2FA, adds a contact person and edits the emergency list (phone size)."""

from __future__ import annotations

import time

import pyotp
import pytest

from accounts import people, users
from accounts.credentials import new_totp_secret
from tests.integration.accounts.factories import PASSWORD, make_account, make_customer

pytestmark = pytest.mark.browser


def test_customer_signs_in_with_2fa_adds_a_contact_and_edits_the_emergency_list(
    runtime, live_server, browser_page, screenshot
):
    account = make_account(runtime, company="Müller Handel GmbH")
    owner = make_customer(runtime, account, email="kunde@mueller-handel.example", owner=True)
    secret = new_totp_secret()
    users.enable_totp(runtime, owner.id, secret, pyotp.TOTP(secret).at(time.time() - 30))
    page = browser_page

    page.goto(f"{live_server}/")
    page.get_by_label("E-Mail-Adresse").fill(owner.email)
    page.get_by_label("Passwort").fill(PASSWORD)
    screenshot(page, "sign-in")
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Bestätigungscode").fill(pyotp.TOTP(secret).now())
    screenshot(page, "second-factor")
    page.get_by_role("button", name="Bestätigen").click()
    page.get_by_role("heading", name="Mein Konto").wait_for()
    screenshot(page, "mein-konto")

    page.get_by_role("link", name="Ansprechpartner für JTL").click()
    page.get_by_role("link", name="Neuen Ansprechpartner anlegen").click()
    page.get_by_label("Anrede").select_option("Frau")
    page.get_by_label("Vorname").fill("Jana")
    page.get_by_label("Nachname").fill("Groß")
    page.get_by_label("E-Mail-Adresse").fill("jana.gross@mueller-handel.example")
    page.get_by_label("Erhält kritische Informationen (Pflichtmailings)").check()
    page.get_by_label("Betrieb & Wartung: Administration").check()
    page.get_by_label("Externe Person (z. B. externer Datenschutzbeauftragter)").check()
    assert not page.get_by_label("Produktneuheiten").is_checked()
    screenshot(page, "contact-person-form")
    page.get_by_role("button", name="Speichern").click()
    page.get_by_text("Der Ansprechpartner wurde angelegt.").wait_for()
    screenshot(page, "contact-persons")

    page.get_by_role("link", name="Notfallkontakte bearbeiten").click()
    page.get_by_label("E-Mail-Adressen").fill("admin@mueller-handel.example\nnicht gültig")
    page.get_by_role("button", name="Speichern").click()
    page.get_by_text("Zeile 2").wait_for()
    page.get_by_label("E-Mail-Adressen").fill(
        "admin@mueller-handel.example\nhosting@mueller-handel.example"
    )
    screenshot(page, "emergency-list")
    page.get_by_role("button", name="Speichern").click()
    page.get_by_text("Ihre Änderungen wurden gespeichert.").wait_for()

    [contact] = people.list_contacts(runtime, account.id)
    assert (contact.last_name, contact.receives_critical, contact.newsletter_channels) == (
        "Groß",
        True,
        [],
    )
    assert people.distribution_lists(runtime, account.id)["emergency"] == [
        "admin@mueller-handel.example",
        "hosting@mueller-handel.example",
    ]
