"""`helpdesk mail-in deliver`: new tickets, replies, duplicates, identity and attachments."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from accounts.models import Account, ContactPerson, DistributionListEntry, User
from helpdesk.cli import main
from notifications.outbox.models import OutboundMessage
from tests.corpus import load
from tickets.inbound import quarantine
from tickets.models import Ticket, TicketAttachment, TicketEvent, TicketMessage

NEW = "outlook_new_request_de.eml"
SENDER = "j.mueller@mueller-handel.example"


def tickets(runtime) -> list[Ticket]:
    with runtime.db.session() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def thread(runtime, ticket_id: int) -> list[TicketMessage]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(TicketMessage)
                .where(TicketMessage.ticket_id == ticket_id)
                .order_by(TicketMessage.id)
            )
        )


def acknowledgement_id(runtime) -> str:
    with runtime.db.session() as session:
        return session.scalars(select(OutboundMessage.message_id)).one()


def test_mail_from_an_unknown_sender_becomes_a_triage_ticket_keeping_the_address(deliver, runtime):
    result = deliver(load(NEW), "--to", "support@support.example.com")

    assert result.exit_code == 0
    assert result.outcome["action"] == "created"
    assert result.outcome["ticket"] == "HD-000001"
    assert "unknown sender" in result.outcome["reason"]
    [ticket] = tickets(runtime)
    assert (ticket.channel, ticket.queue, ticket.account_id) == ("email", "triage", None)
    assert ticket.reply_to == SENDER
    assert ticket.subject == "Frage zur Rücksendung in JTL-Wawi"
    [message] = thread(runtime, ticket.id)
    assert message.kind == "customer"
    assert message.message_id == (
        "<AM0PR07MB1234.outlook-new-1@AM0PR07MB1234.eurprd07.prod.outlook.com>"
    )


def test_the_acknowledgement_threads_under_the_customers_mail(deliver, work, smtp_sink):
    deliver(load(NEW))

    work()

    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == (SENDER,)
    message = message_from_bytes(mail.data, policy=default_policy)
    assert (
        message["Subject"] == "[HD-000001] Ihre Supportanfrage: Frage zur Rücksendung in JTL-Wawi"
    )
    customer_id = "<AM0PR07MB1234.outlook-new-1@AM0PR07MB1234.eurprd07.prod.outlook.com>"
    assert message["In-Reply-To"].strip() == customer_id
    assert customer_id in message["References"]


def test_the_same_message_delivered_twice_yields_one_ticket(deliver, runtime):
    first = deliver(load(NEW))
    second = deliver(load(NEW))

    assert second.exit_code == 0
    assert second.outcome["action"] == "ignored"
    assert second.outcome["ticket"] == first.outcome["ticket"]
    assert len(tickets(runtime)) == 1


def test_a_message_without_message_id_is_recognised_when_delivered_again(deliver, runtime):
    deliver(load("no_message_id.eml"))
    again = deliver(load("no_message_id.eml"))

    assert again.outcome["action"] == "ignored"
    assert len(tickets(runtime)) == 1


def test_outlook_reply_joins_the_ticket_by_the_number_in_the_subject(deliver, runtime):
    deliver(load(NEW))

    result = deliver(load("outlook_reply_aw_de.eml"))

    assert result.outcome == {
        "action": "appended",
        "reason": "reply matched by subject",
        "ticket": "HD-000001",
    }
    [ticket] = tickets(runtime)
    _first, answer = thread(runtime, ticket.id)
    assert answer.kind == "customer"
    assert answer.quoted.startswith("-----Ursprüngliche Nachricht-----")
    assert "Vielen Dank, wir haben Ihre Anfrage erhalten." not in answer.body


def test_a_stranger_naming_a_ticket_number_opens_a_new_ticket_instead(deliver, runtime):
    deliver(load(NEW))  # from j.mueller@mueller-handel.example

    # Someone of another company quotes the number in the subject, Outlook header block style.
    result = deliver(load("outlook_reply_header_block_de.eml"))

    assert result.outcome["action"] == "created"
    assert result.outcome["ticket"] == "HD-000002"
    first, second = tickets(runtime)
    assert len(thread(runtime, first.id)) == 1
    [message] = thread(runtime, second.id)
    assert message.quoted.startswith("____")
    with runtime.db.session() as session:
        created = session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == second.id)
        ).first()
    assert created.changes["follows"] == [None, "HD-000001"]


@pytest.mark.parametrize(
    "reply", ["thunderbird_reply_de.eml", "apple_mail_reply_de.eml", "gmail_reply_de.eml"]
)
def test_reply_to_our_acknowledgement_joins_by_in_reply_to(deliver, runtime, reply):
    deliver(load(NEW))

    result = deliver(load(reply, ACK_ID=acknowledgement_id(runtime)))

    assert result.outcome["action"] == "appended"
    assert result.outcome["reason"] == "reply matched by in-reply-to"
    assert len(tickets(runtime)) == 1
    answer = thread(runtime, tickets(runtime)[0].id)[-1]
    assert "Vielen Dank, wir haben Ihre Anfrage erhalten." in answer.quoted
    assert "Vielen Dank, wir haben Ihre Anfrage erhalten." not in answer.body


def test_a_reply_to_a_waiting_ticket_reopens_it_and_gets_no_acknowledgement(deliver, runtime):
    deliver(load(NEW))
    with runtime.db.session() as session:
        session.get(Ticket, 1).status = "waiting"

    deliver(load("outlook_reply_aw_de.eml"))

    [ticket] = tickets(runtime)
    assert ticket.status == "open"
    with runtime.db.session() as session:
        assert len(session.scalars(select(OutboundMessage)).all()) == 1
        event = session.scalars(
            select(TicketEvent).where(TicketEvent.action == "status_changed")
        ).one()
        assert event.changes == {"status": ["waiting", "open"]}


def test_a_reply_to_a_closed_ticket_opens_a_new_one_that_follows_it(deliver, runtime):
    deliver(load(NEW))
    with runtime.db.session() as session:
        session.get(Ticket, 1).status = "closed"

    result = deliver(load("outlook_reply_aw_de.eml"))

    assert result.outcome["action"] == "created"
    with runtime.db.session() as session:
        event = session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == 2, TicketEvent.action == "created")
        ).one()
        assert event.changes["follows"] == [None, "HD-000001"]


def _account(runtime, kind: str, address: str) -> int:
    with runtime.db.session() as session:
        account = Account(customer_number=f"K-{kind}", company=f"Firma {kind}")
        session.add(account)
        session.flush()
        key = address.lower()
        if kind == "first_contact":
            account.first_contact, account.first_contact_key = address, key
        elif kind == "user":
            session.add(
                User(
                    email=address,
                    email_key=key,
                    password_hash="!",
                    kind="customer",
                    account_id=account.id,
                )
            )
        elif kind == "contact_person":
            session.add(
                ContactPerson(
                    account_id=account.id,
                    first_name="Jürgen",
                    last_name="Müller",
                    email=address,
                    email_key=key,
                )
            )
        else:
            session.add(
                DistributionListEntry(
                    account_id=account.id, purpose="emergency", email=address, email_key=key
                )
            )
        return account.id


@pytest.mark.parametrize("kind", ["user", "first_contact", "contact_person", "distribution_list"])
def test_the_sender_is_matched_to_its_account(deliver, runtime, kind):
    account_id = _account(runtime, kind, "J.Mueller@mueller-handel.example")

    result = deliver(load(NEW))

    assert f"sender is account {account_id} ({kind})" in result.outcome["reason"]
    assert tickets(runtime)[0].account_id == account_id


def test_a_colleague_of_the_same_account_may_answer_by_the_number_in_the_subject(deliver, runtime):
    account_id = _account(runtime, "first_contact", SENDER)
    with runtime.db.session() as session:
        session.add(
            ContactPerson(
                account_id=account_id,
                first_name="Petra",
                last_name="Schmidt",
                email="p.schmidt@schmidt-shop.example",
                email_key="p.schmidt@schmidt-shop.example",
            )
        )
    deliver(load(NEW))

    result = deliver(load("outlook_reply_header_block_de.eml"))

    assert result.outcome["action"] == "appended"
    assert result.outcome["ticket"] == "HD-000001"


def test_a_user_outranks_a_distribution_list_of_another_account(deliver, runtime):
    _account(runtime, "distribution_list", SENDER)
    user_account = _account(runtime, "user", SENDER)

    deliver(load(NEW))

    assert tickets(runtime)[0].account_id == user_account


def test_a_sender_on_two_accounts_stays_unassigned_with_both_candidates(deliver, runtime):
    first = _account(runtime, "contact_person", SENDER)
    second = _account(runtime, "first_contact", "other@example.com")
    with runtime.db.session() as session:
        session.add(
            ContactPerson(
                account_id=second, first_name="J", last_name="M", email=SENDER, email_key=SENDER
            )
        )

    result = deliver(load(NEW))

    assert "several accounts" in result.outcome["reason"]
    assert tickets(runtime)[0].account_id is None
    with runtime.db.session() as session:
        event = session.scalars(select(TicketEvent)).one()
        assert event.changes["account_candidates"] == [None, [first, second]]


def test_death_certificate_mailed_to_accounting_lands_there_with_the_pdf(
    deliver, runtime, settings
):
    result = deliver(load("death_certificate_to_accounting.eml"))

    assert result.outcome["action"] == "created"
    [ticket] = tickets(runtime)
    assert ticket.queue == "accounting"
    assert "todesfall-inhaber" in ticket.tags
    assert ticket.account_id is None
    with runtime.db.session() as session:
        [pdf] = session.scalars(select(TicketAttachment)).all()
    assert (pdf.filename, pdf.content_type) == ("Sterbeurkunde Klaus Weber.pdf", "application/pdf")
    assert (settings.attachment_dir / pdf.storage_key).read_bytes().startswith(b"%PDF-1.4")


def test_a_signed_mail_keeps_the_whole_original_so_the_signature_stays_verifiable(deliver, runtime):
    deliver(load("smime_signed_de.eml"))

    with runtime.db.session() as session:
        [original] = session.scalars(select(TicketAttachment)).all()
    assert original.filename == "original-nachricht.eml"
    assert tickets(runtime)[0].queue == "accounting"  # "Zugang gesperrt"


def test_a_refused_attachment_is_noted_and_the_message_kept_in_quarantine(
    deliver, runtime, settings
):
    result = deliver(load("executable_attachment.eml"))

    assert result.outcome["action"] == "created"
    note = thread(runtime, tickets(runtime)[0].id)[-1]
    assert note.kind == "internal"
    assert "setup.exe" in note.body
    [(name, record)] = quarantine.entries(settings)
    assert record["reason"].startswith("attachments not taken: setup.exe")
    assert (settings.quarantine_dir / f"{name}.eml").read_bytes() == load(
        "executable_attachment.eml"
    )


def test_a_forward_as_attachment_keeps_the_forwarded_mail(deliver, runtime):
    deliver(load("forward_as_attachment.eml"))

    [ticket] = tickets(runtime)
    assert ticket.body == "Die Synchronisation mit Shopify ist fehlgeschlagen: Fehler 401."
    with runtime.db.session() as session:
        [forward] = session.scalars(select(TicketAttachment)).all()
    assert forward.filename == "Synchronisation fehlgeschlagen.eml"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed_no_from.eml", "no From header"),
        ("malformed_bad_from.eml", "invalid From address"),
    ],
)
def test_a_malformed_message_is_refused_and_kept_in_quarantine(
    deliver, runtime, settings, name, reason
):
    result = deliver(load(name))

    assert result.exit_code == 1
    assert reason in result.stderr
    [(entry, record)] = quarantine.entries(settings)
    assert entry in result.stderr
    assert reason in record["reason"]
    assert tickets(runtime) == []


def test_quarantined_mail_is_listed_with_its_reason_and_file(deliver, cli_env):
    deliver(load("malformed_no_from.eml"))

    result = CliRunner().invoke(main, ["mail-in", "quarantine", "--json"], env=cli_env)

    assert result.exit_code == 0, result.output
    [entry] = [json.loads(line) for line in result.stdout.splitlines()]
    assert "no From header" in entry["reason"]
    assert Path(entry["file"]).read_bytes() == load("malformed_no_from.eml")


def test_mail_for_a_foreign_mailbox_is_refused(deliver):
    result = deliver(load(NEW), "--to", "info@elsewhere.example")

    assert result.exit_code == 1
    assert "550 5.1.1" in result.stderr


def test_an_over_long_message_id_is_still_taken_once(deliver, runtime):
    long_id = "<" + "x" * 300 + "@mustermann-gmbh.example>"
    raw = load("no_message_id.eml").replace(b"Date:", f"Message-ID: {long_id}\r\nDate:".encode(), 1)

    first = deliver(raw)
    again = deliver(raw)

    assert (first.outcome["action"], again.outcome["action"]) == ("created", "ignored")
    assert thread(runtime, 1)[0].message_id.startswith("<sha256.")
