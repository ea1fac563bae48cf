"""Every route, every role: the declared rule decides, and customers stay in their account."""

from __future__ import annotations

import pytest

from helpdesk.security import ACCESS_ATTRIBUTE
from tests.integration.accounts.factories import (
    make_account,
    make_contact,
    make_customer,
    make_staff,
    sign_in,
    token_for,
)

OWN_BLUEPRINTS = (
    "signin.",
    "account.",
    "security.",
    "staff_accounts.",
    "staff_admin.",
    "accounts_api.",
)
ROLES = ("anonymous", "owner", "tickets_only", "agent", "supervisor", "ops", "admin")


@pytest.fixture
def world(runtime):
    own = make_account(runtime)
    other = make_account(runtime, company="Andere AG")
    people = {
        "owner": make_customer(runtime, own, owner=True),
        "tickets_only": make_customer(runtime, own, permissions=("customer.tickets",)),
        "agent": make_staff(runtime, "agent", queues=("support",)),
        "supervisor": make_staff(runtime, "supervisor"),
        "ops": make_staff(runtime, "ops"),
        "admin": make_staff(runtime, "admin"),
    }
    return {
        "own": own,
        "other": other,
        "people": people,
        "contact": make_contact(runtime, own),
        "other_contact": make_contact(runtime, other),
    }


def _values(world) -> dict[str, str]:
    return {
        "customer_number": world["own"].customer_number,
        "contact_id": str(world["contact"].id),
        "purpose": "emergency",
        "user_id": str(world["people"]["tickets_only"].id),
        "invitation_id": "1",
        "token_id": "1",
        "token": "no-such-invitation",
        "filename": "site.css",
    }


def _routes(app, world):
    values = _values(world)
    # Signing out last: it ends the session the other requests of the walk ride on.
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint == "signin.sign_out")
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        access = getattr(view, ACCESS_ATTRIBUTE)
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", values.get(name, "1"))
            path = path.replace(f"<path:{name}>", values.get(name, "x"))
            path = path.replace(f"<{name}>", values.get(name, "x"))
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        yield rule.endpoint, method, path, access.permissions


def _principal_client(app, runtime, world, role, api: bool):
    client = app.test_client()
    if role == "anonymous":
        return client, {}
    user = world["people"][role]
    if api:
        scopes = (
            user.permissions
            if user.kind == "customer" and not user.owner
            else (
                (
                    "customer.tickets",
                    "customer.contacts",
                    "customer.email_history",
                    "customer.users",
                )
                if user.kind == "customer"
                else tuple(user.roles)
            )
        )
        return client, {"Authorization": f"Bearer {token_for(runtime, user, *scopes)}"}
    sign_in(client, user.email)
    return client, {}


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_its_rule_says(app, runtime, world, role):
    from accounts.users import granted_permissions

    user = world["people"].get(role)
    held = granted_permissions(user) | {"session", "token"} if user is not None else frozenset()
    wrong = []
    for api in (False, True):
        app.config["WTF_CSRF_ENABLED"] = True
        client, headers = _principal_client(app, runtime, world, role, api)
        app.config["WTF_CSRF_ENABLED"] = False  # the walk checks access; CSRF has its own test
        for endpoint, method, path, needed in _routes(app, world):
            if path.startswith("/api/") != api:
                continue
            response = client.open(path, method=method, headers=headers, json={} if api else None)
            allowed = all(p in held for p in needed)
            if needed and role == "anonymous":
                expected = {401} if api else {302}
            elif not allowed:
                expected = {403}
            else:
                expected = None
            if expected is not None and response.status_code not in expected:
                wrong.append((endpoint, method, path, response.status_code, expected))
            # Other domains may refuse one object (a ticket outside the agent's queues) or report
            # ill health (/healthz 503); for them the walk checks only that access was granted.
            # The accounts routes get real objects, so a refusal or a 5xx there is a defect.
            own = endpoint.startswith(OWN_BLUEPRINTS)
            failed = response.status_code in (401, 403) or response.status_code >= 500
            if expected is None and (failed if own else response.status_code == 401):
                wrong.append((endpoint, method, path, response.status_code, "allowed"))
    assert wrong == []


def test_a_customer_never_sees_another_account(app, runtime, world):
    client = app.test_client()
    sign_in(client, world["people"]["owner"].email)
    other = world["other"]

    assert client.get(f"/konto/ansprechpartner/{world['other_contact'].id}").status_code == 404
    token = token_for(runtime, world["people"]["owner"], "customer.contacts")
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.get(f"/api/v1/accounts/{other.customer_number}", headers=headers).status_code == 403
    )
    assert client.get("/api/v1/accounts/99999999", headers=headers).status_code == 403
    assert (
        client.get(f"/api/v1/accounts/{world['own'].customer_number}", headers=headers).status_code
        == 200
    )


def test_agents_see_accounts_and_ops_do_not(app, runtime, world):
    number = world["other"].customer_number
    for role, status in (("agent", 200), ("supervisor", 200), ("admin", 200), ("ops", 403)):
        client = app.test_client()
        sign_in(client, world["people"][role].email)
        assert client.get(f"/verwaltung/konten/{number}").status_code == status, role


def test_cookies_are_not_trusted_by_the_api(app, world):
    client = app.test_client()
    sign_in(client, world["people"]["owner"].email)

    assert client.get(f"/api/v1/accounts/{world['own'].customer_number}").status_code == 401


@pytest.mark.parametrize("role", ROLES[1:])
def test_no_token_of_any_role_opens_a_page(app, runtime, world, role):
    client, headers = _principal_client(app, runtime, world, role, api=True)
    app.config["WTF_CSRF_ENABLED"] = False  # so that only the credential can refuse a POST
    opened = []
    for endpoint, method, path, needed in _routes(app, world):
        if path.startswith("/api/") or not needed:
            continue
        response = client.open(path, method=method, headers=headers)
        if response.status_code != 302 or not response.location.endswith("/anmelden"):
            opened.append((endpoint, method, path, response.status_code))
    assert opened == []
    # The API door still opens for the same token: the walk above was refused for its door.
    assert client.get("/api/v1/tickets", headers=headers).status_code in (200, 403)
