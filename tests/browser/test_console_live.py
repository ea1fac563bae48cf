"""The console live, in chromium: two agents see each other on one ticket (and who writes);
a list takes in a ticket filed by the API while it is open; the rules page explains."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.integration.accounts.factories import PASSWORD, make_staff
from tests.integration.tickets.factories import customer_token, make_ticket
from tickets.models import format_number

pytestmark = pytest.mark.browser

# presence.js beats every 15 s: the colleague's page learns of a newcomer with its next beat.
BEAT_WAIT_MS = 25_000


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()


def _watch_errors(page, errors: list[str]) -> None:
    """Collect the console errors (a CSP refusal among them) ``page`` shows from now on."""
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))


def test_two_agents_on_one_ticket_see_each_other_and_who_is_writing(
    runtime, live_server, browser_page
):
    number = format_number(make_ticket(runtime))
    anna = make_staff(runtime, "agent", queues=("accounting",), email="anna@support.example.com")
    ben = make_staff(runtime, "agent", queues=("accounting",), email="ben@support.example.com")
    first = browser_page
    second_context = first.context.browser.new_context(locale="de-DE")
    second = second_context.new_page()
    errors: list[str] = []
    _watch_errors(first, errors)
    _watch_errors(second, errors)
    try:
        _sign_in(first, live_server, anna.email)
        first.goto(f"{live_server}/konsole/tickets/{number}")
        expect(first.locator("#presence")).to_be_hidden()
        _sign_in(second, live_server, ben.email)
        second.goto(f"{live_server}/konsole/tickets/{number}")

        expect(second.locator("#presence")).to_have_text(
            "Ebenfalls geöffnet von: anna@support.example.com."
        )
        expect(first.locator("#presence")).to_have_text(
            "Ebenfalls geöffnet von: ben@support.example.com.", timeout=BEAT_WAIT_MS
        )
        second.locator("textarea[name=text]").first.type("Guten Tag, ")
        expect(first.locator("#presence")).to_have_text(
            "Ebenfalls geöffnet von: ben@support.example.com (schreibt gerade eine Antwort).",
            timeout=BEAT_WAIT_MS,
        )
    finally:
        second_context.close()
    assert errors == []


def test_an_open_list_takes_in_a_ticket_filed_by_the_api(runtime, live_server, browser_page):
    waiting = format_number(make_ticket(runtime, subject="Zugang gesperrt seit gestern"))
    agent = make_staff(runtime, "agent", queues=("accounting",))
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    _watch_errors(page, errors)
    _sign_in(page, live_server, agent.email)
    page.goto(f"{live_server}/konsole?queue=accounting")
    page.get_by_label(f"{waiting} auswählen").check()
    expect(page.locator("#queue-counts")).to_contain_text("Buchhaltung")
    open_before = page.locator("#queue-counts tbody tr td strong").first.inner_text()

    request = urllib.request.Request(
        f"{live_server}/api/v1/tickets",
        data=json.dumps(
            {
                "reply_to": "kunde@example.com",
                "product_family": "JTL-Kundenkonto",
                "component": "Fragen zu Firmendaten/Kundenkonto",
                "subject": "Lizenz gesperrt nach Zahlung",
                "text": "Unsere Lizenz ist gesperrt.",
                "priority": "normal",
            }
        ).encode(),
        headers={
            "Authorization": f"Bearer {customer_token(runtime)}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        filed = json.load(response)["number"]

    expect(page.locator("#ticket-rows")).to_contain_text(filed, timeout=15_000)
    expect(page.locator("#ticket-rows")).to_contain_text("Lizenz gesperrt nach Zahlung")
    assert (
        int(page.locator("#queue-counts tbody tr td strong").first.inner_text())
        == int(open_before) + 1
    )
    expect(page.get_by_label(f"{waiting} auswählen")).to_be_checked()
    assert page.url == f"{live_server}/konsole?queue=accounting"  # no reload
    assert errors == []


def test_the_rules_page_explains_where_a_ticket_would_go(runtime, live_server, browser_page):
    agent = make_staff(runtime, "agent", queues=("accounting",))
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server, agent.email)
    page.goto(f"{live_server}/konsole")

    page.get_by_role("link", name="Zuordnungsregeln").click()
    page.get_by_label("Betreff").fill("Bitte den Installationsservice absagen")
    page.get_by_label("Produktfamilie").select_option("Dienstleistungen")
    page.get_by_label("Komponente").select_option("Installationsservice")
    page.get_by_label("Gewünschte Priorität").select_option("high")
    page.get_by_role("button", name="Prüfen").click()

    result = page.locator("#explanation")
    expect(result).to_contain_text("Buchhaltung")
    expect(result).to_contain_text("Hoch (gewünscht: Hoch)")
    expect(result).to_contain_text("Regel 1 trifft nicht zu")
    expect(result).to_contain_text("Betreff enthält nicht „Zugang gesperrt“")
    expect(result.locator("li:has(strong) code")).to_have_text("unwanted-setup-service")
    expect(page.get_by_label("Betreff")).to_have_value("Bitte den Installationsservice absagen")
