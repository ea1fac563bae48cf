"""A ticket's history as people read it: German event names, field names and values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import Account, User
from helpdesk.labels import LABELS, label
from tickets.models import TicketEvent, format_number

# Which label table a changed field's values come from; other fields are shown as they are.
VALUE_KINDS = {
    "status": "status",
    "effective_priority": "priority",
    "requested_priority": "priority",
    "sender_match": "sender_match",
    "severity": "severity",
}


# Fields whose values are references an agent looks up (a rule's id in the rules file).
REFERENCES = {"routing_rule", "rules_version"}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str
    reference: bool = False


@dataclass(frozen=True)
class Entry:
    created_at: datetime
    actor: str
    action: str
    changes: list[Change]
    reason: str | None


def entries(
    session: Session, events: Iterable[TicketEvent], queue_names: Mapping[str, str]
) -> list[Entry]:
    """``events`` in words: ``Bearbeiter: – → Anna Agent``, not ``assignee_id: None → 6``."""
    events = list(events)
    staff_ids = {
        value
        for event in events
        for value in event.changes.get("assignee_id", ())
        if isinstance(value, int)
    }
    names = (
        dict(session.execute(select(User.id, User.name).where(User.id.in_(staff_ids))).all())
        if staff_ids
        else {}
    )
    account_ids = {
        value
        for event in events
        for value in event.changes.get("account_id", ())
        if isinstance(value, int)
    }
    accounts = {
        account_id: f"{number} – {company}"
        for account_id, number, company in session.execute(
            select(Account.id, Account.customer_number, Account.company).where(
                Account.id.in_(account_ids)
            )
        )
    }

    def shown(name: str, value: Any) -> str:
        if value is None or value == []:
            return "–"
        if name == "assignee_id":
            return names.get(value) or "–"
        if name == "account_id":
            return accounts.get(value) or "–"
        if name == "queue":
            return queue_names.get(value, value)
        if name == "merged_into_id":
            return format_number(value)
        if name in VALUE_KINDS:
            return label(value, VALUE_KINDS[name])
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        return str(value)

    return [
        Entry(
            created_at=event.created_at,
            actor=event.actor,
            action=label(event.action, "event"),
            changes=[
                Change(
                    label(name, "field"),
                    shown(name, before),
                    shown(name, after),
                    name in REFERENCES,
                )
                for name, (before, after) in event.changes.items()
                if name in LABELS["field"]
            ],
            reason=event.reason,
        )
        for event in events
    ]


def staff_name(session: Session, user_id: int | None) -> str | None:
    """The name the assignee ``user_id`` is shown by (its address when it has no name)."""
    if user_id is None:
        return None
    person = session.get(User, user_id)
    return None if person is None else person.name or person.email
