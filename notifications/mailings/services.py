"""Mandatory mailings: compose, preview, test-send, approve (four eyes), send, pause, cancel.

These functions own the rules and the transactions; the CLI, the API and the ops pages only
parse input and call them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from typing import Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from redis.exceptions import RedisError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from accounts.models import Account
from helpdesk import logs
from helpdesk.db import utcnow
from helpdesk.i18n import address_reason
from helpdesk.runtime import Runtime
from notifications import dkim_fast, messages
from notifications.mailings import audience, composing, dispatch
from notifications.mailings.composing import MailingDraft
from notifications.mailings.messages import SENDER_NAME
from notifications.mailings.models import DELIVERY_STATES, Mailing, MailingDelivery
from notifications.smtp import SmtpResult, SmtpTransport
from tickets.routing import routing_rules

log = logging.getLogger(__name__)

SAMPLE_ACCOUNT = ("Musterfirma GmbH", "000000")
GERMANY = ZoneInfo("Europe/Berlin")  # ops enter and read times as German wall-clock time


class MailingNotFound(LookupError):
    pass


class MailingRefused(Exception):
    """An action the mailing's state or the four-eyes rule does not allow (German message)."""


class QueueUnavailable(MailingRefused):
    """Redis cannot be reached, so sending cannot start; the mailing was left unchanged."""

    def __init__(self) -> None:
        super().__init__(
            "Der Versand kann gerade nicht starten: die Warteschlange ist nicht erreichbar. "
            "Das Mailing ist unverändert; bitte versuchen Sie es in einigen Minuten erneut."
        )


def _require_queue(runtime: Runtime) -> None:
    try:
        runtime.redis.ping()
    except RedisError as error:
        log.warning("mailing not started, Redis unreachable: %s", error)
        raise QueueUnavailable() from error


def _dispatch_queued(runtime: Runtime, mailing_id: int) -> int:
    """Enqueue the mailing's queued records and return how many; if Redis went away since the
    check, the periodic tick enqueues them once they are older than the lease."""
    with runtime.db.session() as session:
        ids = dispatch.queued_ids(session, mailing_id)
    try:
        dispatch.enqueue_batches(runtime, mailing_id, ids)
    except RedisError as error:
        log.warning(
            "mailing %s: batches left to the tick, Redis unreachable: %s", mailing_id, error
        )
    return len(ids)


@dataclass(frozen=True)
class Preview:
    subject: str
    text: str
    html: str
    company: str
    customer_number: str


