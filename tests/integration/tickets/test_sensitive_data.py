"""Sensitive data: sealed at rest, shown once to an agent of the queue, audited, rotated, purged."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from helpdesk.cli import main
from helpdesk.db import utcnow
from helpdesk.security import Principal
from tests.integration.tickets.factories import make_ticket
from tickets import sensitive
from tickets.models import SensitiveItem, Ticket, TicketDataKey, TicketEvent

PASSWORD = "FTP: shop / Geheim-Passwort-4711"
ACCOUNTING_AGENT = Principal("user:7", frozenset({"agent"}), {"queues": ["accounting"]})


def add(runtime, ticket_id, value=PASSWORD, label="FTP-Zugang"):
    keyring = sensitive.Keyring.from_settings(runtime.settings)
    with runtime.db.session() as session:
        sensitive.add_item(session, keyring, ticket_id, label, value, actor="user:1")


def test_the_database_file_holds_no_plaintext(runtime):
    if not runtime.settings.database_url.startswith("sqlite:///"):
        pytest.skip("reads the embedded default's database file")
    ticket_id = make_ticket(runtime)
    add(runtime, ticket_id)
    runtime.db.engine.dispose()  # checkpoint the WAL into the file

    database = Path(runtime.settings.database_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert raw, "the database file was read"
    assert b"Geheim-Passwort-4711" not in raw
    assert "Geheim-Passwort-4711".encode("utf-16-le") not in raw
    assert b"FTP-Zugang" in raw  # the label is not secret and shows the read worked


def test_an_agent_of_the_queue_sees_the_plaintext_and_the_reveal_is_audited(runtime):
    ticket_id = make_ticket(runtime)
    add(runtime, ticket_id)

    [item] = sensitive.reveal(runtime, ticket_id, ACCOUNTING_AGENT)

    assert item.value == PASSWORD
    assert PASSWORD not in repr(item)
    with runtime.db.session() as session:
        events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id))
        reveals = [e for e in events if e.action == "sensitive_data.revealed"]
    assert [(e.actor, e.changes["items"][1]) for e in reveals] == [("user:7", [item.id])]


@pytest.mark.parametrize(
    "principal",
    [
        Principal("user:8", frozenset({"agent"}), {"queues": ["support"]}),
        Principal("user:9", frozenset({"customer.tickets"}), {"queues": ["accounting"]}),
    ],
)
def test_anyone_else_is_refused_and_nothing_is_audited(runtime, principal):
    ticket_id = make_ticket(runtime)
    add(runtime, ticket_id)

    with pytest.raises(sensitive.NotAllowed):
        sensitive.reveal(runtime, ticket_id, principal)
    with runtime.db.session() as session:
        actions = session.scalars(
            select(TicketEvent.action).where(TicketEvent.ticket_id == ticket_id)
        ).all()
    assert "sensitive_data.revealed" not in actions


def test_an_item_moved_to_another_ticket_does_not_open(runtime):
    first, second = make_ticket(runtime), make_ticket(runtime)
    add(runtime, first)
    add(runtime, second, value="anderes")
    with runtime.db.session() as session:
        sealed_first = session.scalars(
            select(SensitiveItem.sealed).where(SensitiveItem.ticket_id == first)
        ).one()
        moved = session.scalars(
            select(SensitiveItem).where(SensitiveItem.ticket_id == second)
        ).one()
        moved.sealed = sealed_first

    with pytest.raises(sensitive.SensitiveDataError):
        sensitive.reveal(runtime, second, ACCOUNTING_AGENT)


def test_keys_rotate_rewraps_every_data_key_and_the_data_still_opens(runtime, settings, cli_env):
    tickets = [make_ticket(runtime) for _ in range(3)]
    for ticket_id in tickets:
        add(runtime, ticket_id)
    old_key = settings.sensitive_master_key
    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    environ = {
        **cli_env,
        "SENSITIVE_MASTER_KEY": new_key,
        "SENSITIVE_RETIRED_KEYS": old_key,
    }

    result = CliRunner().invoke(main, ["keys", "rotate"], env=environ)

    assert result.exit_code == 0, result.output
    new_id = sensitive.MasterKey.from_text(new_key).id
    assert f"re-wrapped 3 data keys with master key {new_id}" in result.output
    with runtime.db.session() as session:
        assert set(session.scalars(select(TicketDataKey.master_key_id))) == {new_id}
    rotated = type(runtime)(type(settings)(**{**vars(settings), "sensitive_master_key": new_key}))
    assert sensitive.reveal(rotated, tickets[0], ACCOUNTING_AGENT)[0].value == PASSWORD
    rotated.db.dispose()


def test_keys_rotate_without_the_old_key_names_the_missing_key(runtime, cli_env):
    add(runtime, make_ticket(runtime))
    environ = {
        **cli_env,
        "SENSITIVE_MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }

    result = CliRunner().invoke(main, ["keys", "rotate"], env=environ)

    assert result.exit_code == 1
    assert "SENSITIVE_RETIRED_KEYS" in result.output


def test_items_are_purged_after_the_retention_once_the_ticket_is_closed(runtime, settings):
    closed_long_ago, closed_recently, still_open = (make_ticket(runtime) for _ in range(3))
    for ticket_id in (closed_long_ago, closed_recently, still_open):
        add(runtime, ticket_id)
    now = utcnow()
    retention = timedelta(days=settings.sensitive_retention_days)
    with runtime.db.session() as session:
        for ticket_id, closed_at in (
            (closed_long_ago, now - retention - timedelta(hours=1)),
            (closed_recently, now - retention + timedelta(hours=1)),
        ):
            ticket = session.get(Ticket, ticket_id)
            ticket.status, ticket.closed_at = "closed", closed_at

    assert sensitive.purge_expired(runtime, now) == 1

    with runtime.db.session() as session:
        remaining = dict(
            session.execute(select(SensitiveItem.ticket_id, SensitiveItem.sealed)).all()
        )
        keys = set(session.scalars(select(TicketDataKey.ticket_id)))
    assert remaining[closed_long_ago] is None
    assert remaining[closed_recently] is not None
    assert remaining[still_open] is not None
    assert keys == {closed_recently, still_open}
    assert sensitive.reveal(runtime, closed_long_ago, ACCOUNTING_AGENT) == []
