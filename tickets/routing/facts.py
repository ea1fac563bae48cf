"""What the engine is asked (TicketFacts) and what it answers (Decision)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """Everything routing may look at, taken from a ticket before it is stored."""

    product_family: str | None = None
    component: str | None = None
    department: str | None = None
    subject: str = ""
    body: str = ""
    channel: str = "web"  # vocabulary.CHANNELS
    requested_priority: str = "normal"  # vocabulary.PRIORITIES
    mailbox: str | None = None  # recipient address for channel=email
    edition: str | None = None  # an edition's name, e.g. "JTL Pro" (vocabulary.EDITIONS)
    support_level: str | None = None  # vocabulary.SUPPORT_LEVELS
    license_locked: bool = False


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One rule the engine looked at, and why it did or did not match (``failed``: the key of
    the first condition that did not hold)."""

    rule_id: str
    line: int
    matched: bool
    reason: str
    failed: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "line": self.line,
            "matched": self.matched,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a ticket goes: ``priority`` is effective, ``requested_priority`` the customer's."""

    queue: str
    priority: str
    requested_priority: str
    rule_id: str
    rule_line: int
    tags: tuple[str, ...]
    sla_policy: str | None
    emergency_review: bool
    rules_version: str
    trace: tuple[TraceStep, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "priority": self.priority,
            "requested_priority": self.requested_priority,
            "rule": {"id": self.rule_id, "line": self.rule_line},
            "tags": list(self.tags),
            "sla_policy": self.sla_policy,
            "emergency_review": self.emergency_review,
            "rules_version": self.rules_version,
            "trace": [step.to_dict() for step in self.trace],
        }
