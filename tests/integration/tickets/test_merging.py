"""Merging a duplicate ticket (tickets.merging): what moves, what is refused, who is told."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from helpdesk.security import Principal
from notifications.outbox.models import OutboundMessage
from tests.integration.accounts.factories import make_account
from tests.integration.tickets.merge_factories import (
    QUEUES,
    accounting_agent,
    duplicates,
    file_for,
)
from tickets import merging, sensitive, thread
from tickets.access import Forbidden, TicketMerged, Viewer
from tickets.inbound.services import take_message
from tickets.models import (
    SensitiveItem,
    Ticket,
    TicketAttachment,
    TicketDataKey,
    TicketEvent,
    TicketMessage,
)
from tickets.services import ValidationError


def _ticket(runtime, ticket_id: int) -> Ticket:
    with runtime.db.session() as session:
        return session.get_one(Ticket, ticket_id)


def _count(runtime, model, ticket_id: int) -> int:
    with runtime.db.session() as session:
        return session.scalar(
            select(func.count()).select_from(model).where(model.ticket_id == ticket_id)
        )


def _actions(runtime, ticket_id: int) -> list[str]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(TicketEvent.action)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.id)
            )
        )


def _reveal(runtime, ticket_id: int) -> list[str]:
    agent = Principal(
        "reveal@support.example.com",
        frozenset({"agent"}),
        {"kind": "staff", "queues": list(QUEUES)},
    )
    return [item.value for item in sensitive.reveal(runtime, ticket_id, agent)]


def test_merging_moves_messages_attachments_history_and_closes_the_duplicate(runtime):
    world = duplicates(runtime)
    agent = accounting_agent()
    thread.add_note(runtime, agent, world.duplicate.number, "Kundin ruft auch an.")
    before = {
        model: _count(runtime, model, world.duplicate.id)
        for model in (TicketMessage, TicketAttachment, TicketEvent)
    }

    plan = merging.merge(runtime, agent, world.duplicate.number, world.kept.number)

    assert (plan.messages, plan.attachments) == (before[TicketMessage], 1)
    for model in (TicketMessage, TicketAttachment):
        assert _count(runtime, model, world.duplicate.id) == 0
    assert _count(runtime, TicketAttachment, world.kept.id) == 1
    notes = _count(runtime, TicketMessage, world.kept.id)
    assert notes == before[TicketMessage] >= 1
    duplicate = _ticket(runtime, world.duplicate.id)
    assert (duplicate.status, duplicate.merged_into_id) == ("closed", world.kept.id)
    assert _actions(runtime, world.duplicate.id) == ["merged_away"]
    kept_actions = _actions(runtime, world.kept.id)
    assert kept_actions.count("created") == 2  # the duplicate's history came along
    assert kept_actions[-1] == "merged_here"
    with runtime.db.session() as session:
        entry = session.scalars(
            select(TicketEvent).where(
                TicketEvent.ticket_id == world.kept.id, TicketEvent.action == "merged_here"
            )
        ).one()
    assert entry.changes["merged_from"] == [None, world.duplicate.number]
    assert entry.changes["messages_moved"] == [None, before[TicketMessage]]


def test_moved_sensitive_data_opens_on_the_target_and_the_old_key_is_gone(runtime):
    world = duplicates(runtime)
    assert _reveal(runtime, world.duplicate.id) == ["admin / Geheim-B-42"]

    merging.merge(runtime, accounting_agent(), world.duplicate.number, world.kept.number)

    assert _reveal(runtime, world.kept.id) == ["admin / Geheim-B-42"]
    assert _reveal(runtime, world.duplicate.id) == []
    with runtime.db.session() as session:
        assert session.get(TicketDataKey, world.duplicate.id) is None
        assert session.get(TicketDataKey, world.kept.id) is not None
        [item] = session.scalars(select(SensitiveItem)).all()
    assert item.ticket_id == world.kept.id


def test_sensitive_data_on_both_tickets_stays_readable_under_the_targets_one_key(runtime):
    account = make_account(runtime)
    kept = file_for(runtime, account, "Zugang gesperrt", secret="ftp / A-Geheim")
    duplicate = file_for(runtime, account, "Nochmal gesperrt", secret="ssh / B-Geheim")

    merging.merge(runtime, accounting_agent(), duplicate.number, kept.number)

    assert sorted(_reveal(runtime, kept.id)) == ["ftp / A-Geheim", "ssh / B-Geheim"]


def test_the_duplicates_customer_is_told_by_a_german_mail_threaded_under_the_duplicate(runtime):
    world = duplicates(runtime)
    with runtime.db.session() as session:
        acknowledgement = session.scalars(
            select(OutboundMessage.message_id).where(
                OutboundMessage.ticket_id == world.duplicate.id
            )
        ).one()

    merging.merge(runtime, accounting_agent(), world.duplicate.number, world.kept.number)

    with runtime.db.session() as session:
        notice = session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "ticket_merged")
        ).one()
    assert notice.recipient == "chefin@kunde.example"
    assert notice.ticket_id == world.kept.id
    assert notice.subject == f"[{world.kept.number}] Zugang gesperrt"
    assert notice.in_reply_to == acknowledgement
    assert notice.context["old_number"] == world.duplicate.number


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "Bitte geben Sie eine Ticketnummer an"),
        ("HD-999999", "Das Ticket HD-999999 gibt es nicht."),
        ("self", "nicht mit sich selbst"),
    ],
)
def test_a_target_that_is_no_other_ticket_is_refused_in_german(runtime, target, message):
    world = duplicates(runtime)
    target = world.duplicate.number if target == "self" else target

    with pytest.raises(ValidationError) as refused:
        merging.merge(runtime, accounting_agent(), world.duplicate.number, target)

    assert message in refused.value.errors["target"]
    assert _ticket(runtime, world.duplicate.id).merged_into_id is None


def test_tickets_of_different_accounts_are_not_merged(runtime):
    kept = file_for(runtime, make_account(runtime), "Zugang gesperrt")
    other = file_for(runtime, make_account(runtime), "Zugang gesperrt")

    with pytest.raises(ValidationError) as refused:
        merging.merge(runtime, accounting_agent(), other.number, kept.number)

    assert "desselben Kundenkontos" in refused.value.errors["target"]
    assert _ticket(runtime, other.id).merged_into_id is None


def test_a_ticket_of_an_unknown_sender_is_not_merged_before_it_has_an_account(runtime):
    unknown = file_for(runtime, None, "Zugang gesperrt")
    also_unknown = file_for(runtime, None, "Zugang gesperrt")

    with pytest.raises(ValidationError) as refused:
        merging.merge(runtime, accounting_agent(), unknown.number, also_unknown.number)

    assert "Konto zuordnen" in refused.value.errors["target"]


def test_the_agent_must_work_both_queues(runtime):
    world = duplicates(runtime)
    elsewhere = Viewer("wawi@support.example.com", None, None, True, frozenset({"wawi"}))
    with runtime.db.session() as session:
        session.get_one(Ticket, world.kept.id).queue = "wawi"

    with pytest.raises(Forbidden):
        merging.merge(runtime, elsewhere, world.duplicate.number, world.kept.number)
    with pytest.raises(ValidationError) as refused:
        merging.merge(runtime, accounting_agent(), world.duplicate.number, world.kept.number)

    assert "Queue, die Sie nicht bearbeiten" in refused.value.errors["target"]
    assert _ticket(runtime, world.duplicate.id).merged_into_id is None


def test_a_closed_target_and_a_merged_target_are_refused(runtime):
    world = duplicates(runtime)
    third = file_for(runtime, world.account, "Drittes Ticket")
    agent = accounting_agent()
    merging.merge(runtime, agent, third.number, world.kept.number)

    with pytest.raises(ValidationError) as merged:
        merging.merge(runtime, agent, world.duplicate.number, third.number)
    with runtime.db.session() as session:
        session.get_one(Ticket, world.kept.id).status = "closed"
    with pytest.raises(ValidationError) as closed:
        merging.merge(runtime, agent, world.duplicate.number, world.kept.number)

    assert f"wurde bereits mit {world.kept.number}" in merged.value.errors["target"]
    assert f"{world.kept.number} ist geschlossen." in closed.value.errors["target"]


def test_a_merged_number_leads_to_its_target_through_a_chain_of_merges(runtime):
    world = duplicates(runtime)
    third = file_for(runtime, world.account, "Drittes Ticket")
    agent = accounting_agent()
    merging.merge(runtime, agent, third.number, world.duplicate.number)
    merging.merge(runtime, agent, world.duplicate.number, world.kept.number)

    with pytest.raises(TicketMerged) as merged:
        thread.ticket_view(runtime, agent, third.number)

    assert merged.value.target == world.kept.number


def test_an_answer_to_the_merged_number_lands_in_the_target(runtime):
    world = duplicates(runtime)
    agent = accounting_agent()
    merging.merge(runtime, agent, world.duplicate.number, world.kept.number)

    message = thread.reply_as_agent(runtime, agent, world.duplicate.number, "Erledigt.")

    assert message.ticket_id == world.kept.id


def test_a_mail_reply_to_the_duplicate_after_the_merge_lands_in_the_target(runtime):
    world = duplicates(runtime)
    with runtime.db.session() as session:
        acknowledgement = session.scalars(
            select(OutboundMessage.message_id).where(
                OutboundMessage.ticket_id == world.duplicate.id
            )
        ).one()
    merging.merge(runtime, accounting_agent(), world.duplicate.number, world.kept.number)

    outcome = take_message(
        runtime,
        _reply("chefin@kunde.example", acknowledgement, "Noch eine Frage"),
        mailbox=runtime.settings.mail_from,
    )

    assert (outcome.action, outcome.ticket) == ("appended", world.kept.number)


def _reply(sender: str, in_reply_to: str, text: str, subject: str = "AW: Ihre Anfrage") -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@support.example.com"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@kunde.example>"
    mail["In-Reply-To"] = in_reply_to
    mail["References"] = in_reply_to
    mail.set_content(text)
    return mail.as_bytes()
