"""Benachrichtigungen: agents choose on their console page which mails they want; a ticket
landing in their queue, a customer's answer (by mail or in the portal) and SLA warnings reach
them through the outbox and the worker, signed, once, and only as chosen."""

from __future__ import annotations

import re
import threading

from sqlalchemy import select

from accounts.models import AuditEntry
from notifications.outbox import services as outbox
from notifications.outbox.models import OutboundMessage
from tests.corpus import load
from tests.dkimcheck import verify_all_signatures
from tests.integration.accounts.factories import (
    csrf_token,
    make_account,
    make_customer,
    make_staff,
    sign_in,
)
from tests.integration.inbound.conftest import serve_lmtp
from tests.integration.sla.helpers import WAWI, mails_to, steps, ticket
from tests.integration.tickets.factories import make_ticket
from tickets.models import Ticket
from tickets.sla.timers import reconcile

SETTINGS = "/konsole/benachrichtigungen"
ACCOUNTING = "buchhaltung@jtl-software.de"
SUPPORT = "support@support.example.com"


def _choose(app, agent, *alerts: str):
    client = app.test_client()
    sign_in(client, agent.email)
    data = {"csrf_token": csrf_token(client, SETTINGS), **{alert: "y" for alert in alerts}}
    return client, client.post(SETTINGS, data=data)


def _checked(page: str) -> set[str]:
    return set(re.findall(r'<input checked id="(\w+)"', page))


def _alerts(runtime) -> list[OutboundMessage]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.kind == "agent_alert")
                .order_by(OutboundMessage.id)
            )
        )


def _assign(runtime, ticket_id: int, user_id: int) -> None:
    with runtime.db.session() as session:
        session.get_one(Ticket, ticket_id).assignee_id = user_id


def test_the_settings_page_shows_and_stores_the_choice_with_an_audit_entry(app, runtime):
    agent = make_staff(runtime, "agent", queues=("accounting",))

    client = app.test_client()
    sign_in(client, agent.email)
    before = client.get(SETTINGS).get_data(as_text=True)
    _client, saved = _choose(app, agent, "new_ticket")
    after = client.get(SETTINGS).get_data(as_text=True)

    assert "Ein neues Ticket landet in einer meiner Queues" in before
    assert _checked(before) == {"sla_warning"}
    assert saved.status_code == 303
    assert _checked(after) == {"new_ticket"}
    with runtime.db.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "staff.notifications_changed")
        ).one()
        assert (entry.subject_id, entry.before, entry.after) == (
            agent.id,
            {"alerts": ["sla_warning"]},
            {"alerts": ["new_ticket"]},
        )


def test_the_settings_page_is_for_agents(app, runtime):
    ops = make_staff(runtime, "ops")
    client = app.test_client()
    sign_in(client, ops.email)

    assert client.get(SETTINGS).status_code == 403
    assert app.test_client().get(SETTINGS).status_code == 302


def test_agents_who_chose_it_get_a_signed_mail_when_a_mail_ticket_lands_in_their_queue(
    app, runtime, settings, work, smtp_sink
):
    chooser = make_staff(runtime, "agent", queues=("accounting",))
    quiet = make_staff(runtime, "agent", queues=("accounting",))
    elsewhere = make_staff(runtime, "agent", queues=("triage",))
    disabled = make_staff(runtime, "agent", queues=("accounting",))
    for agent in (chooser, elsewhere, disabled):
        _choose(app, agent, "new_ticket")
    with runtime.db.session() as session:
        session.get_one(type(disabled), disabled.id).active = False

    server = serve_lmtp(settings)
    lmtp = next(server)
    try:
        replies, _ = lmtp.send(load("death_certificate_to_accounting.eml"), [ACCOUNTING])
    finally:
        next(server, None)
    work()
    received = smtp_sink.wait_for(2)

    assert replies[0][1].startswith("2.0.0 created HD-000001: new ticket in queue accounting")
    [alert] = mails_to(received, chooser.email)
    assert mails_to(received, quiet.email) == mails_to(received, elsewhere.email) == []
    assert mails_to(received, disabled.email) == []
    assert alert["Subject"].startswith("[HD-000001] Neues Ticket in Ihrer Queue: ")
    text = alert.get_body(("plain",)).get_content()
    assert "Queue:     Buchhaltung" in text and "accounting" not in text
    assert "http://127.0.0.1:8000/konsole/tickets/HD-000001" in text
    assert "„Ein neues Ticket landet in einer meiner Queues“" in text
    raw = next(mail.data for mail in received if chooser.email in mail.rcpt_tos)
    assert verify_all_signatures(raw, settings) == [b"ed25519-sha256", b"rsa-sha256"]
    [row] = _alerts(runtime)
    assert (row.state, row.recipient, row.raw) == ("sent", chooser.email, raw)


