"""Names and companies end up in mail headers: every accounts door refuses what would break one."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from accounts.models import Account, ContactPerson, User
from helpdesk.cli import main
from tests.integration.accounts.factories import (
    PASSWORD,
    make_account,
    make_customer,
    token_for,
)

UNSAFE = ["Eva\x00", "Eva\x1b", "Eva\x9b", "Eva\u2028Maria", "Eva\ud800", "Eva\nMaria"]


def _count(runtime, model) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("name", UNSAFE)
def test_a_contact_person_through_the_api_names_the_bad_field(app, runtime, name):
    account = make_account(runtime)
    owner = make_customer(runtime, account, owner=True)
    headers = {"Authorization": f"Bearer {token_for(runtime, owner, 'customer.contacts')}"}

    response = app.test_client().post(
        f"/api/v1/accounts/{account.customer_number}/contact-persons",
        json={"first_name": name, "last_name": "Beispiel", "email": "eva@kunde.example"},
        headers=headers,
    )

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"first_name"}
    assert _count(runtime, ContactPerson) == 0


def test_an_import_line_with_a_control_character_in_the_company_is_named(
    runtime, tmp_path, cli_env
):
    source = tmp_path / "contracts.jsonl"
    line = {"customer_number": "80009", "company": "Böse\u2029GmbH", "edition": "start"}
    source.write_text(json.dumps(line) + "\n", encoding="utf-8")

    result = CliRunner().invoke(main, ["accounts", "import", str(source)], env=cli_env)

    assert result.exit_code == 1
    assert "contracts.jsonl:1: company: contains a line break or a control character" in (
        result.output
    )
    assert _count(runtime, Account) == 0


def test_create_staff_refuses_a_name_with_a_control_character(runtime, cli_env):
    result = CliRunner().invoke(
        main,
        [
            *("accounts", "create-staff", "neu@support.example.com", "--role", "ops"),
            *("--name", "Neu\x85Name", "--no-require-totp"),
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=cli_env,
    )

    assert result.exit_code == 1
    assert "name: Enthält Zeilenumbrüche oder unzulässige Steuerzeichen." in result.stderr
    assert _count(runtime, User) == 0
