"""Demo data with every priority, status and channel, each agent action, a mailing draft."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.demo import DEMO_PASSWORD, seed_accounts
from accounts.models import Account
from tests.integration.accounts.factories import sign_in
from tickets.demo import seed_demo
from tickets.models import CHANNELS, PRIORITIES, STATUSES
from tickets.routing import routing_rules
from tickets.services import TicketDraft, file_ticket


@pytest.fixture
def demo(app, runtime):
    queue_ids = [queue.id for queue in routing_rules(runtime).queues]
    people = seed_accounts(runtime, queue_ids, if_empty=False, issue_tokens=False)
    seed_demo(runtime, if_empty=False)
    account_id = _account_id(runtime, "10001")
    numbers = []
    # One ticket per status, the priorities and channels taken in turn: every value appears.
    for index, status in enumerate(STATUSES):
        priority, channel = PRIORITIES[index % len(PRIORITIES)], CHANNELS[index % len(CHANNELS)]
        ticket = file_ticket(
            runtime,
            TicketDraft(
                reply_to="kunde@mueller-handel.example",
                product_family="JTL-Wawi" if channel != "email" else "",
                component="Installation" if channel != "email" else "",
                subject=f"Anliegen {index}",
                text="Bitte prüfen.",
                priority=priority,
                channel=channel,
                account_id=account_id,
            ),
            actor="seed",
        )
        numbers.append((ticket.number, status))
    duplicate = file_ticket(
        runtime,
        TicketDraft(
            reply_to="kunde@mueller-handel.example",
            product_family="JTL-Wawi",
            component="Installation",
            subject="Anliegen doppelt",
            text="Nochmal dieselbe Frage.",
            account_id=account_id,
        ),
        actor="seed",
    )
    _act_on_tickets(app, numbers)
    _merge(app, duplicate.number, next(number for number, status in numbers if status == "open"))
    _draft_mailing(app)
    return people


def _account_id(runtime, customer_number: str) -> int:

    with runtime.db.reading() as session:
        return session.scalar(select(Account.id).where(Account.customer_number == customer_number))


def _act_on_tickets(app, numbers: list[tuple[str, str]]) -> None:
    """A supervisor claims, answers and notes each ticket and moves it to its status."""
    client = app.test_client()
    sign_in(client, "supervisor@support.example.com", DEMO_PASSWORD)
    app.config["WTF_CSRF_ENABLED"] = False
    for number, status in numbers:
        client.post(f"/konsole/tickets/{number}/uebernehmen")
        client.post(
            f"/konsole/tickets/{number}/antwort",
            data={"text": "Wir prüfen das.", "cc": "it@mueller-handel.example"},
        )
        client.post(f"/konsole/tickets/{number}/notiz", data={"text": "Rückruf vereinbart."})
        client.post(
            f"/konsole/tickets/{number}/aendern",
            data={"status": status, "queue": "", "priority": "", "reason": "Weitergegeben"},
        )
    app.config["WTF_CSRF_ENABLED"] = True


def _merge(app, duplicate: str, target: str) -> None:
    """A supervisor merges a duplicate: the merge history entries and the customer's notice."""
    client = app.test_client()
    sign_in(client, "supervisor@support.example.com", DEMO_PASSWORD)
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post(
        f"/konsole/tickets/{duplicate}/zusammenfuehren/bestaetigen", data={"target": target}
    )
    app.config["WTF_CSRF_ENABLED"] = True
    assert response.status_code == 303, response.get_data(as_text=True)


def _draft_mailing(app) -> None:
    client = app.test_client()
    sign_in(client, "ops@support.example.com", DEMO_PASSWORD)
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post(
        "/ops/mailings/neu",
        data={
            "product_family": "JTL-Wawi",
            "purpose": "security",
            "subject": "Sicherheitsupdate für JTL-Wawi",
            "body": "Bitte installieren Sie das Update.",
            "body_format": "markdown",
            "audience_kind": "all",
        },
    )
    app.config["WTF_CSRF_ENABLED"] = True
    assert response.status_code == 302, response.get_data(as_text=True)
