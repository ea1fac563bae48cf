"""Tables of the SLA clock: a ticket's pauses and the escalation steps planned and fired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.db import Base, UTCDateTime, utcnow

STEPS = (
    "warn_first_response",
    "breach_first_response",
    "warn_next_response",
    "breach_next_response",
    "warn_resolution",
    "breach_resolution",
    "page",
)


class SlaPause(Base):
    """A span in which the ticket's clock stood still (waiting for the customer, resolved).

    ``ended_at`` is None while the pause runs.
    """

    __tablename__ = "ticket_sla_pauses"
    __table_args__ = (CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="span"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SlaEscalation(Base):
    """One step of a ticket's escalation ladder, planned for ``fire_at``.

    The unique key (ticket, step, due time) means a step exists once per due time; claiming
    it (setting ``fired_at`` where it is still empty) is what makes it fire exactly once, even
    when its timer job and the reconcile job run at the same time. For ``page`` steps
    ``due_at`` is the page's slot in the repeat schedule.
    """

    __tablename__ = "sla_escalations"
    __table_args__ = (
        UniqueConstraint("ticket_id", "step", "due_at", name="uq_sla_escalations_step"),
        CheckConstraint("step IN (" + ", ".join(f"'{step}'" for step in STEPS) + ")", name="step"),
        Index("ix_sla_escalations_pending", "fired_at", "fire_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(30))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
