"""The agent console: the queue, answering by threaded DKIM-signed mail, actions with history."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlalchemy import event, select

from notifications.outbox.models import OutboundMessage
from tests.dkimcheck import verify_all_signatures
from tests.integration.accounts.factories import (
    csrf_token,
    make_account,
    make_customer,
    make_staff,
    sign_in,
)
from tests.integration.tickets.factories import make_ticket
from tickets.models import BillingEvent, Ticket, TicketEvent, format_number


def world(app, runtime):
    account = make_account(runtime)
    customer = make_customer(runtime, account)
    customer_client = app.test_client()
    sign_in(customer_client, customer.email)
    token = csrf_token(customer_client, "/tickets/neu")
    customer_client.post(
        "/tickets/neu",
        data={
            "csrf_token": token,
            "reply_to": "buchhaltung@kunde.example",
            "product_family": "JTL-Kundenkonto",
            "component": "Fragen zu Firmendaten/Kundenkonto",
            "subject": "Zugang gesperrt",
            "text": "Lizenz gesperrt, bitte prüfen.",
            "priority": "normal",
            "sensitive_label": "Wawi-Login",
            "sensitive_value": "admin / Streng-Geheim-123",
        },
    )
    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.channel == "web")).one()
    agent = make_staff(runtime, "agent", queues=("accounting",))
    agent_client = app.test_client()
    sign_in(agent_client, agent.email)
    return account, customer_client, agent_client, ticket


def test_the_accounting_agent_finds_the_ticket_on_top_with_high_priority(app, runtime):
    make_ticket(runtime, subject="Todesfall des Inhabers", channel="api")
    _account, _customer, agent, ticket = world(app, runtime)

    page = agent.get("/konsole?queue=accounting").get_data(as_text=True)

    rows = page.split('<table id="ticket-list">')[1]
    assert rows.index(ticket.number) < rows.index("Todesfall des Inhabers")
    assert "Hoch" in rows


def test_the_answer_is_mailed_signed_and_threaded_and_shows_in_the_email_history(
    app, runtime, work, smtp_sink, settings
):
    _account, customer, agent, ticket = world(app, runtime)
    token = csrf_token(agent, f"/konsole/tickets/{ticket.number}")

    response = agent.post(
        f"/konsole/tickets/{ticket.number}/antwort",
        data={"csrf_token": token, "text": "Die Sperre ist aufgehoben.\n<b>Gruß</b>"},
    )
    work()

    assert response.status_code == 302
    mails = smtp_sink.wait_for(2)
    with runtime.db.session() as session:
        acknowledgement, reply_row = session.scalars(
            select(OutboundMessage).order_by(OutboundMessage.id)
        ).all()
    [raw] = [m.data for m in mails if b"aufgehoben" in m.data.replace(b"=\r\n", b"")]
    assert len(verify_all_signatures(raw, settings)) == 2
    message = message_from_bytes(raw, policy=default_policy)
    assert message["Subject"] == f"[{ticket.number}] Re: Zugang gesperrt"
    assert message["To"] == "buchhaltung@kunde.example"
    assert message["In-Reply-To"] == acknowledgement.message_id
    assert message["References"] == acknowledgement.message_id
    assert message["Message-ID"] == reply_row.message_id
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;Gruß&lt;/b&gt;" in html
    assert "Streng-Geheim-123" not in raw.decode("utf-8", "replace")
    history = customer.get("/e-mail-verlauf").get_data(as_text=True)
    assert f"[{ticket.number}] Re: Zugang gesperrt" in history
    shown = customer.get(f"/e-mail-verlauf/ticket/{reply_row.id}").get_data(as_text=True)
    assert "Die Sperre ist aufgehoben." in shown
    with runtime.db.session() as session:
        assert session.get(Ticket, ticket.id).status == "waiting"


def test_another_accounts_customer_cannot_open_a_mail_from_this_accounts_history(
    app, runtime, work
):
    _account, customer, _agent, _ticket = world(app, runtime)
    work()
    with runtime.db.session() as session:
        acknowledgement = session.scalars(select(OutboundMessage)).one()
    assert customer.get(f"/e-mail-verlauf/ticket/{acknowledgement.id}").status_code == 200
    stranger = make_customer(runtime, make_account(runtime), owner=True)
    stranger_client = app.test_client()
    sign_in(stranger_client, stranger.email)

    response = stranger_client.get(f"/e-mail-verlauf/ticket/{acknowledgement.id}")

    assert response.status_code == 404
    assert "Zugang gesperrt" not in stranger_client.get("/e-mail-verlauf").get_data(as_text=True)


def test_only_an_agent_of_the_queue_sees_the_sensitive_data_and_each_reveal_is_audited(
    app, runtime
):
    _account, _customer, agent, ticket = world(app, runtime)
    other = make_staff(runtime, "agent", queues=("support",))
    other_client = app.test_client()
    sign_in(other_client, other.email)
    path = f"/konsole/tickets/{ticket.number}"
    page = agent.get(path)

    assert page.status_code == 200
    assert "Wawi-Login" in page.get_data(as_text=True)  # the item is there, its value hidden
    assert "Streng-Geheim-123" not in page.get_data(as_text=True)
    refused = other_client.post(
        f"{path}/sensible-daten", data={"csrf_token": csrf_token(other_client, path)}
    )
    shown = agent.post(f"{path}/sensible-daten", data={"csrf_token": csrf_token(agent, path)})

    assert refused.status_code == 403
    assert shown.status_code == 200
    assert "Streng-Geheim-123" in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    listed = agent.get("/konsole?status=alle").get_data(as_text=True)
    assert ticket.number in listed
    assert "Streng-Geheim-123" not in listed
    with runtime.db.session() as session:
        reveals = session.scalars(
            select(TicketEvent.actor).where(TicketEvent.action == "sensitive_data.revealed")
        ).all()
    assert reveals == [agent_email(runtime, "accounting")]


def agent_email(runtime, queue):
    """The address of the one staff user who works ``queue``."""
    from accounts.models import User

    with runtime.db.session() as session:
        staff = session.scalars(select(User).where(User.kind == "staff")).all()
    [email] = [user.email for user in staff if queue in user.queues]
    return email


@pytest.mark.parametrize(
    ("roles", "queues", "status"),
    [
        (("agent",), ("accounting",), 302),
        (("agent",), ("support", "wawi"), 403),
        (("agent",), (), 403),
        (("supervisor",), (), 302),
        (("admin",), (), 302),
        (("ops",), ("accounting",), 403),
    ],
)
def test_only_staff_who_work_the_tickets_queue_may_claim_it(app, runtime, roles, queues, status):
    ticket_id = make_ticket(runtime)
    number = format_number(ticket_id)
    staff = make_staff(runtime, *roles, queues=queues)
    client = app.test_client()
    sign_in(client, staff.email)
    with runtime.db.session() as session:
        assert session.get(Ticket, ticket_id).queue == "accounting"

    response = client.post(
        f"/konsole/tickets/{number}/uebernehmen",
        data={"csrf_token": csrf_token(client, "/konto/sicherheit")},
    )

    assert response.status_code == status
    with runtime.db.session() as session:
        claimed = session.get(Ticket, ticket_id).assignee_id
    assert claimed == (staff.id if status == 302 else None)


def test_a_customer_cannot_claim_a_ticket_in_the_console(app, runtime):
    account = make_account(runtime)
    customer = make_customer(runtime, account, owner=True)
    ticket_id = make_ticket(runtime)
    with runtime.db.session() as session:
        session.get(Ticket, ticket_id).account_id = account.id
    client = app.test_client()
    sign_in(client, customer.email)

    response = client.post(
        f"/konsole/tickets/{format_number(ticket_id)}/uebernehmen",
        data={"csrf_token": csrf_token(client, "/konto/sicherheit")},
    )

    assert response.status_code == 403
    with runtime.db.session() as session:
        assert session.get(Ticket, ticket_id).assignee_id is None


def test_changing_the_queue_needs_a_reason_and_is_recorded_before_and_after(app, runtime):
    _account, _customer, agent, ticket = world(app, runtime)
    path = f"/konsole/tickets/{ticket.number}"

    without = agent.post(
        f"{path}/aendern", data={"csrf_token": csrf_token(agent, path), "queue": "support"}
    )
    with_reason = agent.post(
        f"{path}/aendern",
        data={
            "csrf_token": csrf_token(agent, path),
            "queue": "support",
            "reason": "Kein Fall für uns",
        },
    )

    assert without.status_code == 422
    assert "Bitte geben Sie einen Grund an." in without.get_data(as_text=True)
    assert with_reason.status_code == 302
    with runtime.db.session() as session:
        event_ = session.scalars(select(TicketEvent).where(TicketEvent.action == "changed")).one()
    assert event_.changes["queue"] == ["accounting", "support"]
    assert event_.reason == "Kein Fall für uns"


def test_a_critical_ticket_that_is_no_emergency_is_billed_once(app, runtime):
    account = make_account(runtime)
    ticket_id = make_ticket(runtime, subject="Frage", priority="critical")
    number = format_number(ticket_id)
    with runtime.db.session() as session:
        session.get(Ticket, ticket_id).account_id = account.id
    agent = make_staff(runtime, "agent", queues=("on-call",))
    client = app.test_client()
    sign_in(client, agent.email)
    path = f"/konsole/tickets/{number}"

    first = client.post(
        f"{path}/verrechnen",
        data={"csrf_token": csrf_token(client, path), "reason": "Kein Ausfall"},
    )
    second = client.post(
        f"{path}/verrechnen", data={"csrf_token": csrf_token(client, path), "reason": "nochmal"}
    )

    assert first.status_code == 302
    assert second.status_code == 422
    with runtime.db.session() as session:
        [billing] = session.scalars(select(BillingEvent)).all()
    assert (billing.account_id, billing.kind, billing.reason) == (
        account.id,
        "critical_not_emergency",
        "Kein Ausfall",
    )


def test_phone_intake_files_for_the_caller_with_the_keyword_as_subject(app, runtime):
    account = make_account(runtime)
    agent = make_staff(runtime, "agent", queues=("accounting",))
    client = app.test_client()
    sign_in(client, agent.email)

    response = client.post(
        "/konsole/telefon",
        data={
            "csrf_token": csrf_token(client, "/konsole/telefon"),
            "customer_number": account.customer_number,
            "keyword": "Zugang gesperrt",
            "product_family": "JTL-Kundenkonto",
            "component": "Fragen zu Firmendaten/Kundenkonto",
            "priority": "normal",
        },
    )

    assert response.status_code == 302
    with runtime.db.session() as session:
        ticket = session.scalars(select(Ticket)).one()
    assert (ticket.channel, ticket.subject, ticket.account_id) == (
        "phone",
        "Zugang gesperrt",
        account.id,
    )
    assert (ticket.queue, ticket.effective_priority) == ("accounting", "high")
    assert ticket.reply_to == "info@beispiel.example"
    assert ticket.routing_rule == "locked-access"


def test_phone_intake_with_an_unknown_customer_number_names_the_field(app, runtime):
    agent = make_staff(runtime, "agent", queues=("accounting",))
    client = app.test_client()
    sign_in(client, agent.email)

    response = client.post(
        "/konsole/telefon",
        data={"csrf_token": csrf_token(client, "/konsole/telefon"), "customer_number": "999"},
    )

    assert response.status_code == 422
    assert "Keine Kundennummer gefunden." in response.get_data(as_text=True)


def test_the_queue_list_costs_the_same_statements_for_3_and_30_tickets(app, runtime):
    agent = make_staff(runtime, "agent", queues=("accounting",))
    client = app.test_client()
    sign_in(client, agent.email)
    account = make_account(runtime)

    def statements_for_list(expected_rows: int) -> int:
        count = 0

        def counter(*_args):
            nonlocal count
            count += 1

        event.listen(runtime.db.engine, "before_cursor_execute", counter)
        try:
            response = client.get("/konsole?queue=accounting")
        finally:
            event.remove(runtime.db.engine, "before_cursor_execute", counter)
        assert response.status_code == 200
        rows = response.get_data(as_text=True).split('<table id="ticket-list">')[1]
        assert rows.count(account.company) == expected_rows, "the list shows the account's tickets"
        return count

    def add(n):
        ids = [make_ticket(runtime) for _ in range(n)]
        with runtime.db.session() as session:
            for ticket_id in ids:
                session.get(Ticket, ticket_id).account_id = account.id

    add(3)
    few = statements_for_list(3)
    add(27)
    many = statements_for_list(25)

    assert few == many


def test_a_claimed_ticket_names_its_agent_and_the_reply_form_shows_greeting_and_signature(
    app, runtime
):
    _account, _customer, _agent, ticket = world(app, runtime)
    holder = make_staff(runtime, "agent", queues=("accounting",))
    with runtime.db.session() as session:
        session.get(type(holder), holder.id).name = "Anna Becker"
    holder_client, other_client = app.test_client(), app.test_client()
    sign_in(holder_client, holder.email)
    sign_in(other_client, make_staff(runtime, "agent", queues=("accounting",)).email)
    path = f"/konsole/tickets/{ticket.number}"

    claimed = holder_client.post(
        f"{path}/uebernehmen",
        data={"csrf_token": csrf_token(holder_client, path)},
        follow_redirects=True,
    )

    own = claimed.get_data(as_text=True)
    assert "Sie haben das Ticket übernommen." in own
    seen_by_other = other_client.get(path).get_data(as_text=True)
    assert "<dt>Bearbeiter</dt><dd>Anna Becker</dd>" in own
    assert "Sie bearbeiten dieses Ticket." in own
    assert "Von Anna Becker übernehmen" in seen_by_other
    assert f'<option selected value="{holder.id}">' in seen_by_other
    assert "Bearbeiter: – → Anna Becker" in seen_by_other
    assert "assignee_id" not in seen_by_other
    assert '<pre class="hint" id="reply-greeting">Guten Tag,</pre>' in own
    assert "Ihr Support-Team</pre>" in own
