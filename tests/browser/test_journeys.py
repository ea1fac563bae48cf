"""Customer, agent, ops and admin journeys in chromium: no console error, no 4xx/5xx page, no
raw identifier on screen."""

from __future__ import annotations

import pytest

from accounts.demo import DEMO_PASSWORD
from tests.integration.accounts.factories import PASSWORD, make_staff
from tests.integration.pages.conftest import demo  # noqa: F401 - the fixture, shared
from tests.integration.pages.visible import raw_words


@pytest.fixture
def watched(browser_page):
    """The page, and what went wrong on it: console errors, failed pages, raw words."""
    problems: list[str] = []
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"script: {error}"))

    def navigated(response) -> None:
        if response.request.is_navigation_request() and response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    page.on("response", navigated)

    def look() -> None:
        problems.extend(f"{page.url}: {word}" for word in raw_words(page.inner_text("body")))

    return page, problems, look


def _sign_in(page, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_load_state()


def _sign_out(page) -> None:
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_load_state()


def test_customer_agent_ops_and_admin_journeys_show_only_german_words(
    runtime,
    live_server,
    watched,
    demo,  # noqa: F811 - the imported fixture
):
    page, problems, look = watched

    _sign_in(page, live_server, "kunde@mueller-handel.example")
    for path in ("/", "/tickets", "/tickets/HD-000003", "/konto", "/konto/sicherheit"):
        page.goto(f"{live_server}{path}")
        look()
    _sign_out(page)

    _sign_in(page, live_server, "supervisor@support.example.com")
    page.goto(f"{live_server}/konsole")
    look()
    page.goto(f"{live_server}/konsole/tickets/HD-000004")
    page.get_by_label("Interne Notiz").fill("Kunde zurückrufen.")
    page.get_by_role("button", name="Notiz speichern").click()
    page.wait_for_url("**/konsole/tickets/HD-000004")
    assert "Die interne Notiz ist gespeichert." in page.inner_text("body")
    look()
    page.goto(f"{live_server}/konsole/tickets/HD-000004/sla")
    look()
    _sign_out(page)

    _sign_in(page, live_server, "ops@support.example.com")
    page.goto(f"{live_server}/ops/mailings/1")
    look()
    page.get_by_role("button", name="Jetzt senden").click()
    page.wait_for_load_state()
    assert "Pflichtmailing senden?" in page.inner_text("body")
    look()
    _sign_out(page)

    admin = make_staff(runtime, "admin")
    _sign_in(page, live_server, admin.email, PASSWORD)
    for path in ("/konsole", "/verwaltung/konten/10001", "/ops/mailings", "/reports/sla"):
        page.goto(f"{live_server}{path}")
        look()

    assert problems == []
