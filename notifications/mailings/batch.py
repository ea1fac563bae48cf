"""Sending one batch of a mailing's delivery records over one SMTP connection.

Crash safety: a batch first claims its records (queued/due deferred -> sending, with the
claimer's name and time) in one committed UPDATE; then each message's outcome is committed on
its own right after the SMTP server answers. A worker killed at any moment therefore leaves
only records that are either finished or still ``sending``; the reaper returns ``sending``
records whose lease has run out to ``deferred`` and they are sent again. Only the one message
whose DATA the server had accepted but whose outcome was not yet committed is sent twice,
with the same Message-ID.

Speed: two stages overlap. This thread throttles, builds and signs the next message while a
sender thread waits for the SMTP server's replies to the previous one and records the
outcome; at most ``PIPELINE_DEPTH`` signed messages wait between them (never sent, so a kill
loses nothing there either).
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from helpdesk.db import rows_changed, utcnow
from helpdesk.runtime import Runtime
from notifications import messages
from notifications.mailings import bounces, outcomes
from notifications.mailings.messages import AttachmentRefused, MessageFactory, Thread, threads
from notifications.mailings.models import Mailing, MailingDelivery
from notifications.mailings.providers import mailing_providers
from notifications.mailings.throttle import Throttle
from notifications.smtp import SmtpConnection, SmtpResult, SmtpTransport, SmtpUnavailable

CONTROL_CHECK_SECONDS = 0.5  # how often a running batch looks for pause or cancel
RECONNECTS = 1  # after a dropped connection, one new one per batch; then the rest waits
PIPELINE_DEPTH = 2


@dataclass
class BatchResult:
    claimed: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, state: str) -> None:
        self.counts[state] = self.counts.get(state, 0) + 1


@dataclass(frozen=True)
class _Prepared:
    """A signed message for one record, or (``raw`` None) a record the throttle deferred, or
    one whose message cannot be built (``not_built`` says why)."""

    row: Row[Any]
    recipient: str = ""
    raw: bytes | None = None
    date: datetime | None = None
    retry_in: float = 0.0
    not_built: str | None = None


class _Smtp:
    """One SMTP connection per batch, opened on first use and re-opened at most RECONNECTS."""

    def __init__(self, url: str) -> None:
        self._transport = SmtpTransport(url, "mailing")
        self._stack = ExitStack()
        self._connection: SmtpConnection | None = None
        self._opened = 0

    def send(self, sender: str, recipient: str, raw: bytes) -> SmtpResult:
        if self._connection is None:
            if self._opened > RECONNECTS:
                raise SmtpUnavailable("too many dropped connections in this batch")
            self._opened += 1
            self._connection = self._stack.enter_context(self._transport.connect())
        try:
            return self._connection.send(sender, recipient, raw)
        except SmtpUnavailable:
            self.close()
            raise

    @property
    def can_reconnect(self) -> bool:
        return self._opened <= RECONNECTS

    def close(self) -> None:
        self._connection = None
        self._stack.close()
        self._stack = ExitStack()


@contextmanager
def _closing(smtp: _Smtp) -> Iterator[_Smtp]:
    try:
        yield smtp
    finally:
        smtp.close()


def claimer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def send_batch(runtime: Runtime, mailing_id: int, first_id: int, last_id: int) -> BatchResult:
    """Claim and send the due records of ``mailing_id`` with ids in [first_id, last_id]."""
    settings = runtime.settings
    claimer = claimer_name()
    result = BatchResult()
    with runtime.db.session() as session:
        mailing = session.get(Mailing, mailing_id)
        if mailing is None or mailing.state != "sending":
            return result
        now = utcnow()
        result.claimed = rows_changed(
            session,
            update(MailingDelivery)
            .where(
                MailingDelivery.mailing_id == mailing_id,
                MailingDelivery.id.between(first_id, last_id),
                (MailingDelivery.state == "queued")
                | (
                    (MailingDelivery.state == "deferred") & (MailingDelivery.next_attempt_at <= now)
                ),
            )
            .values(state="sending", claimed_by=claimer, claimed_at=now, updated_at=now),
        )
    if not result.claimed:
        return result
    with runtime.db.session() as session:
        rows = session.execute(
            select(
                MailingDelivery.id,
                MailingDelivery.account_id,
                MailingDelivery.address,
                MailingDelivery.domain,
                MailingDelivery.company,
                MailingDelivery.customer_number,
                MailingDelivery.attempts,
            )
            .where(MailingDelivery.claimed_by == claimer, MailingDelivery.state == "sending")
            .order_by(MailingDelivery.account_id, MailingDelivery.id)
        ).all()
        thread_of = threads(session, settings, mailing, ((r.account_id, r.address) for r in rows))
    try:
        _send_rows(runtime, mailing, claimer, rows, thread_of, result)
    except Exception:
        # The job fails and shows on the failed-work page; retrying it must find the records.
        with runtime.db.engine.connect() as db:
            outcomes.give_back(db, claimer)
        raise
    return result


class _Sender(threading.Thread):
    """The second stage: sends prepared messages over one connection, records each outcome."""

    def __init__(self, runtime: Runtime, claimer: str, result: BatchResult) -> None:
        super().__init__(name=f"mailing-sender-{claimer}", daemon=True)
        self.runtime, self.claimer, self.result = runtime, claimer, result
        self.max_attempts = runtime.settings.mailing_max_attempts
        self.inbox: queue.Queue[_Prepared | None] = queue.Queue(maxsize=PIPELINE_DEPTH)
        self.gone: str | None = None  # why the SMTP server cannot take more, once it cannot
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with (
                self.runtime.db.engine.connect() as db,
                _closing(_Smtp(self.runtime.settings.smtp_url)) as smtp,
            ):
                while (item := self.inbox.get()) is not None:
                    if self.gone is None:
                        self._deliver(db, smtp, item)
        except BaseException as error:  # handed to the first stage, which re-raises it
            self.error = error
            self.gone = self.gone or f"sender failed: {error}"
            while self.inbox.get() is not None:
                pass

    def _deliver(self, db: Any, smtp: _Smtp, item: _Prepared) -> None:
        row, claimer = item.row, self.claimer
        if item.not_built is not None:
            outcomes.record(db, row, claimer, "failed", f"not built: {item.not_built}")
            self.result.add("failed")
            return
        if item.raw is None:
            outcomes.record(
                db, row, claimer, "deferred", "throttled", retry_in=item.retry_in, attempt=False
            )
            self.result.add("deferred")
            return
        sender = bounces.verp_address(self.runtime.settings, row.id)
        try:
            outcome = smtp.send(sender, item.recipient, item.raw)
        except SmtpUnavailable as error:
            self.result.add(outcomes.temporary(db, self.max_attempts, row, claimer, str(error)))
            if not smtp.can_reconnect:
                self.gone = str(error)
            return
        if outcome.sent:
            outcomes.record(db, row, claimer, "sent", outcome.reply, date=item.date)
            self.result.add("sent")
        elif outcome.outcome == "temporary":
            self.result.add(outcomes.temporary(db, self.max_attempts, row, claimer, outcome.reply))
        else:
            outcomes.record(db, row, claimer, "failed", outcome.reply)
            self.result.add("failed")


def _send_rows(
    runtime: Runtime,
    mailing: Mailing,
    claimer: str,
    rows: Sequence[Row[*tuple[Any, ...]]],
    thread_of: dict[tuple[int, str], Thread],
    result: BatchResult,
) -> None:
    settings = runtime.settings
    factory = MessageFactory(settings, mailing)
    throttle = Throttle(
        runtime.redis,
        settings.mailing_rate,
        settings.mailing_domain_rate,
        mailing_providers(settings),
    )
    sender = _Sender(runtime, claimer, result)
    sender.start()
    stopped_by: str | None = None
    next_check = time.monotonic() + CONTROL_CHECK_SECONDS
    runs = _domain_runs(rows)
    with runtime.db.engine.connect() as db:
        try:
            for row, run in zip(rows, runs, strict=True):
                if sender.gone is not None:
                    break
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + CONTROL_CHECK_SECONDS
                    state = db.scalar(select(Mailing.state).where(Mailing.id == mailing.id))
                    db.commit()
                    if state != "sending":
                        stopped_by = state or "cancelled"
                        break
                delay = throttle.acquire(row.domain, run)
                if delay:
                    sender.inbox.put(_Prepared(row, retry_in=delay))
                    continue
                date = utcnow()
                try:
                    message = factory.compose(
                        delivery_id=row.id,
                        recipient=_transport_address(row.address),
                        company=row.company,
                        customer_number=row.customer_number,
                        date=date,
                        thread=thread_of.get((row.account_id, row.address)),
                    )
                except (ValueError, AttachmentRefused) as error:
                    # The same data builds the same failure: the record fails for good.
                    sender.inbox.put(_Prepared(row, not_built=str(error)))
                    continue
                raw = message.signed(settings.dkim_domain, runtime.dkim_keys)
                sender.inbox.put(_Prepared(row, message.recipient, raw, date))
        finally:
            sender.inbox.put(None)
            sender.join()
        # Only now, with the sender finished, may the records it did not reach be given back.
        if sender.gone is not None:
            outcomes.defer_rest(db, claimer, sender.gone)
        elif stopped_by is not None:
            outcomes.release(db, claimer, stopped_by)
    if sender.error is not None:
        raise sender.error


def _domain_runs(rows: Sequence[Row[Any]]) -> list[int]:
    """For each row, how many rows from it on go to the same domain (the throttle reserves
    their slots at once); rows come ordered by account, so an account's addresses are a run."""
    runs = [1] * len(rows)
    for n in range(len(rows) - 2, -1, -1):
        if rows[n].domain == rows[n + 1].domain:
            runs[n] = runs[n + 1] + 1
    return runs


def _transport_address(address: str) -> str:
    """Audience resolution stores addresses lower-cased, so an ASCII one already travels as it
    is; only an internationalised one needs the IDNA form (the check costs 0.03 ms a message)."""
    return address if address.isascii() else messages.transport_address(address)
