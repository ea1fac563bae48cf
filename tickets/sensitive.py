"""Sensitive data ("Sensible Daten hinzufügen"): access data encrypted at rest.

Envelope encryption with AES-256-GCM: each ticket has its own random data key; the data key is
stored wrapped (AES-256-GCM) by a master key from the configuration, and every item is sealed
with the data key. Both ciphertexts are bound to the ticket id (associated data), so a sealed
item copied to another ticket does not open. Rotating the master key re-wraps the data keys
only; an item is sealed again only when a merge moves it to another ticket (``move_items``).
Plaintext is returned only by ``reveal``, which checks the caller is an agent of the ticket's
queue and writes an audit entry in the same transaction."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.config import Settings
from helpdesk.db import rows_changed, utcnow
from helpdesk.runtime import Runtime
from helpdesk.security import Principal
from helpdesk.text import body_text_problem, header_text_problem
from tickets.models import SensitiveItem, Ticket, TicketDataKey, TicketEvent

NONCE_BYTES = 12
LABEL_MAX = 120
SECRET_MAX = 4000
ROTATE_BATCH = 500


class SensitiveDataError(Exception):
    """Sensitive data cannot be stored or shown; the message is German and safe to display."""


class MissingMasterKey(Exception):
    """A data key is wrapped by a master key that is neither active nor retired."""


class NotAllowed(Exception):
    """The caller may not see this ticket's sensitive data."""


@dataclass(frozen=True)
class MasterKey:
    id: str
    key: bytes = field(repr=False)

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        key = base64.urlsafe_b64decode(text.encode("ascii"))
        return cls(hashlib.sha256(key).hexdigest()[:16], key)


@dataclass(frozen=True)
class Keyring:
    """The active master key (wraps new and rotated data keys) and retired ones (unwrap only)."""

    active: MasterKey
    retired: tuple[MasterKey, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        active = MasterKey.from_text(settings.sensitive_master_key)
        retired = tuple(MasterKey.from_text(text) for text in settings.sensitive_retired_keys)
        return cls(active, tuple(key for key in retired if key.id != active.id))

    def get(self, key_id: str) -> MasterKey:
        for key in (self.active, *self.retired):
            if key.id == key_id:
                return key
        raise MissingMasterKey(f"master key {key_id} is not configured")

    def wrap(self, data_key: bytes, ticket_id: int) -> bytes:
        return _seal(self.active.key, data_key, _wrap_context(ticket_id))

    def unwrap(self, wrapped: TicketDataKey) -> bytes:
        key = self.get(wrapped.master_key_id)
        return _open(key.key, wrapped.wrapped_key, _wrap_context(wrapped.ticket_id))


@dataclass(frozen=True)
class RevealedItem:
    """One item in plain text; its repr hides the value so it cannot leak into logs."""

    id: int
    label: str
    added_by: str
    created_at: datetime
    value: str = field(repr=False)


@dataclass(frozen=True)
class ItemSummary:
    """What any view of the ticket may show: that an item exists, never its value."""

    id: int
    label: str
    created_at: datetime
    purged: bool


def _wrap_context(ticket_id: int) -> bytes:
    return f"helpdesk:data-key:ticket:{ticket_id}".encode()


def _item_context(ticket_id: int) -> bytes:
    return f"helpdesk:sensitive-item:ticket:{ticket_id}".encode()


def _seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def _open(key: bytes, sealed: bytes, context: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
    except InvalidTag:
        raise SensitiveDataError("Die Daten lassen sich nicht entschlüsseln.") from None


def check_item(label: str, value: str) -> dict[str, str]:
    """Field errors (German) for an item a customer wants to add; empty when it is fine."""
    errors: dict[str, str] = {}
    if not label.strip():
        errors["sensitive_label"] = "Bitte geben Sie an, wofür die Zugangsdaten sind."
    elif len(label) > LABEL_MAX or header_text_problem(label):
        errors["sensitive_label"] = f"Höchstens {LABEL_MAX} Zeichen in einer Zeile."
    if not value.strip():
        errors["sensitive_value"] = "Bitte geben Sie die Zugangsdaten ein."
    elif len(value) > SECRET_MAX or body_text_problem(value):
        errors["sensitive_value"] = f"Höchstens {SECRET_MAX} Zeichen."
    return errors


def add_item(
    session: Session, keyring: Keyring, ticket_id: int, label: str, value: str, actor: str
) -> SensitiveItem:
    """Seal ``value`` with the ticket's data key (created on first use) in the caller's session."""
    errors = check_item(label, value)
    if errors:
        raise SensitiveDataError(" ".join(errors.values()))
    data_key = _data_key(session, keyring, ticket_id)
    item = SensitiveItem(
        ticket_id=ticket_id,
        label=label.strip(),
        sealed=_seal(data_key, value.encode("utf-8"), _item_context(ticket_id)),
        added_by=actor,
    )
    session.add(item)
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            actor=actor,
            action="sensitive_data.added",
            changes={"label": [None, item.label]},
        )
    )
    return item


def summaries(session: Session, ticket_id: int) -> list[ItemSummary]:
    rows = session.execute(
        select(
            SensitiveItem.id, SensitiveItem.label, SensitiveItem.created_at, SensitiveItem.purged_at
        )
        .where(SensitiveItem.ticket_id == ticket_id)
        .order_by(SensitiveItem.id)
    )
    return [
        ItemSummary(row.id, row.label, row.created_at, row.purged_at is not None) for row in rows
    ]


