"""Merging from the console over HTTP: confirmation, redirects in console, portal and API, the
customer's notice as the SMTP server received it."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

from sqlalchemy import select

from notifications.outbox.models import OutboundMessage
from tests.dkimcheck import verify_all_signatures
from tests.integration.accounts.factories import (
    csrf_token,
    make_account,
    make_customer,
    make_staff,
    sign_in,
)
from tests.integration.tickets.factories import api_token
from tests.integration.tickets.merge_factories import QUEUES, duplicates, file_for
from tests.integration.tickets.test_openapi import check
from tickets.models import Ticket


def _agent(app, runtime, queues=QUEUES):
    client = app.test_client()
    sign_in(client, make_staff(runtime, "agent", queues=queues).email)
    return client


def _preview(agent, number: str, target: str, **extra):
    token = csrf_token(agent, f"/konsole/tickets/{number}")
    return agent.post(
        f"/konsole/tickets/{number}/zusammenfuehren",
        data={"csrf_token": token, "target": target, **extra},
    )


def _confirm(agent, number: str, target: str):
    token = csrf_token(agent, f"/konsole/tickets/{number}")
    return agent.post(
        f"/konsole/tickets/{number}/zusammenfuehren/bestaetigen",
        data={"csrf_token": token, "target": target},
    )


def _merged_into(runtime, ticket_id: int) -> int | None:
    with runtime.db.session() as session:
        return session.get_one(Ticket, ticket_id).merged_into_id


def test_the_confirmation_page_says_what_moves_and_changes_nothing(app, runtime):
    world = duplicates(runtime)
    agent = _agent(app, runtime)

    response = _preview(agent, world.duplicate.number, world.kept.number.lower())

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"{world.duplicate.number} mit {world.kept.number} zusammenführen?" in page
    assert "1 Anhang" in page
    assert "1 Eintrag sensibler Daten" in page
    assert "chefin@kunde.example wird per E-Mail informiert" in page
    assert _merged_into(runtime, world.duplicate.id) is None


def test_confirming_merges_and_the_old_number_leads_to_the_target_in_the_console(app, runtime):
    world = duplicates(runtime)
    agent = _agent(app, runtime)

    response = _confirm(agent, world.duplicate.number, world.kept.number)
    followed = agent.get(f"/konsole/tickets/{world.duplicate.number}")

    assert response.status_code == 303
    assert response.location.endswith(f"/konsole/tickets/{world.kept.number}")
    assert _merged_into(runtime, world.duplicate.id) == world.kept.id
    assert followed.status_code == 303
    assert followed.location.endswith(f"/konsole/tickets/{world.kept.number}")
    page = agent.get(followed.location).get_data(as_text=True)
    assert f"{world.duplicate.number} wurde mit {world.kept.number} zusammengeführt." in page
    assert "Duplikat hierher zusammengeführt" in page
    assert f"Zusammengeführt aus: – → {world.duplicate.number}" in page
    assert "rechnung.pdf" in page


def test_tickets_of_another_account_are_refused_with_a_german_message(app, runtime):
    kept = file_for(runtime, make_account(runtime), "Zugang gesperrt")
    other = file_for(runtime, make_account(runtime), "Zugang gesperrt")
    agent = _agent(app, runtime)

    response = _confirm(agent, other.number, kept.number)

    assert response.status_code == 422
    assert "Nur Tickets desselben Kundenkontos" in response.get_data(as_text=True)
    assert _merged_into(runtime, other.id) is None


def test_an_agent_of_other_queues_may_not_merge(app, runtime):
    world = duplicates(runtime)
    agent = _agent(app, runtime, queues=("wawi",))

    response = _confirm(agent, world.duplicate.number, world.kept.number)

    assert response.status_code == 403
    assert _merged_into(runtime, world.duplicate.id) is None


def test_a_merge_without_the_csrf_token_is_refused(app, runtime):
    world = duplicates(runtime)
    agent = _agent(app, runtime)
    agent.get(f"/konsole/tickets/{world.duplicate.number}")

    response = agent.post(
        f"/konsole/tickets/{world.duplicate.number}/zusammenfuehren/bestaetigen",
        data={"target": world.kept.number},
    )

    assert response.status_code == 400
    assert _merged_into(runtime, world.duplicate.id) is None


def test_the_customer_portal_leads_from_the_old_number_to_the_target(app, runtime):
    world = duplicates(runtime)
    customer = app.test_client()
    sign_in(customer, make_customer(runtime, world.account).email)
    _confirm(_agent(app, runtime), world.duplicate.number, world.kept.number)

    response = customer.get(f"/tickets/{world.duplicate.number}")

    assert response.status_code == 303
    assert response.location.endswith(f"/tickets/{world.kept.number}")
    page = customer.get(response.location).get_data(as_text=True)
    assert f"wird jetzt unter {world.kept.number} weitergeführt" in page


def test_the_api_answers_a_merged_number_with_a_permanent_redirect_naming_the_target(app, runtime):
    world = duplicates(runtime)
    customer = make_customer(runtime, world.account)
    token = api_token(runtime, customer.id, ("customer.tickets",))
    _confirm(_agent(app, runtime), world.duplicate.number, world.kept.number)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    response = client.get(f"/api/v1/tickets/{world.duplicate.number}", headers=headers)
    followed = client.get(
        f"/api/v1/tickets/{world.duplicate.number}", headers=headers, follow_redirects=True
    )

    document = client.get("/api/v1/openapi.json").get_json()
    documented = document["paths"]["/api/v1/tickets/{number}"]["get"]["responses"]["308"]
    assert response.status_code == 308
    assert response.headers["Location"] == f"/api/v1/tickets/{world.kept.number}"
    assert response.content_type == "application/problem+json"
    assert response.get_json()["merged_into"] == world.kept.number
    check(response.get_json(), documented["content"][response.content_type]["schema"], document)
    assert followed.status_code == 200
    assert followed.get_json()["number"] == world.kept.number


def test_the_duplicates_customer_receives_the_signed_german_notice(
    app, runtime, work, smtp_sink, settings
):
    world = duplicates(runtime)
    with runtime.db.session() as session:
        acknowledgement = session.scalars(
            select(OutboundMessage.message_id).where(
                OutboundMessage.ticket_id == world.duplicate.id
            )
        ).one()
    work()
    smtp_sink.reset()

    _confirm(_agent(app, runtime), world.duplicate.number, world.kept.number)
    work()

    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ("chefin@kunde.example",)
    assert len(verify_all_signatures(received.data, settings)) == 2
    message = message_from_bytes(received.data, policy=default_policy)
    assert message["To"] == "chefin@kunde.example"
    assert message["Subject"] == f"[{world.kept.number}] Zugang gesperrt"
    assert message["In-Reply-To"] == acknowledgement
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert (
        f"Ihre Anfrage {world.duplicate.number} (Lizenz gesperrt) betrifft dasselbe Anliegen "
        f"wie Ticket {world.kept.number}." in " ".join(text.split())
    )
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"<strong>{world.duplicate.number}</strong>" in html