@dataclass(frozen=True)
class Progress:
    mailing: dict[str, Any]
    counts: dict[str, int]
    by_domain: list[dict[str, Any]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def open(self) -> int:
        return sum(self.counts[state] for state in ("queued", "sending", "deferred"))

    @property
    def finished(self) -> bool:
        return self.mailing["state"] in ("done", "cancelled") or (
            self.mailing["state"] == "sending" and self.total > 0 and self.open == 0
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "mailing": self.mailing,
            "counts": self.counts,
            "total": self.total,
            "finished": self.finished,
            "by_domain": self.by_domain,
        }


def family_colours(runtime: Runtime) -> dict[str, str]:
    catalog = routing_rules(runtime).catalog_dict()
    return {family["name"]: family["colour"] for family in catalog["product_families"]}


def create_mailing(runtime: Runtime, draft: MailingDraft, actor: str) -> Mailing:
    """Check the draft and store it with its mail rendered once (raises DraftError)."""
    colours = family_colours(runtime)
    composing.check_draft(draft, colours, runtime.settings.mailing_link_hosts)
    with runtime.db.session() as session:
        original = None
        if draft.follows_id is not None:
            original = session.get(Mailing, draft.follows_id)
            if original is None:
                raise composing.DraftError({"follows": "Dieses Mailing gibt es nicht."})
        mailing = Mailing(
            product_family=draft.product_family,
            banner_colour=colours[draft.product_family],
            purpose=draft.purpose,
            subject=draft.subject.strip(),
            body=draft.body,
            body_format=draft.body_format,
            audience_kind=draft.audience_kind,
            audience_values=sorted({v.strip() for v in draft.audience_values if v.strip()}),
            follows_id=draft.follows_id,
            created_by=actor,
        )
        mailing.slot_token, mailing.text_skeleton, mailing.html_skeleton = composing.freeze(
            mailing, runtime.settings, original
        )
        session.add(mailing)
    return mailing


def get_mailing(runtime: Runtime, mailing_id: int) -> Mailing:
    with runtime.db.session() as session:
        mailing = session.get(Mailing, mailing_id)
    if mailing is None:
        raise MailingNotFound(mailing_id)
    return mailing


def list_mailings(runtime: Runtime, limit: int = 100) -> list[Mailing]:
    with runtime.db.session() as session:
        return list(session.scalars(select(Mailing).order_by(Mailing.id.desc()).limit(limit)))


def approve(runtime: Runtime, mailing_id: int, actor: str) -> Mailing:
    """The second pair of eyes: any ops user except the one who composed the mailing."""
    with runtime.db.session() as session:
        mailing = _locked(session, mailing_id)
        if mailing.created_by == actor:
            raise MailingRefused("Freigeben muss eine andere Person als die Verfasserin.")
        if mailing.state != "draft":
            raise MailingRefused("Nur ein Entwurf kann freigegeben werden.")
        mailing.approved_by, mailing.approved_at = actor, utcnow()
    log.info("approved by %s", actor)
    return mailing


def _check_ready(runtime: Runtime, session: Session, mailing: Mailing) -> None:
    """A draft, approved by a second person when it reaches more accounts than the threshold."""
    threshold = runtime.settings.mailing_approval_threshold
    if mailing.state != "draft":
        raise MailingRefused("Das Mailing wurde bereits versendet oder abgebrochen.")
    if mailing.approved_by is None:
        accounts = audience.count_accounts(session, mailing)
        if accounts > threshold:
            raise MailingRefused(
                f"Das Mailing geht an {accounts} Kundenkonten (mehr als "
                f"{threshold}) und braucht die Freigabe einer zweiten Person."
            )


def german_time(text: str) -> datetime:
    """``2026-12-01T08:00`` as German wall-clock time (or an ISO time with offset), an instant."""
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise MailingRefused(
            f"„{text}“ ist kein Zeitpunkt; erwartet wird z. B. 2026-12-01T08:00."
        ) from None
    return local if local.tzinfo is not None else local.replace(tzinfo=GERMANY)


def schedule(runtime: Runtime, mailing_id: int, at: datetime, actor: str) -> Mailing:
    """Have the periodic tick start the mailing at ``at``; it can be cancelled until then."""
    if at.tzinfo is None:
        raise MailingRefused("Der Zeitpunkt braucht eine Zeitzone.")
    if at <= utcnow():
        raise MailingRefused("Der Zeitpunkt liegt in der Vergangenheit.")
    with runtime.db.session() as session:
        mailing = _locked(session, mailing_id)
        _check_ready(runtime, session, mailing)
        mailing.scheduled_at, mailing.scheduled_by = at.astimezone(UTC), actor
    return mailing


@dataclass(frozen=True)
class Reach:
    accounts: int
    recipients: int


def reach(runtime: Runtime, mailing_id: int) -> Reach:
    """How many accounts and addresses sending the mailing now would reach."""
    with runtime.db.reading() as session:
        mailing = session.get(Mailing, mailing_id)
        if mailing is None:
            raise MailingNotFound(mailing_id)
        return Reach(
            audience.count_accounts(session, mailing), audience.count_recipients(session, mailing)
        )


def start_sending(runtime: Runtime, mailing_id: int, actor: str) -> Mailing:
    """Resolve the audience into delivery records, then hand them to the workers in batches."""
    _require_queue(runtime)
    with runtime.db.session() as session:
        mailing = _locked(session, mailing_id)
        _check_ready(runtime, session, mailing)
        audience.resolve(session, mailing)
        mailing.state, mailing.started_at = "sending", utcnow()
    queued = _dispatch_queued(runtime, mailing_id)
    log.info("sending started by %s: %d delivery records", actor, queued)
    return get_mailing(runtime, mailing_id)


def pause(runtime: Runtime, mailing_id: int) -> Mailing:
    return _move(runtime, mailing_id, "sending", "paused")


def resume(runtime: Runtime, mailing_id: int) -> Mailing:
    _require_queue(runtime)
    mailing = _move(runtime, mailing_id, "paused", "sending")
    _dispatch_queued(runtime, mailing_id)
    return mailing


def cancel(runtime: Runtime, mailing_id: int) -> Mailing:
    """Stop a mailing: records not yet handed to SMTP are cancelled, running batches stop."""
    with runtime.db.session() as session:
        mailing = _locked(session, mailing_id)
        if mailing.state not in ("draft", "sending", "paused"):
            raise MailingRefused("Das Mailing ist bereits abgeschlossen.")
        mailing.state, mailing.finished_at = "cancelled", utcnow()
        session.execute(
            update(MailingDelivery)
            .where(
                MailingDelivery.mailing_id == mailing_id,
                MailingDelivery.state.in_(("queued", "deferred")),
            )
            .values(state="cancelled", updated_at=utcnow())
        )
    log.info("cancelled")
    return mailing


def progress(runtime: Runtime, mailing_id: int, domains: int = 20) -> Progress:
    """Counts per state, and per destination domain for the busiest ``domains`` domains
    (0 skips that query: pollers that only wait for the end should not pay for it)."""
    with runtime.db.session() as session:
        mailing = session.get(Mailing, mailing_id)
        if mailing is None:
            raise MailingNotFound(mailing_id)
        counts = dict.fromkeys(DELIVERY_STATES, 0)
        counts.update(
            session.execute(
                select(MailingDelivery.state, func.count())
                .where(MailingDelivery.mailing_id == mailing_id)
                .group_by(MailingDelivery.state)
            ).all()
        )
        rows = (
            session.execute(
                select(MailingDelivery.domain, MailingDelivery.state, func.count())
                .where(MailingDelivery.mailing_id == mailing_id)
                .group_by(MailingDelivery.domain, MailingDelivery.state)
            ).all()
            if domains
            else []
        )
    per_domain: dict[str, dict[str, int]] = {}
    for domain, state, count in rows:
        per_domain.setdefault(domain, dict.fromkeys(DELIVERY_STATES, 0))[state] = count
    busiest = sorted(per_domain.items(), key=lambda item: -sum(item[1].values()))[:domains]
    return Progress(mailing.as_dict(), counts, [{"domain": d, **c} for d, c in busiest])


def search_deliveries(
    runtime: Runtime, mailing_id: int, query: str = "", limit: int = 200
) -> list[MailingDelivery]:
    """The per-recipient record, by customer number, company or address (substring)."""
    with runtime.db.session() as session:
        statement = select(MailingDelivery).where(MailingDelivery.mailing_id == mailing_id)
        # NUL means nothing in a search, and PostgreSQL refuses it in any text parameter.
        if needle := query.replace("\x00", "").strip():
            statement = statement.where(
                or_(
                    MailingDelivery.address.icontains(needle, autoescape=True),
                    MailingDelivery.customer_number.icontains(needle, autoescape=True),
                    MailingDelivery.company.icontains(needle, autoescape=True),
                )
            )
        return list(session.scalars(statement.order_by(MailingDelivery.id).limit(limit)))


def preview(runtime: Runtime, mailing_id: int, customer_number: str | None = None) -> Preview:
    """The mail as the given account (or a sample account) would receive it."""
    mailing = get_mailing(runtime, mailing_id)
    company, number = SAMPLE_ACCOUNT
    if customer_number:
        with runtime.db.session() as session:
            row = session.execute(
                select(Account.company, Account.customer_number).where(
                    Account.customer_number == customer_number.strip()
                )
            ).one_or_none()
        if row is None:
            raise MailingNotFound(f"account {customer_number}")
        company, number = row
    parts = composing.personalise(mailing, company, number)
    return Preview(parts.subject, parts.text, parts.html, company, number)


def test_send(
    runtime: Runtime, mailing_id: int, to: str, customer_number: str | None = None
) -> SmtpResult:
    """Send the preview, signed and marked [TEST], to any address ops name; no record."""
    try:
        to = validate_email(to.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise composing.DraftError(
            {"to": f"Keine gültige E-Mail-Adresse: {address_reason(error)}"}
        ) from None
    shown = preview(runtime, mailing_id, customer_number)
    settings = runtime.settings
    recipient = messages.transport_address(to)
    message = messages.build_message(
        sender=Address(SENDER_NAME, addr_spec=settings.mail_from),
        recipient=recipient,
        subject=f"[TEST] {shown.subject}",
        text=shown.text,
        html=shown.html,
        message_id=messages.new_message_id(settings.mail_domain),
    )
    raw = dkim_fast.sign(message.as_bytes(), settings.dkim_domain, runtime.dkim_keys)
    with SmtpTransport(settings.smtp_url, "test").connect() as connection:
        return connection.send(settings.mail_from, recipient, raw)


def _locked(session: Session, mailing_id: int) -> Mailing:
    logs.bind(mailing_id=mailing_id)
    mailing = session.get(Mailing, mailing_id, with_for_update=True)
    if mailing is None:
        raise MailingNotFound(mailing_id)
    return mailing


def _move(runtime: Runtime, mailing_id: int, source: str, target: str) -> Mailing:
    with runtime.db.session() as session:
        mailing = _locked(session, mailing_id)
        if mailing.state != source:
            raise MailingRefused(f"Nur ein Mailing im Zustand {source} kann {target} werden.")
        mailing.state = target
    log.info("%s -> %s", source, target)
    return mailing


@dataclass(frozen=True)
class ReceivedMailing:
    mailing_id: int
    subject: str
    started_at: datetime | None
    deliveries: list[tuple[str, str, datetime | None]]  # (address, state, sent_at)


def account_mailings(runtime: Runtime, account_id: int, limit: int = 100) -> list[ReceivedMailing]:
    """The mandatory mailings addressed to an account, newest first, with each address's state."""
    with runtime.db.reading() as session:
        rows = session.execute(
            select(
                Mailing.id,
                Mailing.subject,
                Mailing.started_at,
                MailingDelivery.address,
                MailingDelivery.state,
                MailingDelivery.sent_at,
            )
            .join(Mailing, Mailing.id == MailingDelivery.mailing_id)
            .where(MailingDelivery.account_id == account_id)
            .order_by(Mailing.id.desc(), MailingDelivery.id)
        ).all()
    received: dict[int, ReceivedMailing] = {}
    for row in rows:
        if row.id not in received:
            if len(received) == limit:
                break
            received[row.id] = ReceivedMailing(row.id, row.subject, row.started_at, [])
        received[row.id].deliveries.append((row.address, row.state, row.sent_at))
    return list(received.values())
