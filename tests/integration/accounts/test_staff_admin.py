"""Mitarbeiter: an admin creates, changes, disables and resets staff through the pages; each
change lands in the audit log, and the last admin cannot lock themselves out."""

from __future__ import annotations

import re

import pyotp

from accounts import credentials, users
from accounts.models import AuditEntry, User
from tests.integration.accounts.factories import (
    PASSWORD,
    attempt_sign_in,
    csrf_token,
    make_staff,
    sign_in,
)

STAFF = "/verwaltung/mitarbeiter"


def _admin(app, runtime):
    admin = make_staff(runtime, "admin")
    client = app.test_client()
    sign_in(client, admin.email)
    return admin, client


def _post(client, path: str, form_page: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, form_page), **data})


def _user(runtime, user_id: int) -> User:
    with runtime.db.session() as session:
        return session.get_one(User, user_id)


def _audit(runtime, user_id: int) -> list[tuple[str, str]]:
    with runtime.db.session() as session:
        return [
            (entry.actor, entry.action)
            for entry in session.query(AuditEntry)
            .filter(AuditEntry.account_id.is_(None), AuditEntry.subject_id == user_id)
            .order_by(AuditEntry.id)
        ]


def test_an_admin_creates_an_agent_who_then_signs_in_and_works_the_queue(app, runtime):
    admin, client = _admin(app, runtime)

    created = _post(
        client,
        f"{STAFF}/neu",
        f"{STAFF}/neu",
        email="neu.agent@support.example.com",
        name="Nele Neu",
        password=PASSWORD,
        roles=["agent"],
        queues=["accounting"],
    )
    agent = app.test_client()
    sign_in(agent, "neu.agent@support.example.com")

    assert created.status_code == 303
    assert agent.get("/konsole?queue=accounting").status_code == 200
    listing = client.get(STAFF).get_data(as_text=True)
    row = next(row for row in listing.split("<tr>") if ">neu.agent@support.example.com<" in row)
    assert "Agent" in row and "Buchhaltung" in row and "noch nie" not in row
    user_id = int(re.search(r"/verwaltung/mitarbeiter/(\d+)", created.headers["Location"])[1])
    assert _audit(runtime, user_id) == [(admin.email, "staff.created")]


def test_creating_staff_with_an_unknown_queue_names_the_field(app, runtime):
    _admin_user, client = _admin(app, runtime)

    response = _post(
        client,
        f"{STAFF}/neu",
        f"{STAFF}/neu",
        email="x@support.example.com",
        password=PASSWORD,
        roles=["agent"],
        queues=["nirgendwo"],
    )

    assert response.status_code == 422
    assert users.user_by_email(runtime, "x@support.example.com") is None


def test_changing_roles_and_queues_is_audited_with_before_and_after(app, runtime):
    admin, client = _admin(app, runtime)
    agent = make_staff(runtime, "agent", queues=("accounting",))
    page = f"{STAFF}/{agent.id}"

    response = _post(client, page, page, name="Ava", roles=["supervisor"], queues=["support"])

    assert response.status_code == 303
    changed = _user(runtime, agent.id)
    assert (changed.name, changed.roles, changed.queues) == ("Ava", ["supervisor"], ["support"])
    with runtime.db.session() as session:
        entry = session.query(AuditEntry).filter(AuditEntry.subject_id == agent.id).one()
        assert (entry.actor, entry.before["roles"], entry.after["roles"]) == (
            admin.email,
            ["agent"],
            ["supervisor"],
        )
    assert "Name, Rollen oder Queues geändert" in client.get(page).get_data(as_text=True)


def test_a_disabled_agent_is_signed_out_and_cannot_sign_in_until_enabled(app, runtime):
    _admin_user, client = _admin(app, runtime)
    agent = make_staff(runtime, "agent", queues=("accounting",))
    agent_client = app.test_client()
    sign_in(agent_client, agent.email)
    page = f"{STAFF}/{agent.id}"

    _post(client, f"{page}/deaktivieren", page)
    signed_out = agent_client.get("/konsole").status_code
    refused = attempt_sign_in(agent_client, agent.email)
    _post(client, f"{page}/aktivieren", page)
    sign_in(agent_client, agent.email)

    assert signed_out != 200
    assert refused.headers.get("Location") != "/"
    assert agent_client.get("/konsole").status_code == 200
    assert [action for _, action in _audit(runtime, agent.id)] == [
        "staff.disabled",
        "staff.enabled",
    ]


def test_resetting_the_second_factor_makes_the_person_set_it_up_again(app, runtime):
    _admin_user, client = _admin(app, runtime)
    agent = make_staff(runtime, "agent", require_totp=True)
    secret = credentials.new_totp_secret()
    users.enable_totp(runtime, agent.id, secret, pyotp.TOTP(secret).now())
    page = f"{STAFF}/{agent.id}"

    _post(client, f"{page}/zwei-faktor-zuruecksetzen", page)

    reset = _user(runtime, agent.id)
    assert (reset.totp_enabled, reset.recovery_code_hashes) == (False, [])
    agent_client = app.test_client()
    signed_in = attempt_sign_in(agent_client, agent.email)
    assert signed_in.headers["Location"].endswith("/anmelden/zwei-faktor-einrichten")
    assert agent_client.get("/konsole").status_code != 200


def test_ending_sessions_signs_the_person_out_everywhere(app, runtime):
    _admin_user, client = _admin(app, runtime)
    agent = make_staff(runtime, "agent")
    agent_client = app.test_client()
    sign_in(agent_client, agent.email)
    page = f"{STAFF}/{agent.id}"

    _post(client, f"{page}/abmelden", page)

    assert agent_client.get("/konto/sicherheit").status_code != 200
    assert _audit(runtime, agent.id)[-1][1] == "staff.sessions_ended"


def test_the_last_admin_can_neither_drop_the_role_nor_disable_themselves(app, runtime):
    admin, client = _admin(app, runtime)
    page = f"{STAFF}/{admin.id}"

    demoted = _post(client, page, page, name="", roles=["agent"], queues=[])
    _post(client, f"{page}/deaktivieren", page)

    assert demoted.status_code == 422
    assert "Mindestens ein aktiver Administrator muss bleiben." in demoted.get_data(as_text=True)
    still = _user(runtime, admin.id)
    assert (still.roles, still.active) == (["admin"], True)
    assert _audit(runtime, admin.id) == []


def test_with_a_second_admin_an_admin_may_step_down(app, runtime):
    admin, client = _admin(app, runtime)
    make_staff(runtime, "admin")
    page = f"{STAFF}/{admin.id}"

    response = _post(client, page, page, name="", roles=["supervisor"], queues=[])

    assert response.status_code == 303
    assert _user(runtime, admin.id).roles == ["supervisor"]


def test_staff_pages_are_for_admins_only(app, runtime):
    supervisor = make_staff(runtime, "supervisor")
    client = app.test_client()
    sign_in(client, supervisor.email)

    assert client.get(STAFF).status_code == 403
    assert client.get(f"{STAFF}/neu").status_code == 403
