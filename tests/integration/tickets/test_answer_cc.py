"""Answers with Cc addresses: checked at the form, sent in Cc, shown in thread and history, and
a CC'd person's mail threads into the ticket."""

from __future__ import annotations

import uuid
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from sqlalchemy import func, select

from notifications.outbox.models import OutboundMessage
from tests.integration.accounts.factories import csrf_token, make_staff, sign_in
from tests.integration.tickets.merge_factories import QUEUES, duplicates
from tickets.inbound.services import take_message


def _answer(app, runtime, number: str, cc: str, text: str = "Die Sperre ist aufgehoben."):
    agent = app.test_client()
    sign_in(agent, make_staff(runtime, "agent", queues=QUEUES).email)
    token = csrf_token(agent, f"/konsole/tickets/{number}")
    response = agent.post(
        f"/konsole/tickets/{number}/antwort", data={"csrf_token": token, "text": text, "cc": cc}
    )
    return agent, response


def _replies(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.kind == "ticket_reply")
        )


def test_the_answer_goes_to_the_cc_addresses_in_one_signed_mail(app, runtime, work, smtp_sink):
    ticket = duplicates(runtime).kept
    work()
    smtp_sink.reset()

    agent, response = _answer(
        app, runtime, ticket.number, "it@kunde.example; Chefin@Kunde.example,\nit@kunde.example"
    )
    work()

    assert response.status_code == 302
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == (
        "buchhaltung@kunde.example",
        "it@kunde.example",
        "Chefin@kunde.example",
    )
    message = message_from_bytes(received.data, policy=default_policy)
    assert message["To"] == "buchhaltung@kunde.example"
    assert message["Cc"] == "it@kunde.example, Chefin@kunde.example"
    assert b"\r\nCc: it@kunde.example, Chefin@kunde.example\r\n" in received.data
    page = agent.get(f"/konsole/tickets/{ticket.number}").get_data(as_text=True)
    assert "Kopie an: it@kunde.example, Chefin@kunde.example" in page  # the thread
    assert "Kopie an: – → it@kunde.example, Chefin@kunde.example" in page  # the history


@pytest.mark.parametrize(
    ("cc", "message"),
    [
        ("keine-adresse", "keine-adresse: Diese E-Mail-Adresse ist ungültig."),
        ("Chefin <chefin@kunde.example>", "ohne Namen"),
        ("it@kunde.example\r\nBcc: boese@angreifer.example", "Bcc: boese@angreifer.example:"),
        ("it@kunde.example\x0bBcc: boese@angreifer.example", "Steuerzeichen"),
        (",".join(f"p{n}@kunde.example" for n in range(11)), "Höchstens 10 Adressen"),
    ],
)
def test_bad_cc_addresses_are_refused_in_german_and_nothing_is_sent(app, runtime, cc, message):
    ticket = duplicates(runtime).kept

    _agent, response = _answer(app, runtime, ticket.number, cc)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _replies(runtime) == 0


def _reply_by_subject(runtime, number: str, sender: str):
    """A reply naming the ticket only in its subject (no In-Reply-To, no References)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = runtime.settings.mail_from
    mail["Subject"] = f"AW: [{number}] Re: Zugang gesperrt"
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@{sender.split('@')[1]}>"
    mail.set_content("Bei uns geht es wieder.")
    return take_message(runtime, mail.as_bytes(), mailbox=runtime.settings.mail_from)


def test_a_cc_recipient_answering_by_subject_alone_threads_into_the_ticket(app, runtime):
    ticket = duplicates(runtime).kept
    _answer(app, runtime, ticket.number, "it@kunde.example")
    outcome = _reply_by_subject(runtime, ticket.number, "it@kunde.example")

    assert (outcome.action, outcome.ticket) == ("appended", ticket.number)


def test_a_stranger_answering_by_subject_alone_opens_a_new_ticket(app, runtime):
    ticket = duplicates(runtime).kept
    _answer(app, runtime, ticket.number, "it@kunde.example")
    outcome = _reply_by_subject(runtime, ticket.number, "fremd@anderswo.example")

    assert outcome.action == "created"
    assert outcome.ticket != ticket.number
