"""Outbound messages: the transactional outbox every e-mail of the service passes through."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow

# discarded: given up by an ops person (failed-work page), never sent
OUTBOUND_STATES = ("queued", "sending", "sent", "deferred", "failed", "discarded")


class OutboundMessage(Base):
    """One e-mail to one recipient, written in the same transaction as what caused it.

    ``dedupe_key`` makes queueing idempotent (one acknowledgement per ticket); the state moves
    queued -> sending -> sent | deferred | failed, and only a worker that wins the
    queued/deferred -> sending update may talk to the SMTP server.
    """

    __tablename__ = "outbound_messages"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in OUTBOUND_STATES)})", name="state"),
        Index("ix_outbound_messages_state_updated_at", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(320))
    cc: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))  # Cc addresses
    subject: Mapped[str] = mapped_column(String(500))
    template: Mapped[str] = mapped_column(String(80))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    in_reply_to: Mapped[str | None] = mapped_column(String(250))
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    smtp_reply: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
