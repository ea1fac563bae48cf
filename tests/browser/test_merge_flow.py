"""In chromium: an agent merges a duplicate into the customer's other ticket."""

from __future__ import annotations

import pytest

from tests.integration.accounts.factories import PASSWORD, make_staff
from tests.integration.tickets.merge_factories import QUEUES, duplicates
from tickets.models import Ticket

pytestmark = pytest.mark.browser


def test_an_agent_merges_a_duplicate_and_its_number_leads_to_the_target(
    runtime, live_server, browser_page, screenshot
):
    world = duplicates(runtime)
    agent = make_staff(runtime, "agent", queues=QUEUES, email="merge@support.example.com")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(agent.email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()

    page.goto(f"{live_server}/konsole/tickets/{world.duplicate.number}")
    page.get_by_label("Zusammenführen in Ticket (Nummer)").fill(world.kept.number)
    page.get_by_role("button", name="Weiter zur Bestätigung").click()
    plan = page.locator("#merge-plan").inner_text()
    screenshot(page, "tickets-merge-confirm")
    page.get_by_role("button", name="Jetzt zusammenführen").click()
    page.wait_for_url(f"**/konsole/tickets/{world.kept.number}")
    after_merge = page.content()
    page.goto(f"{live_server}/konsole/tickets/{world.duplicate.number}")

    assert "1 Anhang" in plan
    assert "chefin@kunde.example wird per E-Mail informiert" in plan
    assert f"{world.duplicate.number} ist mit {world.kept.number} zusammengeführt" in after_merge
    assert "rechnung.pdf" in after_merge
    assert page.url.endswith(f"/konsole/tickets/{world.kept.number}")
    assert f"{world.duplicate.number} wurde mit {world.kept.number} zusammengeführt." in (
        page.content()
    )
    with runtime.db.session() as session:
        assert session.get_one(Ticket, world.duplicate.id).merged_into_id == world.kept.id