def test_a_ticket_filed_on_the_web_tells_the_agents_of_its_queue(app, runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime, **WAWI)
    queue = ticket(runtime, ticket_id).queue
    agent = make_staff(runtime, "agent", queues=(queue,))
    _choose(app, agent, "new_ticket")

    second = make_ticket(runtime, **WAWI)
    work()

    [alert] = mails_to(smtp_sink.wait_for(3), agent.email)
    number = ticket(runtime, second).number
    assert alert["Subject"] == f"[{number}] Neues Ticket in Ihrer Queue: {WAWI['subject']}"


def test_a_customer_answer_by_mail_tells_the_assignee_once_despite_retries_and_two_workers(
    app, runtime, settings, work, smtp_sink
):
    assignee = make_staff(runtime, "agent", queues=("triage",))
    colleague = make_staff(runtime, "agent", queues=("triage",))
    for agent in (assignee, colleague):
        _choose(app, agent, "customer_reply")
    server = serve_lmtp(settings)
    lmtp = next(server)
    try:
        lmtp.send(load("outlook_new_request_de.eml"), [SUPPORT])
        _assign(runtime, 1, assignee.id)
        first, _ = lmtp.send(load("outlook_reply_aw_de.eml"), [SUPPORT])
        again, _ = lmtp.send(load("outlook_reply_aw_de.eml"), [SUPPORT])
    finally:
        next(server, None)
    [row] = _alerts(runtime)
    # Two workers at once, then a retry of the job: the outbox claim lets one of them send.
    results: list[str] = []
    racers = [
        threading.Thread(target=lambda: results.append(outbox.deliver(runtime, row.id)))
        for _ in range(2)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    outbox.enqueue_delivery(runtime, [row.id])
    work()
    received = smtp_sink.wait_for(2)

    assert first[0][1].startswith("2.0.0 appended HD-000001")
    assert again[0][1].startswith("2.0.0 ignored HD-000001: duplicate")
    assert "sent" in results
    [alert] = mails_to(received, assignee.email)
    assert mails_to(received, colleague.email) == []
    assert alert["Subject"].startswith("[HD-000001] Der Kunde hat geantwortet: ")
    assert "Von:       J.Mueller@mueller-handel.example" in alert.get_body(("plain",)).get_content()
    assert [r.state for r in _alerts(runtime)] == ["sent"]


def test_a_customer_answer_in_the_portal_tells_the_assignee_only_if_chosen(
    app, runtime, work, smtp_sink
):
    customer = make_customer(runtime, make_account(runtime))
    ticket_id = make_ticket(runtime, **WAWI, reply_to=customer.email)
    with runtime.db.session() as session:
        filed = session.get_one(Ticket, ticket_id)
        filed.account_id, filed.requester_id = customer.account_id, customer.id
    assignee = make_staff(runtime, "agent", queues=(ticket(runtime, ticket_id).queue,))
    _assign(runtime, ticket_id, assignee.id)
    number = ticket(runtime, ticket_id).number
    portal = app.test_client()
    sign_in(portal, customer.email)

    def answer(text: str):
        token = csrf_token(portal, f"/tickets/{number}")
        return portal.post(f"/tickets/{number}/antwort", data={"csrf_token": token, "text": text})

    unchosen = answer("Noch eine Frage.")
    alerts_before = len(_alerts(runtime))
    _choose(app, assignee, "customer_reply")
    chosen = answer("Und noch eine.")
    work()

    assert (unchosen.status_code, chosen.status_code) == (302, 302)
    assert alerts_before == 0
    [alert] = mails_to(smtp_sink.wait_for(2), assignee.email)
    assert alert["Subject"] == f"[{number}] Der Kunde hat geantwortet: {WAWI['subject']}"


def test_sla_warnings_reach_the_queue_agents_who_keep_them_on(app, runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime, **WAWI)
    queue = ticket(runtime, ticket_id).queue
    keeps = make_staff(runtime, "agent", queues=(queue,))
    turned_off = make_staff(runtime, "agent", queues=(queue,))
    _choose(app, turned_off, "new_ticket")
    warn = next(s for s in steps(runtime, ticket_id) if s.step == "warn_first_response")

    reconcile(runtime, warn.fire_at)
    work()

    received = smtp_sink.wait_for(2)
    [warning] = mails_to(received, keeps.email)
    assert "SLA-Warnung" in warning["Subject"]
    assert mails_to(received, turned_off.email) == []


def test_an_assignee_who_turned_sla_warnings_off_gets_none(app, runtime, work, smtp_sink):
    ticket_id = make_ticket(runtime, **WAWI)
    assignee = make_staff(runtime, "agent", queues=(ticket(runtime, ticket_id).queue,))
    _choose(app, assignee)
    _assign(runtime, ticket_id, assignee.id)
    warn = next(s for s in steps(runtime, ticket_id) if s.step == "warn_first_response")

    reconcile(runtime, warn.fire_at)
    work()

    fired = next(s for s in steps(runtime, ticket_id) if s.step == "warn_first_response")
    assert fired.fired_at is not None and fired.recipients == []
    assert mails_to(smtp_sink.wait_for(1), assignee.email) == []
