"""Tickets and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.db import Base, UTCDateTime, in_values, utcnow
from helpdesk.text import parse_id
from vocabulary import CHANNELS, PRIORITIES, STATUSES

MESSAGE_KINDS = ("customer", "agent", "internal")
OPEN_STATUSES = ("new", "open", "waiting")
BILLING_KINDS = ("critical_not_emergency",)


NUMBER_PREFIX = "HD-"


def format_number(ticket_id: int) -> str:
    return f"{NUMBER_PREFIX}{ticket_id:06d}"


def parse_number(text: str) -> int | None:
    """The ticket id in a number such as ``HD-000042`` (case-insensitive), else None."""
    prefix, _, digits = text.strip().upper().partition("-")
    if prefix + "-" != NUMBER_PREFIX:
        return None
    return parse_id(digits)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(in_values("channel", CHANNELS), name="channel"),
        CheckConstraint(in_values("requested_priority", PRIORITIES), name="requested_priority"),
        CheckConstraint(in_values("effective_priority", PRIORITIES), name="effective_priority"),
        CheckConstraint(in_values("status", STATUSES), name="status"),
        CheckConstraint("merged_into_id <> id", name="merged_into_other"),
        Index("ix_tickets_queue_status", "queue", "status"),
        # The customer's list: newest change first, read backwards (docs/performance.md).
        Index("ix_tickets_account_updated", "account_id", "updated_at", "id"),
        # The customer's list by number (newest first).
        Index("ix_tickets_account_number", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT")
    )  # None until known: mail from an unknown sender waits in triage
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    mailing_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailings.id", ondelete="SET NULL"), index=True
    )  # the mandatory mailing a customer answered by mail, which opened this ticket
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reply_to: Mapped[str] = mapped_column(String(320))
    product_family: Mapped[str] = mapped_column(String(120))
    component: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)  # the text as filed; replies are messages
    channel: Mapped[str] = mapped_column(String(10))
    requested_priority: Mapped[str] = mapped_column(String(10))
    effective_priority: Mapped[str] = mapped_column(String(10))
    queue: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default="new")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    sla_policy: Mapped[str | None] = mapped_column(String(60))
    emergency_review: Mapped[bool] = mapped_column(default=False)
    routing_rule: Mapped[str] = mapped_column(String(120))
    routing_rule_line: Mapped[int]
    rules_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SLA clock, kept by tickets.sla.clock.apply_sla (docs/sla.md): the policy applied, the
    # due times it gives, when they were met and how long that took in the policy's minutes.
    support_level: Mapped[str | None] = mapped_column(String(20))
    sla_key: Mapped[str | None] = mapped_column(String(60))  # e.g. "Silber/normal"
    sla_status: Mapped[str | None] = mapped_column(String(10))  # the status the clock last saw
    sla_next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    awaiting_reply_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_minutes: Mapped[float | None]
    resolution_minutes: Mapped[float | None]
    first_response_breached: Mapped[bool] = mapped_column(default=False)
    next_response_breached: Mapped[bool] = mapped_column(default=False)
    resolution_breached: Mapped[bool] = mapped_column(default=False)
    paging_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
    # Set when an agent merged this ticket into another (tickets.merging): closed, its number
    # redirects there.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="RESTRICT"), index=True
    )

    @property
    def number(self) -> str:
        """The number customers quote and mail subjects carry, e.g. ``HD-000042``."""
        return format_number(self.id)

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket", order_by="TicketMessage.id", cascade="all, delete-orphan"
    )


class TicketEvent(Base):
    """One entry of a ticket's history: who did what, with the values before and after."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketMessage(Base):
    """One entry of a ticket's thread: the customer's text, an agent's reply or an internal note.

    ``message_id`` is the RFC 5322 Message-ID of the e-mail that carried it in or out, so that
    replies thread and a message delivered twice is stored once.
    """

    __tablename__ = "ticket_messages"
    __table_args__ = (CheckConstraint(in_values("kind", MESSAGE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    author: Mapped[str] = mapped_column(String(320))
    channel: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    quoted: Mapped[str | None] = mapped_column(Text)
    # An agent's answer: the addresses it went to in Cc.
    cc: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    message_id: Mapped[str | None] = mapped_column(String(250), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")


class TicketAttachment(Base):
    """A file on a ticket; the bytes live under ``var/attachments``, named by ``storage_key``."""

    __tablename__ = "ticket_attachments"
    __table_args__ = (CheckConstraint("size >= 0", name="size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_messages.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(120), unique=True)
    uploaded_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketDataKey(Base):
    """A ticket's AES-256 data key, wrapped (AES-GCM) by the master key ``master_key_id``."""

    __tablename__ = "ticket_data_keys"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    master_key_id: Mapped[str] = mapped_column(String(16), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)  # 12-byte nonce + ciphertext + tag
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SensitiveItem(Base):
    """Access data a customer added ("Sensible Daten"): only the ciphertext is stored."""

    __tablename__ = "ticket_sensitive_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # None once purged
    added_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BillingEvent(Base):
    """Something billable on a ticket, e.g. a critical ticket that was no emergency."""

    __tablename__ = "ticket_billing_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", name="uq_ticket_billing_events_ticket_kind"),
        CheckConstraint(in_values("kind", BILLING_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TextModule(Base):
    """A Textbaustein: a reusable text of one queue whose placeholders are filled per ticket."""

    __tablename__ = "text_modules"
    __table_args__ = (UniqueConstraint("queue", "title", name="uq_text_modules_queue_title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(60), index=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SavedView(Base):
    """An agent's saved console list: a name of their choosing and the list's filter and order.

    ``query`` is the console's query string as the service normalised it (known keys only,
    e.g. ``queue=accounting&sort=priority``); only its owner sees, opens or changes it.
    """

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_views_user_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
