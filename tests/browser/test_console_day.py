"""A day in the console, in chromium: an admin creates an agent, or invites one by mail, who
then signs in; a supervisor writes a Textbaustein; the agent inserts it into an answer and
changes a bulk selection."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest

from tests.integration.accounts.factories import PASSWORD, make_staff
from tests.integration.tickets.factories import make_account, make_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()


def test_an_admin_creates_an_agent_who_then_signs_in(runtime, live_server, browser_page):
    admin = make_staff(runtime, "admin", email="admin@support.example.com")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})

    _sign_in(page, live_server, admin.email)
    page.get_by_role("link", name="Mitarbeiter").click()
    page.get_by_role("link", name="Mitarbeiter anlegen").click()
    page.get_by_label("E-Mail-Adresse").fill("nele@support.example.com")
    page.get_by_label("Name").fill("Nele Neu")
    page.get_by_label("Erstes Passwort").fill(PASSWORD)
    page.locator("input[name=roles][value=agent]").check()
    page.locator("input[name=queues][value=accounting]").check()
    page.get_by_label("Zwei-Faktor-Anmeldung verlangen").uncheck()
    page.get_by_role("button", name="Anlegen").click()
    assert "nele@support.example.com ist angelegt." in page.content()
    page.get_by_role("button", name="Abmelden").click()

    _sign_in(page, live_server, "nele@support.example.com")
    page.goto(f"{live_server}/konsole?queue=accounting")

    assert page.get_by_role("heading", name="Agentenkonsole").is_visible()


def test_an_admin_invites_an_agent_who_sets_a_password_from_the_mail_and_signs_in(
    runtime, live_server, browser_page, work, smtp_sink
):
    admin = make_staff(runtime, "admin", email="admin@support.example.com")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})

    _sign_in(page, live_server, admin.email)
    page.get_by_role("link", name="Mitarbeiter", exact=True).click()
    page.get_by_role("link", name="Mitarbeiter einladen").click()
    page.get_by_label("E-Mail-Adresse").fill("ina@support.example.com")
    page.get_by_label("Name").fill("Ina Neu")
    page.locator("input[name=roles][value=agent]").check()
    page.locator("input[name=queues][value=accounting]").check()
    page.get_by_label("Zwei-Faktor-Anmeldung verlangen").uncheck()
    page.get_by_role("button", name="Einladung senden").click()
    assert "Die Einladung an ina@support.example.com wurde versendet." in page.content()
    assert page.locator("#staff-invitations").get_by_text("ina@support.example.com").is_visible()
    page.get_by_role("button", name="Abmelden").click()

    work("mail")
    [mail] = smtp_sink.wait_for(1)
    text = message_from_bytes(mail.data, policy=policy.SMTP).get_body(("plain",)).get_content()
    path = re.search(r"http://127\.0\.0\.1:8000(/einladung/\S+)", text).group(1)
    page.goto(f"{live_server}{path}")
    assert page.get_by_label("Ihr Name").input_value() == "Ina Neu"
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(PASSWORD)
    page.get_by_role("button", name="Zugang einrichten").click()
    page.get_by_role("button", name="Abmelden").click()

    _sign_in(page, live_server, "ina@support.example.com")
    page.goto(f"{live_server}/konsole?queue=accounting")

    assert page.get_by_role("heading", name="Agentenkonsole").is_visible()


def test_a_text_module_goes_into_an_answer_and_a_selection_changes_at_once(
    runtime, live_server, browser_page
):
    supervisor = make_staff(runtime, "supervisor", email="chefin@support.example.com")
    agent = make_staff(runtime, "agent", queues=("accounting",), email="ag@support.example.com")
    ids = [make_ticket(runtime), make_ticket(runtime)]
    with runtime.db.session() as session:
        numbers = [session.get_one(Ticket, ticket_id).number for ticket_id in ids]
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})

    _sign_in(page, live_server, supervisor.email)
    page.get_by_role("link", name="Textbausteine").click()
    page.get_by_label("Queue").select_option("accounting")
    page.get_by_label("Titel").fill("Sperre aufgehoben")
    page.get_by_label("Text").fill("Guten Tag, die Sperre zu {ticketnummer} ist aufgehoben.")
    page.get_by_role("button", name="Speichern").click()
    assert "Textbaustein gespeichert." in page.content()
    page.get_by_role("button", name="Abmelden").click()

    _sign_in(page, live_server, agent.email)
    page.goto(f"{live_server}/konsole/tickets/{numbers[0]}")
    answer = page.locator("form:has(#text-module-reply)")
    answer.locator("textarea[name=text]").fill("Hallo! ")
    answer.locator("textarea[name=text]").press("End")
    answer.get_by_role("button", name="Einfügen").click()
    inserted = answer.locator("textarea[name=text]").input_value()

    page.goto(f"{live_server}/konsole?queue=accounting")
    for number in numbers:
        page.get_by_label(f"{number} auswählen").check()
    page.locator("#bulk-priority").select_option("low")
    page.locator("#bulk-reason").fill("Kein Stillstand")
    page.get_by_role("button", name="Auf Auswahl anwenden").click()

    assert inserted == f"Hallo! Guten Tag, die Sperre zu {numbers[0]} ist aufgehoben."
    assert f"Geändert: {', '.join(sorted(numbers))}." in page.content()
    with runtime.db.session() as session:
        assert {session.get_one(Ticket, i).effective_priority for i in ids} == {"low"}


def test_an_agent_links_an_unknown_sender_to_its_account_and_the_sla_follows(
    runtime, live_server, browser_page
):
    make_account(
        runtime, customer_number="K777301", company="Gold Handel GmbH", edition="enterprise"
    )
    with runtime.db.session() as session:
        ticket = session.get_one(Ticket, make_ticket(runtime))
        ticket_id, number, support_level = ticket.id, ticket.number, ticket.support_level
    agent = make_staff(runtime, "agent", queues=("accounting",), email="link@support.example.com")
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, live_server, agent.email)

    page.goto(f"{live_server}/konsole/tickets/{number}")
    form = page.locator("#link-account")
    form.get_by_label("Kundennummer").fill("K777301")
    form.get_by_label("Grund").fill("Absender hat angerufen")
    form.get_by_role("button", name="Konto zuordnen").click()

    assert page.locator(".flash.success").inner_text() == (
        "Das Konto ist zugeordnet; Routing und SLA sind neu bestimmt."
    )
    assert page.get_by_text("K777301 – Gold Handel GmbH", exact=True).is_visible()
    assert page.locator("#link-account").count() == 0
    history = page.locator("h2:text-is('Verlauf') + table").inner_text()
    assert "Konto zugeordnet" in history and "Absender hat angerufen" in history
    assert "Kundenkonto: – → K777301 – Gold Handel GmbH" in history
    assert "account_linked" not in page.locator("main").inner_text()
    with runtime.db.session() as session:
        linked = session.get_one(Ticket, ticket_id)
    assert (support_level, linked.support_level) == ("Community", "Gold")
