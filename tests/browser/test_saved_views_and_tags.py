"""In chromium: an agent tags a ticket, filters the list by the tag, saves that list as a view,
and reopens it from the console after going elsewhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.integration.accounts.factories import PASSWORD, make_staff
from tests.integration.tickets.factories import make_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()


def test_an_agent_tags_a_ticket_saves_the_tag_list_as_a_view_and_reopens_it(
    runtime, live_server, browser_page
):
    agent = make_staff(runtime, "agent", queues=("accounting",), email="tag@support.example.com")
    ids = [make_ticket(runtime), make_ticket(runtime)]
    with runtime.db.session() as session:
        tickets = [session.get_one(Ticket, ticket_id) for ticket_id in ids]
        for ticket in tickets:
            ticket.queue, ticket.tags = "accounting", []
        tagged, other = (ticket.number for ticket in tickets)
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server, agent.email)

    page.goto(f"{live_server}/konsole/tickets/{tagged}")
    page.get_by_label("Tags hinzufügen (durch Komma getrennt)").fill("Rückruf, VIP")
    page.get_by_role("button", name="Hinzufügen").click()
    assert page.locator(".flash.success").inner_text() == "Die Tags sind gespeichert."
    page.get_by_role("button", name="Tag vip entfernen").click()
    # The DOM's text, waited for: inner text depends on whether the stylesheet has applied yet.
    expect(page.locator("#tags .badge")).to_have_text(["rückruf×"])
    assert page.get_by_text("Tags geändert").count() == 2

    page.goto(f"{live_server}/konsole")
    page.get_by_label("Tag", exact=True).fill("rückruf")
    page.get_by_role("button", name="Filtern").click()
    page.get_by_label("Diese Liste speichern als").fill("Rückrufe")
    page.get_by_role("button", name="Ansicht speichern").click()
    assert "Ansicht „Rückrufe“ gespeichert." in page.content()

    page.goto(f"{live_server}/konsole?queue=accounting")
    assert page.locator("#ticket-list").get_by_text(other).count() == 1
    page.locator("#saved-views").get_by_role("link", name="Rückrufe").click()

    listed = page.locator("#ticket-list tbody")
    assert listed.get_by_role("link", name=tagged).is_visible()
    assert listed.get_by_text(other).count() == 0
    assert page.get_by_label("Tag", exact=True).input_value() == "rückruf"
