"""Mitarbeiter einladen: an admin invites by e-mail; the signed mail really leaves through the
outbox; its link works once, expires, can be resent (the old one dies) or revoked; each step is
in the audit log."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

import pyotp
from sqlalchemy import select, update

from accounts.models import AuditEntry, Invitation, User
from helpdesk.db import utcnow
from helpdesk.security import token_digest
from notifications.outbox.models import OutboundMessage
from tests.dkimcheck import verify_all_signatures
from tests.integration.accounts.factories import (
    PASSWORD,
    csrf_token,
    make_account,
    make_customer,
    make_staff,
    sign_in,
)

STAFF = "/verwaltung/mitarbeiter"
INVITE = f"{STAFF}/einladen"


def _admin(app, runtime):
    admin = make_staff(runtime, "admin", email="chefin@support.example.com")
    client = app.test_client()
    sign_in(client, admin.email)
    return admin, client


def _invite(client, **fields):
    data = {
        "email": "nora@support.example.com",
        "name": "Nora Neu",
        "roles": ["agent"],
        "queues": ["accounting"],
    } | fields
    return client.post(INVITE, data={"csrf_token": csrf_token(client, INVITE), **data})


def _link(mail) -> str:
    message = message_from_bytes(mail.data, policy=policy.SMTP)
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://127\.0\.0\.1:8000(/einladung/\S+)", text).group(1)


def _accept(app, link: str, name: str = "Nora Neu"):
    newcomer = app.test_client()
    form = {
        "csrf_token": csrf_token(newcomer, link),
        "name": name,
        "password": PASSWORD,
        "password_repeat": PASSWORD,
    }
    return newcomer, newcomer.post(link, data=form)


def _post_action(client, path: str):
    return client.post(path, data={"csrf_token": csrf_token(client, STAFF)})


def _invitation(runtime) -> Invitation:
    with runtime.db.session() as session:
        return session.scalars(select(Invitation).where(Invitation.kind == "staff")).one()


def _actions(runtime) -> list[tuple[str, str]]:
    with runtime.db.session() as session:
        return [
            (entry.actor, entry.action)
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.account_id.is_(None)).order_by(AuditEntry.id)
            )
        ]


def test_an_invited_agent_sets_a_password_through_the_signed_mail_and_works_the_queue(
    app, runtime, work, smtp_sink, settings
):
    admin, client = _admin(app, runtime)

    invited = _invite(client)
    listing = client.get(STAFF).get_data(as_text=True)
    work("mail")
    [mail] = smtp_sink.wait_for(1)
    message = message_from_bytes(mail.data, policy=policy.SMTP)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = _link(mail)
    form_page = app.test_client().get(link).get_data(as_text=True)
    agent, accepted = _accept(app, link)

    assert invited.status_code == 303
    assert "nora@support.example.com" in listing.split('id="staff-invitations"')[1]
    assert mail.rcpt_tos == ("nora@support.example.com",)
    assert message["Subject"] == "Einladung in den Helpdesk"
    assert "Ihre Rollen: Agent" in text and "Ihre Queues: Buchhaltung" in text
    assert "accounting" not in text and "Buchhaltung" in html
    assert verify_all_signatures(mail.data, settings) == [b"ed25519-sha256", b"rsa-sha256"]
    assert 'value="Nora Neu"' in form_page
    assert accepted.status_code == 302
    assert agent.get("/konsole?queue=accounting").status_code == 200
    assert app.test_client().get(link).status_code == 404
    with runtime.db.session() as session:
        user = session.scalars(select(User).where(User.email == "nora@support.example.com")).one()
        outbound = session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "invitation")
        ).one()
        stored = session.scalars(select(Invitation.token_digest)).one()
        assert (user.kind, user.roles, user.queues) == ("staff", ["agent"], ["accounting"])
        assert outbound.state == "sent" and outbound.raw == mail.data
    token = link.rsplit("/", 1)[1]
    assert stored == token_digest(token, settings.secret_key) and token not in stored
    assert _actions(runtime) == [
        (admin.email, "staff.invited"),
        ("nora@support.example.com", "staff.joined"),
    ]
    member_page = client.get(f"{STAFF}/{user.id}").get_data(as_text=True)
    assert "Einladung angenommen" in member_page
    assert (
        "nora@support.example.com"
        not in client.get(STAFF).get_data(as_text=True).split('id="staff-invitations"')[1]
    )


def test_an_invitation_that_requires_a_second_factor_leads_to_its_set_up(
    app, runtime, work, smtp_sink
):
    _admin_user, client = _admin(app, runtime)

    _invite(client, require_totp="y")
    work("mail")
    [mail] = smtp_sink.wait_for(1)
    text = message_from_bytes(mail.data, policy=policy.SMTP).get_body(("plain",)).get_content()
    agent, accepted = _accept(app, _link(mail))

    before_set_up = agent.get("/konsole?queue=accounting").status_code
    enrol = agent.get("/anmelden/zwei-faktor-einrichten").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enrol).group(1)
    set_up = agent.post(
        "/anmelden/zwei-faktor-einrichten",
        data={
            "csrf_token": csrf_token(agent, "/anmelden/zwei-faktor-einrichten"),
            "code": pyotp.TOTP(secret).now(),
        },
    )

    assert "Zwei-Faktor-Anmeldung" in text
    assert accepted.status_code == 302
    assert accepted.headers["Location"] == "/anmelden/zwei-faktor-einrichten"
    assert before_set_up != 200
    assert set_up.status_code == 200 and "Wiederherstellungscodes" in set_up.get_data(as_text=True)
    assert agent.get("/konsole?queue=accounting").status_code == 200


def test_resending_mails_a_new_link_and_the_old_one_stops_working(app, runtime, work, smtp_sink):
    admin, client = _admin(app, runtime)
    _invite(client)
    work("mail")
    first = _link(smtp_sink.wait_for(1)[0])
    invitation = _invitation(runtime)

    resent = _post_action(client, f"{STAFF}/einladungen/{invitation.id}/erneut-senden")
    work("mail")
    second = _link(smtp_sink.wait_for(2)[1])

    assert resent.status_code == 303
    assert first != second
    assert app.test_client().get(first).status_code == 404
    assert _accept(app, second)[1].status_code == 302
    assert (admin.email, "staff.invitation_resent") in _actions(runtime)


def test_a_revoked_invitation_leaves_the_list_and_its_link_is_refused(
    app, runtime, work, smtp_sink
):
    admin, client = _admin(app, runtime)
    _invite(client)
    work("mail")
    link = _link(smtp_sink.wait_for(1)[0])
    invitation = _invitation(runtime)

    revoked = _post_action(client, f"{STAFF}/einladungen/{invitation.id}/widerrufen")
    listing = client.get(STAFF).get_data(as_text=True).split('id="staff-invitations"')[1]

    assert revoked.status_code == 303
    assert "nora@support.example.com" not in listing and "Keine offenen Einladungen." in listing
    assert app.test_client().get(link).status_code == 404
    assert (admin.email, "staff.invitation_revoked") in _actions(runtime)
    again = _post_action(client, f"{STAFF}/einladungen/{invitation.id}/erneut-senden")
    assert again.status_code == 404


def test_an_expired_invitation_is_marked_and_refused_until_it_is_resent(
    app, runtime, work, smtp_sink
):
    _admin_user, client = _admin(app, runtime)
    _invite(client)
    work("mail")
    link = _link(smtp_sink.wait_for(1)[0])
    with runtime.db.session() as session:
        session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
    invitation = _invitation(runtime)

    listing = client.get(STAFF).get_data(as_text=True).split('id="staff-invitations"')[1]
    refused = app.test_client().get(link)
    _post_action(client, f"{STAFF}/einladungen/{invitation.id}/erneut-senden")
    work("mail")
    fresh = _link(smtp_sink.wait_for(2)[1])

    assert "abgelaufen" in listing
    assert refused.status_code == 404
    assert "die Sie eingeladen hat, um eine neue Einladung" in refused.get_data(as_text=True)
    assert _accept(app, fresh)[1].status_code == 302


def test_inviting_a_known_address_or_twice_or_without_a_role_names_the_field(app, runtime):
    _admin_user, client = _admin(app, runtime)
    make_staff(runtime, "agent", email="schon.da@support.example.com")
    customer = make_customer(runtime, make_account(runtime), owner=True)

    known = _invite(client, email="schon.da@support.example.com")
    as_customer = _invite(client, email=customer.email)
    first = _invite(client)
    twice = _invite(client)
    no_role = _invite(client, email="ohne.rolle@support.example.com", roles=[])
    unknown_queue = _invite(client, email="q@support.example.com", queues=["nirgendwo"])

    assert [r.status_code for r in (known, as_customer, first, twice, no_role, unknown_queue)] == [
        422,
        422,
        303,
        422,
        422,
        422,
    ]
    assert "gibt es bereits einen Benutzer" in known.get_data(as_text=True)
    assert "bereits eine Einladung unterwegs" in twice.get_data(as_text=True)
    assert "mindestens eine Rolle" in no_role.get_data(as_text=True)
    assert "Unbekannte Queue: nirgendwo" in unknown_queue.get_data(as_text=True)


def test_inviting_resending_and_revoking_are_for_admins_only(app, runtime):
    _admin_user, admin_client = _admin(app, runtime)
    _invite(admin_client)
    invitation = _invitation(runtime)
    supervisor = make_staff(runtime, "supervisor")
    client = app.test_client()
    sign_in(client, supervisor.email)
    token = csrf_token(client, "/konsole")

    assert client.get(INVITE).status_code == 403
    for action in ("erneut-senden", "widerrufen"):
        path = f"{STAFF}/einladungen/{invitation.id}/{action}"
        assert client.post(path, data={"csrf_token": token}).status_code == 403
    assert _invitation(runtime).revoked_at is None


def test_a_customer_invitation_cannot_be_revoked_as_a_staff_invitation(app, runtime):
    from accounts import invitations

    account = make_account(runtime)
    owner = make_customer(runtime, account, owner=True)
    customer_invitation = invitations.invite(
        runtime,
        account_id=account.id,
        email="kunde.neu@kunde.example",
        permissions=["customer.tickets"],
        inviter=owner,
    )
    _admin_user, client = _admin(app, runtime)

    response = _post_action(client, f"{STAFF}/einladungen/{customer_invitation.id}/widerrufen")

    assert response.status_code == 404
