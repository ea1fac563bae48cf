"""The bounce repair loop: a hard bounce is shown, repaired in the portal and re-sent once."""

from __future__ import annotations

from email import message_from_bytes

from click.testing import CliRunner

from helpdesk.cli import main
from notifications.mailings import bounces, repair
from notifications.mailings import services as mailing_services
from tests.integration.accounts.factories import (
    csrf_token,
    make_contact,
    make_customer,
    make_staff,
    sign_in,
    token_for,
)
from tests.integration.accounts.factories import make_account as make_customer_account
from tests.integration.notifications.factories import make_account, make_mailing


def _bounce(runtime, mail, status="5.1.1") -> None:
    with runtime.db.session() as session:
        assert bounces.record_bounce(
            session,
            message_id=message_from_bytes(mail.data)["Message-ID"],
            status=status,
            diagnostic="user unknown",
        )


def _sent_to(smtp_sink, address):
    return [m for m in smtp_sink.received if address in m.rcpt_tos]


def test_customer_repairs_a_bounced_contact_and_nachsenden_reaches_only_that_address(
    app, runtime, work, smtp_sink
):
    account = make_customer_account(runtime, first_contact="info@reparatur.example")
    owner = make_customer(runtime, account, owner=True)
    contact = make_contact(
        runtime, account, email="tippfehler@reparatur.example", receives_critical=True
    )
    make_account(runtime, first_contact="info@andere.example")
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()
    [bounced] = _sent_to(smtp_sink, "tippfehler@reparatur.example")
    _bounce(runtime, bounced)
    repair.notice_bounces(runtime)
    work()
    [notice] = _sent_to(smtp_sink, "info@reparatur.example")[1:]
    assert "tippfehler@reparatur.example" in message_from_bytes(notice.data).get_payload()[
        0
    ].get_payload(decode=True).decode("utf-8")

    client = app.test_client()
    sign_in(client, owner.email)
    overview = client.get("/konto").get_data(as_text=True)
    assert "Die Adresse tippfehler@reparatur.example hat unser Pflichtmailing vom" in overview
    assert f"/konto/ansprechpartner/{contact.id}" in overview
    edited = client.post(
        f"/konto/ansprechpartner/{contact.id}",
        data={
            "csrf_token": csrf_token(client, f"/konto/ansprechpartner/{contact.id}"),
            "salutation": "Frau",
            "first_name": "Eva",
            "last_name": "Beispiel",
            "email": "richtig@reparatur.example",
            "receives_critical": "y",
        },
    )
    assert edited.status_code == 302
    assert "nicht angenommen" not in client.get("/konto").get_data(as_text=True)

    ops = app.test_client()
    sign_in(ops, make_staff(runtime, "ops").email)
    listed = ops.get(f"/ops/mailings/{mailing_id}/unzustellbar").get_data(as_text=True)
    assert "tippfehler@reparatur.example" in listed and "<td>ja</td>" in listed
    before = len(smtp_sink.received)
    token = csrf_token(ops, f"/ops/mailings/{mailing_id}/unzustellbar")
    ops.post(f"/ops/mailings/{mailing_id}/resend", data={"csrf_token": token})
    ops.post(f"/ops/mailings/{mailing_id}/resend", data={"csrf_token": token})
    work()

    resent = smtp_sink.received[before:]
    assert [m.rcpt_tos for m in resent] == [("richtig@reparatur.example",)]
    message = message_from_bytes(resent[0].data)
    original_id = message_from_bytes(bounced.data)["Message-ID"]
    assert message["In-Reply-To"] == original_id
    assert original_id in message["References"]
    [entry] = repair.mailing_bounces(runtime, mailing_id)
    assert entry.resent_to == ("richtig@reparatur.example",)
    assert mailing_services.get_mailing(runtime, mailing_id).state == "done"


def test_an_address_that_bounced_twice_is_marked_and_the_owner_told_once(
    app, runtime, work, smtp_sink
):
    account = make_customer_account(runtime, first_contact="info@zweimal.example")
    owner = make_customer(runtime, account, owner=True, email="chefin@zweimal.example")
    make_contact(runtime, account, email="kaputt@zweimal.example", receives_critical=True)
    for subject in ("Erstes Pflichtmailing", "Zweites Pflichtmailing"):
        mailing_services.start_sending(
            runtime, make_mailing(runtime, subject=subject), "ops-a@example.com"
        )
        work()
        _bounce(runtime, _sent_to(smtp_sink, "kaputt@zweimal.example")[-1])
        repair.notice_bounces(runtime)
        work()

    told = _sent_to(smtp_sink, "chefin@zweimal.example")
    assert len(told) == 1
    assert "mehrfach unzustellbar" in str(message_from_bytes(told[0].data)["Subject"])
    client = app.test_client()
    sign_in(client, owner.email)
    contacts = client.get("/konto/ansprechpartner").get_data(as_text=True)
    assert 'kaputt@zweimal.example <span class="badge danger">unzustellbar</span>' in contacts


def test_a_soft_bounce_is_not_shown_for_repair(app, runtime, work, smtp_sink):
    account = make_customer_account(runtime, first_contact="info@voll.example")
    owner = make_customer(runtime, account, owner=True)
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()
    _bounce(runtime, _sent_to(smtp_sink, "info@voll.example")[0], status="4.2.2")

    client = app.test_client()
    sign_in(client, owner.email)

    assert "nicht angenommen" not in client.get("/konto").get_data(as_text=True)
    assert repair.mailing_bounces(runtime, mailing_id) == []


def test_cli_resend_refuses_a_draft(runtime, cli_env):
    mailing_id = make_mailing(runtime)

    result = CliRunner(env=cli_env).invoke(main, ["mailings", "resend", str(mailing_id)])

    assert result.exit_code == 1
    assert "Nachsenden geht nur" in result.output


def test_portal_lists_the_mandatory_mailings_the_account_received_and_where(
    app, runtime, work, smtp_sink
):
    account = make_customer_account(runtime, first_contact="info@liste.example")
    owner = make_customer(runtime, account, owner=True)
    make_contact(runtime, account, email="technik@liste.example", receives_critical=True)
    mailing_services.start_sending(
        runtime, make_mailing(runtime, subject="Wartungsfenster 4. Mai"), "ops-a@example.com"
    )
    work()
    client = app.test_client()
    sign_in(client, owner.email)

    page = client.get("/konto/pflichtmailings").get_data(as_text=True)

    assert "Wartungsfenster 4. Mai" in page
    assert "info@liste.example: zugestellt" in page
    assert "technik@liste.example: zugestellt" in page


def test_api_resend_is_404_for_an_unknown_mailing_and_409_for_a_draft(client, runtime):
    mailing_id = make_mailing(runtime)
    ops = make_staff(runtime, "ops")
    headers = {"Authorization": f"Bearer {token_for(runtime, ops, 'ops')}"}

    unknown = client.post(f"/api/v1/mailings/{mailing_id + 1}/resend", headers=headers)
    draft = client.post(f"/api/v1/mailings/{mailing_id}/resend", headers=headers)

    assert unknown.status_code == 404
    assert draft.status_code == 409 and "Nachsenden" in draft.get_json()["detail"]
