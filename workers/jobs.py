"""RQ jobs: each takes plain ids, loads what it needs through the runtime, does one thing."""

from __future__ import annotations

from helpdesk.runtime import current
from notifications import services as notifications


def deliver_outbound(outbound_id: int) -> str:
    """Send one outbox message (idempotent: a sent message is never sent again)."""
    return notifications.deliver(current(), outbound_id)


def sweep_outbox() -> list[int]:
    """Re-enqueue outbox messages whose job was lost (Redis down at commit, worker killed)."""
    return notifications.requeue_stale(current())
