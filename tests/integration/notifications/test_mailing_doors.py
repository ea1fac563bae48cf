"""The API, the ops pages and the CLI for mandatory mailings, with the four-eyes rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from helpdesk.cli import main
from notifications.mailings import services
from notifications.mailings.models import Mailing, MailingDelivery
from tests.integration.accounts.factories import make_staff, sign_in, token_for
from tests.integration.notifications.factories import BODY, make_account

API = "/api/v1/mailings"
NEW = {
    "product_family": "JTL-POS",
    "purpose": "maintenance",
    "subject": "Wartungsfenster 4. Mai // Ausfälle Cloud TSE (Deutsche Fiskal)",
    "body": BODY,
    "audience": {"kind": "all"},
}


def _bearer(runtime, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(runtime, make_staff(runtime, *roles), 'ops')}"}


def test_api_refuses_callers_without_ops(client, runtime):
    agent = make_staff(runtime, "agent")
    headers = {"Authorization": f"Bearer {token_for(runtime, agent, 'agent')}"}

    assert client.post(API, json=NEW).status_code == 401
    assert client.post(API, json=NEW, headers=headers).status_code == 403


def test_api_creates_previews_and_sends_a_mailing(client, runtime, work, smtp_sink):
    make_account(runtime, first_contact="info@api.example", critical=("it@api.example",))
    ops = _bearer(runtime, "ops")

    created = client.post(API, json=NEW, headers=ops)
    assert created.status_code == 201
    mailing_id = created.get_json()["id"]
    preview = client.get(f"{API}/{mailing_id}/preview", headers=ops).get_json()
    assert "Musterfirma GmbH" in preview["text"]
    sent = client.post(f"{API}/{mailing_id}/send", headers=ops)
    assert sent.status_code == 202
    work()

    status = client.get(f"{API}/{mailing_id}", headers=ops).get_json()
    assert status["counts"]["sent"] == 2 and status["finished"]
    found = client.get(f"{API}/{mailing_id}/deliveries?q=it@", headers=ops).get_json()
    assert [(r["address"], r["reason"], r["state"]) for r in found] == [
        ("it@api.example", "contact_person", "sent")
    ]
    assert len(smtp_sink.wait_for(2)) == 2


def test_api_names_bad_fields_and_refuses_line_breaks_and_foreign_links(client, runtime):
    bad = {
        **NEW,
        "subject": "Wartung\r\nBcc: opfer@example.com",
        "body": "Details: https://evil.example/patch.exe",
        "product_family": "Gibt es nicht",
    }

    response = client.post(API, json=bad, headers=_bearer(runtime, "ops"))

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"subject", "body", "product_family"}
    with runtime.db.session() as session:
        assert session.scalars(select(Mailing)).all() == []


@pytest.mark.parametrize("settings", [{"mailing_approval_threshold": 1}], indirect=True)
def test_four_eyes_above_the_threshold_and_not_by_the_author(client, runtime):
    make_account(runtime, first_contact="info@eins.example")
    make_account(runtime, first_contact="info@zwei.example")
    author, second = _bearer(runtime, "ops"), _bearer(runtime, "ops")
    mailing_id = client.post(API, json=NEW, headers=author).get_json()["id"]

    refused = client.post(f"{API}/{mailing_id}/send", headers=author)
    own = client.post(f"{API}/{mailing_id}/approve", headers=author)
    approved = client.post(f"{API}/{mailing_id}/approve", headers=second)
    sent = client.post(f"{API}/{mailing_id}/send", headers=author)

    assert refused.status_code == 409 and "zweiten Person" in refused.get_json()["detail"]
    assert own.status_code == 409
    assert approved.status_code == 200
    assert sent.status_code == 202


def test_ops_pages_compose_preview_and_show_progress(client, runtime, work):
    account = make_account(runtime, first_contact="info@seite.example", company="Seiten & Söhne")
    ops = make_staff(runtime, "ops")
    sign_in(client, ops.email)

    page = client.get("/ops/mailings/neu")
    assert page.status_code == 200
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    form = {
        "csrf_token": token,
        "product_family": "JTL-Wawi",
        "purpose": "security",
        "subject": "Sicherheitsupdate für JTL-Wawi",
        "body": BODY,
        "body_format": "markdown",
        "audience_kind": "all",
    }
    created = client.post("/ops/mailings/neu", data=form)
    assert created.status_code == 302
    detail = client.get(created.headers["Location"] + f"?konto={account.customer_number}")
    html = detail.get_data(as_text=True)
    assert "Seiten &amp;amp; Söhne" in html  # the mail HTML, escaped again inside srcdoc
    mailing_id = int(created.headers["Location"].rsplit("/", 1)[1])
    asked = client.post(f"/ops/mailings/{mailing_id}/send", data={"csrf_token": token})
    assert "an <strong>1 Kundenkonto</strong>" in asked.get_data(as_text=True)
    assert "<strong>1 Empfänger</strong>" in asked.get_data(as_text=True)
    assert services.get_mailing(runtime, mailing_id).state == "draft"  # asking sent nothing
    sent = client.post(
        f"/ops/mailings/{mailing_id}/send", data={"csrf_token": token, "bestaetigt": "ja"}
    )
    assert sent.status_code == 302
    work()

    progress = client.get(f"/ops/mailings/{mailing_id}/fortschritt").get_data(as_text=True)
    assert '<progress max="1" value="1"' in progress
    assert "seite.example" in progress
    found = client.get(f"/ops/mailings/{mailing_id}/empfaenger?q={account.customer_number}")
    assert "info@seite.example" in found.get_data(as_text=True)


def test_cli_create_approve_send_and_status(runtime, work, smtp_sink, tmp_path: Path, cli_env):
    make_account(runtime, first_contact="info@cli.example")
    selected = make_account(runtime, first_contact="info@nur-diese.example")
    body, accounts = tmp_path / "body.md", tmp_path / "accounts.txt"
    body.write_text(BODY, encoding="utf-8")
    accounts.write_text(f"{selected.customer_number}\n", encoding="utf-8")
    runner = CliRunner(env=cli_env)

    created = runner.invoke(
        main,
        [
            "mailings",
            "create",
            "--family",
            "JTL-Wawi",
            "--purpose",
            "deadline",
            "--subject",
            "DRINGEND: Update des Deutsche Fiskal Connectors bis 01.08.22",
            "--body-file",
            str(body),
            "--accounts-file",
            str(accounts),
            "--as",
            "anna",
        ],
    )
    assert created.exit_code == 0, created.output
    mailing_id = created.output.strip()
    assert runner.invoke(main, ["mailings", "approve", mailing_id, "--as", "anna"]).exit_code == 1
    assert runner.invoke(main, ["mailings", "approve", mailing_id, "--as", "bernd"]).exit_code == 0
    assert runner.invoke(main, ["mailings", "send", mailing_id]).exit_code == 0
    work()
    status = runner.invoke(main, ["mailings", "status", mailing_id, "--json"])

    assert json.loads(status.output)["counts"]["sent"] == 1
    assert [m.rcpt_tos for m in smtp_sink.wait_for(1)] == [("info@nur-diese.example",)]


def test_unknown_mailing_is_404_on_pages_and_api(client, runtime):
    ops = make_staff(runtime, "ops")
    headers = {"Authorization": f"Bearer {token_for(runtime, ops, 'ops')}"}
    sign_in(client, ops.email)

    assert client.get("/ops/mailings/999").status_code == 404
    assert client.get(f"{API}/999", headers=headers).status_code == 404


def test_cli_mailing_by_product_records_exactly_the_accounts_using_it(
    runtime, work, smtp_sink, tmp_path: Path, cli_env
):
    pos = make_account(runtime, first_contact="info@kasse.example", products=("JTL-POS",))
    both = make_account(
        runtime,
        first_contact="info@filiale.example",
        critical=("it@filiale.example",),
        products=("JTL-Wawi", "JTL-POS"),
    )
    make_account(runtime, first_contact="info@shop.example", products=("JTL-Shop",))
    make_account(runtime, first_contact="info@ohne.example")
    body = tmp_path / "body.md"
    body.write_text(BODY, encoding="utf-8")
    runner = CliRunner(env=cli_env)
    created = runner.invoke(
        main,
        [
            "mailings",
            "create",
            "--family",
            "JTL-POS",
            "--purpose",
            "security",
            "--subject",
            "Sicherheitsupdate für JTL-POS",
            "--body-file",
            str(body),
            "--products",
            "JTL-POS",
        ],
    )
    assert created.exit_code == 0, created.output
    mailing_id = int(created.output)

    assert runner.invoke(main, ["mailings", "send", str(mailing_id)]).exit_code == 0
    work()

    with runtime.db.session() as session:
        records = session.execute(
            select(
                MailingDelivery.customer_number, MailingDelivery.address, MailingDelivery.state
            ).where(MailingDelivery.mailing_id == mailing_id)
        ).all()
    assert set(records) == {
        (pos.customer_number, "info@kasse.example", "sent"),
        (both.customer_number, "info@filiale.example", "sent"),
        (both.customer_number, "it@filiale.example", "sent"),
    }
    assert len(smtp_sink.wait_for(3)) == 3


def test_unknown_products_are_refused_by_the_api_and_the_cli(
    client, runtime, tmp_path: Path, cli_env
):
    by_product = {**NEW, "audience": {"kind": "products", "values": ["JTL-POS", "JTL-Kasse"]}}
    body = tmp_path / "body.md"
    body.write_text(BODY, encoding="utf-8")
    arguments = ["mailings", "create", "--family", "JTL-POS", "--purpose", "security"]
    arguments += ["--subject", "Update", "--body-file", str(body), "--products", "JTL-Kasse"]

    response = client.post(API, json=by_product, headers=_bearer(runtime, "ops"))
    cli = CliRunner(env=cli_env).invoke(main, arguments)

    assert response.status_code == 422
    assert response.get_json()["errors"] == {"audience": "Unbekannte Produkte: JTL-Kasse."}
    assert cli.exit_code == 1 and "audience: Unbekannte Produkte: JTL-Kasse." in cli.output
    with runtime.db.session() as session:
        assert session.scalars(select(Mailing)).all() == []


def test_ops_page_composes_a_mailing_for_products_with_spaces_in_their_names(client, runtime):
    sign_in(client, make_staff(runtime, "ops").email)
    page = client.get("/ops/mailings/neu").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {
        "csrf_token": token,
        "product_family": "JTL-Fulfillment Network",
        "purpose": "outage",
        "subject": "Störung im Fulfillment Network",
        "body": BODY,
        "body_format": "markdown",
        "audience_kind": "products",
        "audience_products": ["JTL-Fulfillment Network", "JTL-WMS"],
    }

    created = client.post("/ops/mailings/neu", data=form)

    assert created.status_code == 302
    assert 'value="JTL-Fulfillment Network"' in page
    with runtime.db.session() as session:
        mailing = session.scalars(select(Mailing)).one()
    assert (mailing.audience_kind, mailing.audience_values) == (
        "products",
        ["JTL-Fulfillment Network", "JTL-WMS"],
    )


def test_every_link_the_mailing_template_adds_leads_to_a_page_that_exists(
    client, runtime, settings
):
    make_account(runtime, first_contact="info@links.example")
    ops = _bearer(runtime, "ops")
    without_links = {**NEW, "body": "Am 4. Mai ist die Cloud TSE von 22 bis 23 Uhr nicht da."}
    mailing_id = client.post(API, json=without_links, headers=ops).get_json()["id"]
    preview = client.get(f"{API}/{mailing_id}/preview", headers=ops).get_json()

    links = set(re.findall(r'href="([^"]+)"', preview["html"]))
    ours = sorted(link for link in links if link.startswith(settings.public_url))
    assert ours, "the mailing links to the customer center"
    for link in ours:
        path = link.removeprefix(settings.public_url) or "/"
        assert client.get(path).status_code != 404, link
