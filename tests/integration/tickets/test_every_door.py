"""The same request by web form, JSON API, phone and e-mail is routed and clocked the same."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from helpdesk.cli import main
from helpdesk.config import Settings
from notifications.outbox.models import OutboundMessage
from tests.integration.accounts.factories import (
    csrf_token,
    make_account,
    make_customer,
    make_staff,
    sign_in,
    token_for,
)
from tickets.models import Ticket
from tickets.sla import load_policies

SUBJECT = "Kasse steht still"
TEXT = "Seit heute früh nimmt unsere Kasse keine Zahlungen mehr an."
REQUEST = {
    "product_family": "JTL-POS",
    "component": "Kassensystem",
    "priority": "normal",
    "text": TEXT,
}
# Ahead of every shipped rule: a rule that decides by the support level of the account.
GOLD_RULE = """\
  - id: gold-till-down
    description: A Gold customer's till that stands still goes to the POS team, high priority.
    when:
      support_level: Gold
      subject: [Kasse steht]
    then:
      queue: pos
      priority: high
      tags: [gold-kasse]

"""


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    shipped = settings.routing_rules_path.read_text(encoding="utf-8")
    head, marker, rules = shipped.partition("\nrules:\n")
    assert marker, "the shipped rules file has no rules section"
    path = tmp_path / "routing_rules.yaml"
    path.write_text(head + marker + GOLD_RULE + rules, encoding="utf-8")
    return replace(settings, routing_rules_path=path)


def file_by_web(app, user) -> None:
    client = app.test_client()
    sign_in(client, user.email)
    form = {"csrf_token": csrf_token(client, "/tickets/neu"), "reply_to": user.email}
    response = client.post(
        "/tickets/neu",
        data={**form, **REQUEST, "subject": SUBJECT, "department": ""},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def file_by_api(app, runtime, user) -> None:
    client = app.test_client()
    token = token_for(runtime, user, "customer.tickets")
    response = client.post(
        "/api/v1/tickets",
        json={**REQUEST, "reply_to": user.email, "subject": SUBJECT},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.get_json()


def file_by_phone(app, runtime, account) -> None:
    agent = make_staff(runtime, "agent", queues=("pos",))
    client = app.test_client()
    sign_in(client, agent.email)
    form = {"csrf_token": csrf_token(client, "/konsole/telefon")}
    response = client.post(
        "/konsole/telefon",
        data={**form, **REQUEST, "customer_number": account.customer_number, "keyword": SUBJECT},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def file_by_mail(cli_env, user) -> None:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = user.email
    mail["To"] = "support@support.example.com"
    mail["Subject"] = SUBJECT
    mail["Message-ID"] = make_msgid(domain="kunde.example")
    mail.set_content(TEXT)
    result = CliRunner().invoke(
        main,
        ["mail-in", "deliver", "--to", "support@support.example.com"],
        input=mail.as_bytes(),
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    assert '"created"' in result.stdout


def test_the_same_request_by_every_door_gets_the_same_routing_and_due_times(
    app, runtime, settings, cli_env
):
    account = make_account(runtime, edition="enterprise")
    user = make_customer(runtime, account)

    file_by_web(app, user)
    file_by_api(app, runtime, user)
    file_by_phone(app, runtime, account)
    file_by_mail(cli_env, user)

    with runtime.db.session() as session:
        tickets = list(session.scalars(select(Ticket).order_by(Ticket.id)))
        acknowledged = set(session.scalars(select(OutboundMessage.ticket_id)))
        histories = [[(event.action, event.changes) for event in t.events] for t in tickets]
    assert [ticket.channel for ticket in tickets] == ["web", "api", "phone", "email"]
    assert {ticket.account_id for ticket in tickets} == {account.id}
    clock = load_policies(settings.sla_policies_path).policy("Gold", "high").clock

    def outcome(ticket: Ticket) -> tuple:
        return (
            ticket.queue,
            ticket.effective_priority,
            ticket.routing_rule,
            ticket.rules_version,
            tuple(ticket.tags),
            ticket.support_level,
            ticket.sla_key,
            ticket.status,
            # Due times, as business minutes after the ticket was filed: the clock's start.
            clock.business_minutes(ticket.created_at, ticket.first_response_due_at),
            clock.business_minutes(ticket.created_at, ticket.resolution_due_at),
        )

    expected = ("pos", "high", "gold-till-down")
    assert {outcome(ticket)[:3] for ticket in tickets} == {expected}
    assert len({outcome(ticket) for ticket in tickets}) == 1, [outcome(t) for t in tickets]
    assert outcome(tickets[0])[5:] == ("Gold", "Gold/high", "new", 60, 9 * 60)
    assert acknowledged == {ticket.id for ticket in tickets}
    for [(action, changes)] in histories:
        assert action == "created"
        assert changes["queue"] == [None, "pos"]
        assert changes["effective_priority"] == [None, "high"]
        assert changes["routing_rule"] == [None, "gold-till-down"]