def may_reveal(principal: Principal, ticket: Ticket) -> bool:
    """Only an agent of the ticket's queue may see the plain text."""
    queues = principal.attributes.get("queues") or ()
    return principal.has("agent") and ticket.queue in queues


def reveal(runtime: Runtime, ticket_id: int, principal: Principal) -> list[RevealedItem]:
    """Open the ticket's items for ``principal`` and audit the reveal; raise NotAllowed."""
    keyring = Keyring.from_settings(runtime.settings)
    with runtime.db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not may_reveal(principal, ticket):
            raise NotAllowed(f"{principal.id} may not reveal sensitive data of ticket {ticket_id}")
        items = session.scalars(
            select(SensitiveItem)
            .where(SensitiveItem.ticket_id == ticket_id, SensitiveItem.sealed.is_not(None))
            .order_by(SensitiveItem.id)
        ).all()
        wrapped = session.get(TicketDataKey, ticket_id)
        if not items or wrapped is None:
            return []
        data_key = keyring.unwrap(wrapped)
        context = _item_context(ticket_id)
        revealed = [
            RevealedItem(
                id=item.id,
                label=item.label,
                added_by=item.added_by,
                created_at=item.created_at,
                value=_open(data_key, item.sealed or b"", context).decode("utf-8"),
            )
            for item in items
        ]
        session.add(
            TicketEvent(
                ticket_id=ticket_id,
                actor=principal.id,
                action="sensitive_data.revealed",
                changes={"items": [None, [item.id for item in items]]},
            )
        )
    return revealed


def move_items(session: Session, keyring: Keyring, source_id: int, target_id: int) -> int:
    """Move every item of ticket ``source_id`` to ``target_id`` (a merge); return how many.

    Items are bound to their ticket, so each is opened with the source's data key and sealed
    again with the target's (created when it has none); the source's data key is deleted.
    The plain text exists only inside this function. Purged items move as they are.
    """
    items = session.scalars(
        select(SensitiveItem).where(SensitiveItem.ticket_id == source_id).order_by(SensitiveItem.id)
    ).all()
    source_key = session.get(TicketDataKey, source_id)
    sealed = [item for item in items if item.sealed is not None]
    if sealed and source_key is not None:
        opened_key = keyring.unwrap(source_key)
        target_key = _data_key(session, keyring, target_id)
        for item in sealed:
            value = _open(opened_key, item.sealed or b"", _item_context(source_id))
            item.sealed = _seal(target_key, value, _item_context(target_id))
    for item in items:
        item.ticket_id = target_id
    if source_key is not None:
        session.delete(source_key)
    return len(items)


def _data_key(session: Session, keyring: Keyring, ticket_id: int) -> bytes:
    """The ticket's data key, created (and stored wrapped) on first use."""
    wrapped = session.get(TicketDataKey, ticket_id)
    if wrapped is not None:
        return keyring.unwrap(wrapped)
    data_key = AESGCM.generate_key(bit_length=256)
    session.add(
        TicketDataKey(
            ticket_id=ticket_id,
            master_key_id=keyring.active.id,
            wrapped_key=keyring.wrap(data_key, ticket_id),
        )
    )
    return data_key


def rotate(runtime: Runtime) -> int:
    """Re-wrap every data key not wrapped by the active master key; return how many."""
    keyring = Keyring.from_settings(runtime.settings)
    rotated = 0
    while True:
        with runtime.db.session() as session:
            batch = session.scalars(
                select(TicketDataKey)
                .where(TicketDataKey.master_key_id != keyring.active.id)
                .limit(ROTATE_BATCH)
            ).all()
            for wrapped in batch:
                wrapped.wrapped_key = keyring.wrap(keyring.unwrap(wrapped), wrapped.ticket_id)
                wrapped.master_key_id = keyring.active.id
                wrapped.rotated_at = utcnow()
        rotated += len(batch)
        if len(batch) < ROTATE_BATCH:
            return rotated


def key_usage(runtime: Runtime) -> dict[str, int]:
    """How many data keys each master key wraps (for ``helpdesk keys status``)."""
    with runtime.db.session() as session:
        ids = session.scalars(select(TicketDataKey.master_key_id)).all()
    usage: dict[str, int] = {}
    for key_id in ids:
        usage[key_id] = usage.get(key_id, 0) + 1
    return usage


def purge_expired(runtime: Runtime, now: datetime | None = None) -> int:
    """Destroy the items of tickets closed longer than the retention; return how many items."""
    now = now or utcnow()
    cutoff = now - timedelta(days=runtime.settings.sensitive_retention_days)
    with runtime.db.session() as session:
        expired = select(Ticket.id).where(Ticket.status == "closed", Ticket.closed_at < cutoff)
        ticket_ids = session.scalars(
            select(SensitiveItem.ticket_id)
            .where(SensitiveItem.ticket_id.in_(expired), SensitiveItem.sealed.is_not(None))
            .distinct()
        ).all()
        if not ticket_ids:
            return 0
        purged = rows_changed(
            session,
            update(SensitiveItem)
            .where(SensitiveItem.ticket_id.in_(ticket_ids), SensitiveItem.sealed.is_not(None))
            .values(sealed=None, purged_at=now),
        )
        # Without its data key nothing sealed for the ticket can ever be opened again.
        for wrapped in session.scalars(
            select(TicketDataKey).where(TicketDataKey.ticket_id.in_(ticket_ids))
        ):
            session.delete(wrapped)
        session.add_all(
            TicketEvent(ticket_id=ticket_id, actor="system", action="sensitive_data.purged")
            for ticket_id in ticket_ids
        )
    return purged
