"""The console's routing rules page: the live rules in German and an explained decision that
agrees with ``helpdesk routes explain``."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner

from helpdesk.cli import main
from tests.integration.accounts.factories import make_account as make_customer_account
from tests.integration.accounts.factories import make_customer, make_staff, sign_in
from tests.integration.pages.visible import raw_words, read_html
from tickets.routing import routing_rules

PAGE = "/konsole/regeln"


@pytest.fixture
def agent(app, runtime):
    client = app.test_client()
    sign_in(client, make_staff(runtime, "agent", queues=("accounting",)).email)
    return client


def _explained(agent, **fields: str) -> str:
    response = agent.get(f"{PAGE}?{urlencode({'pruefen': '1', **fields})}")
    assert response.status_code == 200
    return " ".join(read_html(response.get_data(as_text=True))[0].split())


def test_the_page_lists_every_live_rule_in_german_words(agent, runtime):
    rules = routing_rules(runtime)

    shown, _links = read_html(agent.get(PAGE).get_data(as_text=True))
    text = " ".join(shown.split())

    assert raw_words(shown) == set()
    assert f"{len(rules.rules) + 1} Wenn keine Regel zutrifft (Standardweg)" in text
    assert "Betreff enthält „Zugang gesperrt“ oder „Konto gesperrt“" in text
    assert "Gewünschte Priorität ist „Kritisch“" in text
    assert "Priorität: mindestens Hoch" in text
    for queue in rules.queues:
        assert queue.name in text
    assert "customer-account" not in text and "on-call" not in text  # queue ids


def test_explain_names_the_deciding_rule_and_why_the_ones_before_did_not_match(agent):
    text = _explained(
        agent,
        subject="Frage zur Lagerverwaltung",
        product_family="JTL-WMS",
        component="WMS-Module",
        priority="low",
    )

    assert "Queue JTL-WMS" in text
    assert "Niedrig (gewünscht: Niedrig)" in text
    assert "Regel 1 trifft nicht zu" in text
    assert "Betreff enthält nicht „Zugang gesperrt“" in text
    assert "Gewünschte Priorität: verlangt „Kritisch“, das Ticket hat „Niedrig“." in text
    assert "Produktfamilie ist „JTL-WMS“" in text.split("trifft zu")[-1]


def test_the_default_route_is_named_when_no_rule_matches(agent):
    text = _explained(agent, subject="Allgemeine Frage", channel="api")

    assert "Keine Regel trifft zu; es gilt der Standardweg." in text
    assert "Entschieden von Standardweg" in text


@pytest.mark.parametrize(
    "fields",
    [
        {"subject": "Zugang gesperrt", "priority": "normal"},
        {"subject": "Rechnung", "department": "Buchhaltung"},
        {"subject": "Server down", "priority": "critical", "support_level": "Gold"},
        {"subject": "Installationsservice absagen", "product_family": "Dienstleistungen"},
        {"subject": "x", "product_family": "JTL-Shop", "component": "Shop-Hosting"},
    ],
)
def test_the_page_decides_as_the_explain_command_does(agent, runtime, fields):
    option = {
        "subject": "--subject",
        "priority": "--priority",
        "department": "--department",
        "support_level": "--support-level",
        "product_family": "--product-family",
        "component": "--component",
    }
    arguments = [part for name, value in fields.items() for part in (option[name], value)]
    rules_file = str(runtime.settings.routing_rules_path)
    command = CliRunner().invoke(
        main, ["routes", "explain", "--json", "--rules", rules_file, *arguments]
    )
    decision = json.loads(command.output)

    response = agent.get(f"{PAGE}?{urlencode({'pruefen': '1', **fields})}")
    html = response.get_data(as_text=True)

    deciding = html.split("Entschieden von</dt><dd>")[1].split("</dd>")[0]
    assert (
        f'<code class="reference">{decision["rule"]["id"]}</code>' in deciding
        if decision["rule"]["id"] != "default"
        else deciding == "Standardweg"
    )
    assert html.count("trifft nicht zu") == len(decision["trace"]) - 1


def test_a_value_not_offered_is_refused_with_a_german_message(agent):
    response = agent.get(f"{PAGE}?pruefen=1&priority=sofort&channel=fax")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte eine Priorität aus der Liste wählen." in html
    assert "Bitte einen Eingangskanal aus der Liste wählen." in html
    assert 'id="explanation"' not in html


def test_customers_and_strangers_do_not_see_the_rules(app, runtime):
    customer = app.test_client()
    sign_in(customer, make_customer(runtime, make_customer_account(runtime)).email)

    assert customer.get(PAGE).status_code == 403
    assert app.test_client().get(PAGE).status_code in (302, 401)
