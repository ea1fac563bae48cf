"""Failed and stuck work from every part of the service, and the two remedies, audited.

Each part keeps its own rules (``helpdesk.broker`` for RQ's failed jobs, the outbox, the
mailings' delivery records, mail-in's quarantine); this module names the items with one key
(``job:ID``, ``outbox:ID``, ``delivery:ID``, ``quarantine:NAME``), dispatches a retry or a
discard to the part that owns the item, and writes the audit entry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from accounts.models import AuditEntry
from accounts.services import record_audit
from helpdesk import broker
from helpdesk.runtime import Runtime
from notifications.mailings import failed as deliveries
from notifications.outbox import services as outbox
from tickets.inbound import quarantine
from tickets.inbound.services import MailDeferred, MailRefused, release

KINDS = ("job", "outbox", "delivery", "quarantine")
AUDIT_ACTIONS = ("failed_work.retried", "failed_work.discarded")
NOTHING_LEFT = "gesendet, verworfen oder gerade unterwegs"


class UnknownItem(LookupError):
    """No such item (any more): it was retried, discarded or finished meanwhile."""


class NotDone(Exception):
    """The item is there, but the action could not be done; the message says why."""


@dataclass(frozen=True)
class Item:
    key: str  # kind:id, what the page's buttons and the CLI take
    kind: str
    subject: str  # what it is: the job's call, the recipient, the mailbox
    state: str
    reason: str  # the error, the SMTP reply, the quarantine reason
    detail: str  # the traceback, when there is one
    since: datetime | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"since": self.since.isoformat() if self.since else None}


def collect(runtime: Runtime) -> list[Item]:
    """Everything that failed or waits, grouped by kind, newest first within each."""
    items = [
        Item(f"job:{job.id}", "job", job.call, "failed", job.error, job.traceback, job.failed_at)
        for job in broker.failed_jobs(runtime.redis)
    ]
    items += [
        Item(
            f"outbox:{message.id}",
            "outbox",
            f"{message.recipient}: {message.subject}",
            message.state,
            message.smtp_reply or "",
            "",
            message.updated_at,
        )
        for message in outbox.failed_or_waiting(runtime)
    ]
    items += [
        Item(
            f"delivery:{record.id}",
            "delivery",
            f"Mailing {record.mailing_id}: {record.address}",
            record.state,
            record.smtp_reply or "",
            "",
            record.updated_at,
        )
        for record in deliveries.failed_or_waiting(runtime)
    ]
    items += [
        Item(
            f"quarantine:{name}",
            "quarantine",
            str(record.get("mailbox") or "-"),
            "quarantined",
            str(record["reason"]),
            "",
            datetime.fromisoformat(str(record["received_at"])),
        )
        for name, record in quarantine.entries(runtime.settings)
    ]
    return items


def retry(runtime: Runtime, key: str, actor: str) -> str:
    """Retry the item (release a quarantined mail into intake); returns what happened."""
    kind, ident = _parse(key)
    try:
        if kind == "job":
            result = f"wieder in der Warteschlange {broker.retry_failed_job(runtime.redis, ident)}"
        elif kind == "outbox":
            outbox.retry(runtime, int(ident))
            result = "wird erneut gesendet"
        elif kind == "delivery":
            deliveries.retry(runtime, int(ident))
            result = "wird erneut gesendet"
        else:
            outcome = release(runtime, ident)
            result = " ".join(filter(None, (outcome.action, outcome.ticket, outcome.reason)))
    except (LookupError, KeyError):
        raise UnknownItem(key) from None
    except (outbox.NotRetryable, deliveries.NotRetryable):
        raise NotDone(
            f"{key}: nichts zu wiederholen (gesendet, verworfen oder unterwegs)"
        ) from None
    except (MailRefused, MailDeferred) as error:
        _audit(runtime, "failed_work.retried", key, actor, f"{error.smtp} {error}")
        raise NotDone(f"{key}: wieder abgewiesen ({error.smtp}): {error}") from None
    _audit(runtime, "failed_work.retried", key, actor, result)
    return result


def discard(runtime: Runtime, key: str, actor: str) -> str:
    """Give the item up for good; returns what happened."""
    kind, ident = _parse(key)
    try:
        if kind == "job":
            broker.discard_failed_job(runtime.redis, ident)
        elif kind == "outbox":
            outbox.discard(runtime, int(ident))
        elif kind == "delivery":
            deliveries.discard(runtime, int(ident))
        else:
            quarantine.discard(runtime.settings, ident)
    except (LookupError, KeyError):
        raise UnknownItem(key) from None
    except (outbox.NotRetryable, deliveries.NotRetryable):
        raise NotDone(f"{key}: nichts zu verwerfen ({NOTHING_LEFT})") from None
    _audit(runtime, "failed_work.discarded", key, actor, "verworfen")
    return "verworfen"


def recent_actions(runtime: Runtime, limit: int = 20) -> list[AuditEntry]:
    """The latest retries and discards, newest first."""
    with runtime.db.reading() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.account_id.is_(None), AuditEntry.action.in_(AUDIT_ACTIONS))
                .order_by(AuditEntry.id.desc())
                .limit(limit)
            )
        )


def _parse(key: str) -> tuple[str, str]:
    kind, _, ident = key.partition(":")
    if kind not in KINDS or not ident or (kind in ("outbox", "delivery") and not ident.isdigit()):
        raise UnknownItem(key)
    return kind, ident


def _audit(runtime: Runtime, action: str, key: str, actor: str, result: str) -> None:
    with runtime.db.session() as session:
        record_audit(
            session,
            account_id=None,
            actor=actor,
            action=action,
            after={"item": key, "result": result},
        )
