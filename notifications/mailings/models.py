"""Mandatory mailings ("Pflichtmailings") and their per-recipient delivery records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, in_values, utcnow

PURPOSES = ("security", "deadline", "maintenance", "outage", "data_protection")
BODY_FORMATS = ("markdown", "text")
AUDIENCE_KINDS = ("all", "editions", "products", "accounts")
MAILING_STATES = ("draft", "sending", "paused", "cancelled", "done")
DELIVERY_STATES = ("queued", "sending", "sent", "deferred", "bounced", "failed", "cancelled")
OPEN_DELIVERY_STATES = ("queued", "sending", "deferred")
IN_FLIGHT = "state IN ('sending', 'deferred')"
RESENDS = "resend_of_id IS NOT NULL"
ATTEMPT_OUTCOMES = ("sent", "deferred", "failed")
REASONS = ("first_contact", "contact_person", "emergency", "data_protection")


class Mailing(Base):
    """One matter sent to every affected account; content is frozen when it is composed.

    ``text_skeleton``/``html_skeleton`` are the rendered mail with ``slot_token`` slots for the
    per-account values, so sending and the e-mail history never render the template again.
    """

    __tablename__ = "mailings"
    __table_args__ = (
        CheckConstraint(in_values("purpose", PURPOSES), name="purpose"),
        CheckConstraint(in_values("body_format", BODY_FORMATS), name="body_format"),
        CheckConstraint(in_values("audience_kind", AUDIENCE_KINDS), name="audience_kind"),
        CheckConstraint(in_values("state", MAILING_STATES), name="state"),
        CheckConstraint("approved_by IS NULL OR approved_by <> created_by", name="four_eyes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_family: Mapped[str] = mapped_column(String(120))
    banner_colour: Mapped[str] = mapped_column(String(7))
    purpose: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    body_format: Mapped[str] = mapped_column(String(10), default="markdown")
    audience_kind: Mapped[str] = mapped_column(String(10), default="all")
    audience_values: Mapped[list[str]] = mapped_column(JSON, default=list)
    follows_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailings.id", ondelete="RESTRICT"), index=True
    )
    # A draft with a time is started by the periodic mailing tick (the database is the truth).
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_by: Mapped[str | None] = mapped_column(String(320))
    slot_token: Mapped[str] = mapped_column(String(40))
    text_skeleton: Mapped[str] = mapped_column(Text)
    html_skeleton: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="draft")
    created_by: Mapped[str] = mapped_column(String(320))
    approved_by: Mapped[str | None] = mapped_column(String(320))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "product_family": self.product_family,
            "purpose": self.purpose,
            "subject": self.subject,
            "audience": {"kind": self.audience_kind, "values": list(self.audience_values)},
            "follows": self.follows_id,
            "state": self.state,
            "created_by": self.created_by,
            "approved_by": self.approved_by,
            "recipients": self.recipients,
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
        }


class MailingDelivery(Base):
    """One address of one account for one mailing: why it was chosen and what happened.

    Rows are written by audience resolution before sending starts. The state moves
    queued -> sending -> sent | deferred | bounced | failed (or cancelled); only a worker whose
    claim moved the row to ``sending`` may hand it to the SMTP server, and the result is
    committed per message. ``company``/``customer_number`` are the values the message was
    personalised with, so the e-mail history can show it as sent.
    """

    __tablename__ = "mailing_deliveries"
    # Audience resolution writes a record per recipient (392,000 for 100,000 accounts), so every
    # index costs there: three take a new record (docs/performance.md, "Audience resolution").
    # The unique constraint leads with the account and serves the account's e-mail history.
    __table_args__ = (
        UniqueConstraint(
            "account_id", "mailing_id", "address", name="uq_mailing_deliveries_address"
        ),
        CheckConstraint(in_values("state", DELIVERY_STATES), name="state"),
        CheckConstraint(in_values("reason", REASONS), name="reason"),
        Index("ix_mailing_deliveries_mailing_state", "mailing_id", "state"),
        # Only records in flight: the reaper's and the retry's; a queued record is not in it.
        Index(
            "ix_mailing_deliveries_state_next_attempt",
            "state",
            "next_attempt_at",
            postgresql_where=text(IN_FLIGHT),
            sqlite_where=text(IN_FLIGHT),
        ),
        # ON DELETE SET NULL of the link below looks here (a record's delete, an account's).
        Index(
            "ix_mailing_deliveries_resend_of_id",
            "resend_of_id",
            postgresql_where=text(RESENDS),
            sqlite_where=text(RESENDS),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailings.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    domain: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(20))
    company: Mapped[str] = mapped_column(String(200))
    customer_number: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "Nachsenden": this record replaces the bounced record it names, threaded as its message.
    resend_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailing_deliveries.id", ondelete="SET NULL")
    )
    # When the bounce repair loop took notice of this record's hard bounce (told the customer).
    bounce_noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailingAttempt(Base):
    """One hand-over of a delivery record's message to the SMTP server and the server's reply.

    Written in the transaction that records the outcome on the delivery record, so the proof
    of delivery lists every attempt exactly as the record's state came about.
    """

    __tablename__ = "mailing_attempts"
    __table_args__ = (CheckConstraint(in_values("outcome", ATTEMPT_OUTCOMES), name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("mailing_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(10))
    smtp_code: Mapped[int | None]
    smtp_text: Mapped[str] = mapped_column(Text, default="")


class UndeliverableAddress(Base):
    """An address of an account that hard-bounced mandatory mailings twice or more.

    Shown beside the address wherever the customer edits it; the account owner is told once.
    """

    __tablename__ = "undeliverable_addresses"
    __table_args__ = (
        UniqueConstraint("account_id", "address", name="uq_undeliverable_addresses_address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))  # lower-cased, as the *_key columns
    hard_bounces: Mapped[int] = mapped_column(default=0)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    owner_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
