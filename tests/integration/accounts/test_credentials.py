"""Each credential at its own door: second factor before tokens, the API grants what pages do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from accounts import tokens
from accounts.models import ApiToken, User
from accounts.services import ValidationError
from tests.integration.accounts.factories import (
    csrf_token,
    make_account,
    make_contact,
    make_customer,
    make_staff,
    sign_in,
    token_for,
)

BIN = Path(sys.executable).parent


def _require_second_factor(runtime, user) -> None:
    """An admin turns two-factor sign-in into a must for ``user`` (who has not set it up)."""
    with runtime.db.session() as session:
        session.execute(update(User).where(User.id == user.id).values(require_totp=True))


def test_a_token_holds_no_rights_while_a_required_second_factor_is_missing(client, runtime):
    admin = make_staff(runtime, "admin")
    token = token_for(runtime, admin, "admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/mailings", headers=headers).status_code == 200
    assert "ops" in client.get("/api/v1/token", headers=headers).get_json()["permissions"]

    _require_second_factor(runtime, admin)

    for path in ("/api/v1/mailings", "/api/v1/tickets"):
        assert client.get(path, headers=headers).status_code == 403, path
    response = client.post("/api/v1/routes/explain", json={"subject": "x"}, headers=headers)
    assert response.status_code == 403
    described = client.get("/api/v1/token", headers=headers).get_json()
    assert (described["permissions"], described["second_factor_setup_required"]) == ([], True)


def test_no_token_is_issued_before_a_required_second_factor_is_set_up(app, runtime):
    agent = make_staff(runtime, "agent", queues=("support",))
    client = app.test_client()
    sign_in(client, agent.email)
    _require_second_factor(runtime, agent)

    page = client.get("/konto/sicherheit")
    response = client.post(
        "/konto/sicherheit/tokens",
        data={
            "csrf_token": csrf_token(client, "/konto/sicherheit"),
            "name": "CI",
            "scopes": "agent",
        },
    )

    assert page.status_code == 200
    assert response.status_code == 422
    with runtime.db.session() as session:
        assert session.scalars(select(ApiToken).where(ApiToken.user_id == agent.id)).all() == []
    with pytest.raises(ValidationError):
        tokens.issue(runtime, agent.id, "direct", ["agent"])


def test_demo_data_issues_no_token_to_a_user_who_must_set_up_a_second_factor(cli_env):
    result = subprocess.run(
        [str(BIN / "helpdesk"), "seed", "demo", "--json"],
        env={**cli_env, "PATH": str(BIN)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    demo_users = json.loads(result.stdout)["users"]
    must_enrol = [user for user in demo_users if user["require_totp"]]
    assert must_enrol, "the demo data shows the rule with at least one such user"
    assert all(user["token"] is None for user in must_enrol)
    assert all(user["token"] for user in demo_users if not user["require_totp"])


@pytest.mark.parametrize(
    "permissions",
    [
        ("customer.tickets", "customer.contacts", "customer.email_history", "customer.users"),
        ("customer.tickets",),
        ("customer.contacts",),
        ("customer.email_history",),
    ],
)
def test_the_api_shows_contact_persons_exactly_to_whom_the_pages_show_them(
    app, runtime, permissions
):
    account = make_account(runtime)
    make_contact(runtime, account, first_name="Petra")
    user = make_customer(runtime, account, permissions=permissions)
    client = app.test_client()
    sign_in(client, user.email)
    headers = {"Authorization": f"Bearer {token_for(runtime, user, *permissions)}"}

    page = client.get("/konto/ansprechpartner")
    document = client.get(f"/api/v1/accounts/{account.customer_number}", headers=headers)

    assert page.status_code in (200, 403)
    assert document.status_code == 200
    page_shows = page.status_code == 200 and "Petra" in page.get_data(as_text=True)
    api_shows = "Petra" in json.dumps(document.get_json())
    assert api_shows == page_shows == ("customer.contacts" in permissions)
    assert ("distribution_lists" in document.get_json()) == page_shows


def test_agents_see_contact_persons_on_the_page_and_through_the_api(app, runtime):
    account = make_account(runtime)
    make_contact(runtime, account, first_name="Petra")
    agent = make_staff(runtime, "agent", queues=("support",))
    client = app.test_client()
    sign_in(client, agent.email)
    headers = {"Authorization": f"Bearer {token_for(runtime, agent, 'agent')}"}

    page = client.get(f"/verwaltung/konten/{account.customer_number}").get_data(as_text=True)
    document = client.get(f"/api/v1/accounts/{account.customer_number}", headers=headers)

    assert "Petra" in page
    assert [c["name"] for c in document.get_json()["contact_persons"]] == ["Petra Beispiel"]
