"""A customer files "Zugang gesperrt"; accounting finds it on top, answers; the mail arrives."""

from __future__ import annotations

import pytest

from tests.integration.accounts.factories import PASSWORD, make_account, make_customer, make_staff

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(lambda url: "/anmelden" not in url)  # signed in, not back at the form


def test_locked_access_ticket_from_form_to_answer_in_the_email_history(
    runtime, live_server, browser_page, work, smtp_sink, screenshot
):
    account = make_account(runtime, company="Müller Handel GmbH")
    customer = make_customer(runtime, account, email="kunde@mueller-handel.example")
    agent = make_staff(
        runtime, "agent", queues=("accounting",), email="buchhaltung@support.example.com"
    )
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})

    _sign_in(page, live_server, customer.email)
    page.goto(f"{live_server}/tickets/neu")
    assert page.get_by_label("Antwort an (E-Mail-Adresse)").input_value() == customer.email
    page.get_by_label("Produktfamilie").select_option("JTL-Kundenkonto")
    page.get_by_label("Komponente").select_option("Fragen zu Firmendaten/Kundenkonto")
    page.get_by_label("Betreff").fill("Zugang gesperrt")
    page.get_by_label("Beschreibung").fill("Unsere Wawi-Lizenz wird als gesperrt angezeigt.")
    assert not page.locator("#emergency").is_visible()
    page.get_by_label("Priorität").select_option("critical")
    assert page.locator("#emergency").is_visible()  # what counts as an emergency, and billing
    page.get_by_label("Priorität").select_option("normal")
    screenshot(page, "tickets-form")
    page.get_by_role("button", name="Supportanfrage absenden").click()
    page.wait_for_url("**/tickets/HD-*")
    number = page.url.rsplit("/", 1)[-1]
    page.goto(f"{live_server}/tickets")
    assert page.get_by_role("link", name=number).is_visible()
    page.get_by_role("button", name="Abmelden").click()

    _sign_in(page, live_server, agent.email)
    page.goto(f"{live_server}/konsole?queue=accounting")
    first_row = page.locator("#ticket-list tbody tr").first
    assert number in first_row.inner_text()
    assert "Hoch" in first_row.inner_text()
    screenshot(page, "tickets-queue")
    first_row.get_by_role("link", name=number).click()
    page.get_by_label("Ihre Antwort").fill("Guten Tag, die Sperre ist aufgehoben.")
    page.get_by_role("button", name="Antwort senden").click()
    page.wait_for_url(f"**/konsole/tickets/{number}")
    assert "die Sperre ist aufgehoben" in page.content()
    screenshot(page, "tickets-ticket")
    page.get_by_role("button", name="Abmelden").click()

    work()
    mails = smtp_sink.wait_for(2)
    assert any(f"[{number}] Re: Zugang gesperrt".encode() in mail.data for mail in mails)

    _sign_in(page, live_server, customer.email)
    page.goto(f"{live_server}/e-mail-verlauf")
    page.get_by_role("link", name=f"[{number}] Re: Zugang gesperrt").click()
    assert "die Sperre ist aufgehoben" in page.content()
    screenshot(page, "tickets-email-history")
