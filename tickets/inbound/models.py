"""What mail-in keeps besides tickets: every bounce that arrived, and who really sent a mail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, in_values, utcnow

BOUNCE_KINDS = ("failed", "delayed", "report")
SEVERITIES = ("hard", "soft")


class InboundBounce(Base):
    """One bounce or delivery report as it arrived, and the record it was matched to.

    ``kind`` is ``failed`` (a recipient did not get the message), ``delayed`` (a warning; the
    MTA still tries) or ``report`` (delivered, relayed, a complaint). A bounce that matches no
    delivery record and no ticket mail keeps its bytes in ``raw``, so it can be looked at.
    """

    __tablename__ = "inbound_bounces"
    __table_args__ = (
        CheckConstraint(in_values("kind", BOUNCE_KINDS), name="kind"),
        CheckConstraint(
            f"severity IS NULL OR {in_values('severity', SEVERITIES)}", name="severity"
        ),
        Index("ix_inbound_bounces_received_at", "received_at"),
        Index("ix_inbound_bounces_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message_id: Mapped[str | None] = mapped_column(String(250))
    mailbox: Mapped[str | None] = mapped_column(String(320))
    envelope_sender: Mapped[str | None] = mapped_column(String(320))
    from_header: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(250), default="")
    reader: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str | None] = mapped_column(String(4))
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    original_message_id: Mapped[str | None] = mapped_column(String(250))
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailing_deliveries.id", ondelete="SET NULL"), index=True
    )
    outbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="SET NULL"), index=True
    )
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)


class SenderCheckRecord(Base):
    """The SPF, DKIM and DMARC verdict on the From of one message taken by mail."""

    __tablename__ = "inbound_sender_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_message_id: Mapped[int] = mapped_column(
        ForeignKey("ticket_messages.id", ondelete="CASCADE"), unique=True
    )
    method: Mapped[str] = mapped_column(String(10))
    from_domain: Mapped[str] = mapped_column(String(255))
    spf: Mapped[str] = mapped_column(String(10))
    spf_domain: Mapped[str] = mapped_column(String(255), default="")
    dkim: Mapped[str] = mapped_column(String(10))
    dkim_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    dmarc: Mapped[str] = mapped_column(String(10))
    dmarc_policy: Mapped[str | None] = mapped_column(String(10))
    unverified: Mapped[bool] = mapped_column(default=False)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
