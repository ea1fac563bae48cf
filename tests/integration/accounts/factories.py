"""Small factories for accounts, people and users (through the services, like real callers)."""

from __future__ import annotations

import itertools
import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from accounts import people, services, tokens, users
from accounts.models import CUSTOMER_PERMISSIONS, Account
from helpdesk.runtime import Runtime

PASSWORD = "Richtig-Langes-Passwort-1"
_numbers = itertools.count(50001)


def make_account(
    runtime: Runtime,
    *,
    edition: str = "pro",
    company: str = "Beispiel GmbH",
    first_contact: str | None = "info@beispiel.example",
) -> Account:
    with runtime.db.session() as session:
        account = Account(customer_number=str(next(_numbers)), company=company, edition=edition)
        session.add(account)
    if first_contact:
        services.change_first_contact(runtime, account.id, first_contact, "factory")
    return services.get_account(runtime, account.id)


def make_customer(
    runtime: Runtime,
    account: Account,
    *,
    email: str | None = None,
    permissions: tuple[str, ...] = CUSTOMER_PERMISSIONS,
    owner: bool = False,
):
    return users.create_customer_user(
        runtime,
        account_id=account.id,
        email=email or f"u{next(_numbers)}@kunde.example",
        password=PASSWORD,
        permissions=permissions,
        owner=owner,
    )


def make_staff(
    runtime: Runtime,
    *roles: str,
    queues: tuple[str, ...] = (),
    email: str | None = None,
    require_totp: bool = False,
):
    return users.create_staff_user(
        runtime,
        email=email or f"s{next(_numbers)}@support.example.com",
        password=PASSWORD,
        roles=roles,
        queues=queues,
        require_totp=require_totp,
    )


def make_contact(runtime: Runtime, account: Account, **fields: Any):
    data = {
        "first_name": "Eva",
        "last_name": "Beispiel",
        "email": f"c{next(_numbers)}@kunde.example",
    } | fields
    return people.create_contact(runtime, account.id, people.parse_contact(data), "factory")


def token_for(runtime: Runtime, user, *scopes: str) -> str:
    return tokens.issue(runtime, user.id, "test", scopes)[1]


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def attempt_sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    """Post the sign-in form once; the caller asserts what the answer should be."""
    return client.post(
        "/anmelden",
        data={"csrf_token": csrf_token(client, "/anmelden"), "email": email, "password": password},
    )


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    """Sign ``client`` in and assert that it worked: the session now leads past the sign-in."""
    response = attempt_sign_in(client, email, password)
    assert (response.status_code, response.headers.get("Location")) == (302, "/"), (
        f"sign-in of {email} failed with {response.status_code}"
    )
    start = client.get("/")
    assert start.status_code == 302 and not start.headers["Location"].startswith("/anmelden"), (
        f"{email} is not signed in"
    )
