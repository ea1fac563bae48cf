"""The JSON API's 422s and the contract system's import through the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from accounts import people, services
from accounts.models import Account, LicenseLock
from helpdesk.cli import main
from tests.integration.accounts.factories import (
    make_account,
    make_customer,
    make_staff,
    sign_in,
    token_for,
)


@pytest.fixture
def owner_api(app, runtime):
    account = make_account(runtime)
    owner = make_customer(runtime, account, owner=True)
    headers = {"Authorization": f"Bearer {token_for(runtime, owner, 'customer.contacts')}"}
    return app.test_client(), account, headers


@pytest.mark.parametrize(
    "address",
    [
        "admin@firma.example\r\nBcc: opfer@x.example",
        "Chef <chef@firma.example>",
        "a@-firma.de",
        "a@firma",
    ],
)
def test_bad_addresses_get_422_and_change_nothing(owner_api, runtime, address):
    client, account, headers = owner_api
    path = f"/api/v1/accounts/{account.customer_number}/distribution-lists/emergency"
    people.replace_distribution_list(runtime, account.id, "emergency", ["alt@firma.example"], "t")

    response = client.put(path, json={"addresses": ["ok@firma.example", address]}, headers=headers)

    assert response.status_code == 422
    assert "addresses" in response.get_json()["errors"]
    assert people.distribution_lists(runtime, account.id)["emergency"] == ["alt@firma.example"]


def test_contact_person_via_api_external_gets_no_newsletter_by_default(owner_api):
    client, account, headers = owner_api
    path = f"/api/v1/accounts/{account.customer_number}/contact-persons"

    internal = client.post(
        path, json={"first_name": "A", "last_name": "B", "email": "a@f.example"}, headers=headers
    )
    external = client.post(
        path,
        json={
            "first_name": "C",
            "last_name": "D",
            "email": "c@f.example",
            "external": True,
            "gdpr_representative": True,
        },
        headers=headers,
    )
    invalid = client.post(path, json={"first_name": 3, "email": "x"}, headers=headers)

    assert internal.get_json()["newsletter_channels"] == ["product_news"]
    assert external.get_json()["newsletter_channels"] == []
    assert invalid.status_code == 422
    assert set(invalid.get_json()["errors"]) == {"first_name", "last_name", "email"}


def test_revoked_token_is_refused(app, runtime):
    from accounts import tokens

    account = make_account(runtime)
    owner = make_customer(runtime, account, owner=True)
    token, plain = tokens.issue(runtime, owner.id, "ci", ["customer.tickets"])
    client = app.test_client()
    path = f"/api/v1/accounts/{account.customer_number}"

    before = client.get(path, headers={"Authorization": f"Bearer {plain}"}).status_code
    tokens.revoke(runtime, owner.id, token.id)
    after = client.get(path, headers={"Authorization": f"Bearer {plain}"}).status_code

    assert (before, after) == (200, 401)


CSV_GOOD = """\
customer_number,company,edition,key_accounting,lock_product,lock_since,lock_until,lock_reason
70001,Alpha GmbH,JTL Pro,,JTL-Wawi,2026-11-01,,Zahlungsverzug
70001,Alpha GmbH,JTL Pro,,JTL-Shop,2026-11-01,2026-12-31,
70002,Beta AG,Enterprise,ja,,,,
"""


def _import(cli_env, path, *args):
    return CliRunner().invoke(main, ["accounts", "import", str(path), *args], env=cli_env)


def test_import_is_idempotent_and_shown_by_the_api(app, runtime, settings, tmp_path, cli_env):
    source = tmp_path / "contracts.csv"
    source.write_text(CSV_GOOD, encoding="utf-8")

    first = _import(cli_env, source)
    second = _import(cli_env, source)

    assert "2 created" in first.output and "2 unchanged" in second.output, first.output
    account = services.account_by_number(runtime, "70001")
    assert account.edition == "pro"
    assert {(lock.product, lock.until is None) for lock in account.license_locks} == {
        ("JTL-Shop", False),
        ("JTL-Wawi", True),
    }


def test_an_import_with_a_bad_line_changes_nothing_unless_skipping(
    runtime, settings, tmp_path, cli_env
):
    source = tmp_path / "contracts.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"customer_number": "80001", "company": "Gut GmbH", "edition": "start"}),
                json.dumps(
                    {
                        "customer_number": "80002",
                        "company": "Schlecht",
                        "edition": "start",
                        "key_accounting": True,
                    }
                ),
                "{kaputt",
            ]
        )
        + "\n",
        encoding="utf-8",
    )

    refused = _import(cli_env, source)
    with runtime.db.session() as session:
        count_after_refusal = session.scalar(select(func.count()).select_from(Account))
    skipped = _import(cli_env, source, "--skip-invalid")

    assert refused.exit_code == 1
    assert (
        f"{source}:2: key_accounting" in refused.output
        and f"{source}:3: not JSON" in refused.output
    )
    assert count_after_refusal == 0
    assert skipped.exit_code == 0 and "1 created" in skipped.output
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(LicenseLock)) == 0


CSV_PRODUCTS = """\
customer_number,company,edition,products,lock_product,lock_since,lock_until,lock_reason
71001,Gamma GmbH,JTL Pro,JTL-Wawi;jtl-pos,JTL-Wawi,2026-11-01,,Zahlungsverzug
71001,Gamma GmbH,JTL Pro,JTL-Wawi;jtl-pos,JTL-Shop,2026-11-01,2026-12-31,
71002,Delta AG,JTL Start,JTL-Fulfillment Network,,,,
71003,Epsilon KG,JTL Start,,,,,
"""


def _products_by_api(client, runtime, customer_number: str) -> list[str]:
    agent = make_staff(runtime, "supervisor")
    headers = {"Authorization": f"Bearer {token_for(runtime, agent, 'agent')}"}
    response = client.get(f"/api/v1/accounts/{customer_number}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["products"]


def test_import_makes_the_products_exactly_the_files_and_the_api_and_page_show_them(
    app, client, runtime, settings, tmp_path, cli_env
):
    source = tmp_path / "contracts.csv"
    source.write_text(CSV_PRODUCTS, encoding="utf-8")
    first = _import(cli_env, source)
    again = _import(cli_env, source)
    imported = services.account_by_number(runtime, "71001").product_names
    source.write_text(CSV_PRODUCTS.replace("JTL-Wawi;jtl-pos", "JTL-Shop"), encoding="utf-8")
    changed = _import(cli_env, source)

    assert first.exit_code == 0 and "3 created" in first.output, first.output
    assert "3 unchanged" in again.output and "1 updated" in changed.output
    assert imported == ["JTL-POS", "JTL-Wawi"]  # the catalog's spelling
    assert _products_by_api(client, runtime, "71001") == ["JTL-Shop"]
    assert _products_by_api(client, runtime, "71002") == ["JTL-Fulfillment Network"]
    assert _products_by_api(client, runtime, "71003") == []
    sign_in(client, make_staff(runtime, "agent").email)
    page = client.get("/verwaltung/konten/71002").get_data(as_text=True)
    assert "<dt>Produkte</dt><dd>JTL-Fulfillment Network</dd>" in page


def test_an_unknown_product_is_a_bad_line_and_changes_nothing(runtime, settings, tmp_path, cli_env):
    source = tmp_path / "contracts.jsonl"
    account = {"customer_number": "72001", "company": "Zeta GmbH", "edition": "start"}
    source.write_text(json.dumps(account | {"products": ["JTL-Wawi"]}) + "\n", encoding="utf-8")
    _import(cli_env, source)
    source.write_text(
        json.dumps(account | {"products": ["JTL-Shop"]})
        + "\n"
        + json.dumps({**account, "customer_number": "72002", "products": ["JTL Wavi"]})
        + "\n",
        encoding="utf-8",
    )

    refused = _import(cli_env, source)

    assert refused.exit_code == 1
    assert f"{source}:2: products: 'JTL Wavi' not in the catalog" in refused.output
    assert services.account_by_number(runtime, "72001").product_names == ["JTL-Wawi"]
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 1
