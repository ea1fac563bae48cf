"""Filing tickets: validate, route, store in one transaction, then acknowledge by mail.

Every channel (web form, API, phone, e-mail) files through ``store_ticket``, so every ticket is
routed by the same facts of its account, starts its SLA clock the same way and gets the same
history entry. ``file_ticket`` wraps it for the doors that file a form: sensitive data and
attachments given with the ticket are stored in the same transaction, so a failure leaves
neither ticket nor files behind. Mail-in stores its message in its own transaction around it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from email_validator import EmailNotValidError, validate_email
from redis.exceptions import RedisError
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from accounts.models import Account, LicenseLock
from accounts.services import today_in_germany
from helpdesk import logs
from helpdesk.config import Settings
from helpdesk.db import utcnow
from helpdesk.errors import ValidationError
from helpdesk.i18n import address_reason
from helpdesk.labels import allowed
from helpdesk.runtime import Runtime
from helpdesk.text import body_text_problem, header_text_problem
from notifications.outbox.services import MailRequest, enqueue_delivery, queue_new_mail
from tickets import agent_alerts, attachments, sensitive
from tickets.metrics import TICKETS_FILED
from tickets.models import Ticket, TicketEvent
from tickets.routing import Decision, RuleSet, TicketFacts, routing_rules
from tickets.sla import escalation
from tickets.sla.clock import start_sla
from vocabulary import CHANNELS, EDITIONS, PRIORITIES

log = logging.getLogger(__name__)

SUBJECT_MAX = 250
TEXT_MAX = 50_000


@dataclass(frozen=True)
class TicketDraft:
    reply_to: str
    product_family: str
    component: str
    subject: str
    text: str
    priority: str = "normal"
    department: str | None = None
    channel: str = "api"
    tags: tuple[str, ...] = field(default=())
    account_id: int | None = None
    requester_id: int | None = None
    mailbox: str | None = None  # the support address a mail was sent to
    mailing_id: int | None = None  # the mandatory mailing a mail answers


@dataclass(frozen=True)
class Acknowledgement:
    """The mail confirming a new ticket; threaded under the customer's own mail if there is one."""

    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Filed:
    """A ticket stored in a transaction not yet committed, and its acknowledgement's outbox id."""

    ticket: Ticket
    acknowledgement_id: int | None


@dataclass(frozen=True)
class Upload:
    """A file given with a ticket; ``stream`` is read in chunks, never whole."""

    filename: str
    stream: IO[bytes]
    content_type: str | None = None


@dataclass(frozen=True)
class SensitiveInput:
    """Access data to seal with the ticket ("Sensible Daten hinzufügen")."""

    label: str
    value: str = field(repr=False)


def parse_draft(
    data: Any,
    rules: RuleSet,
    channel: str,
    *,
    account_id: int | None = None,
    requester_id: int | None = None,
) -> TicketDraft:
    """Check untrusted input field by field; raise ValidationError naming every bad field."""
    if not isinstance(data, dict):
        raise ValidationError({"_body": "Erwartet wird ein JSON-Objekt."})
    errors: dict[str, str] = {}

    def text_field(name: str, max_length: int, *, required: bool = True) -> str:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors[name] = "Dieses Feld ist erforderlich."
            return ""
        if not isinstance(value, str):
            errors[name] = "Erwartet wird ein Text."
            return ""
        value = value.strip()
        problem = body_text_problem(value) if name == "text" else header_text_problem(value)
        if len(value) > max_length:
            errors[name] = f"Höchstens {max_length} Zeichen."
        elif problem:
            errors[name] = problem
        return value

    reply_to = text_field("reply_to", 320)
    family = text_field("product_family", 120)
    component = text_field("component", 200)
    department = text_field("department", 120, required=False) or None
    subject = text_field("subject", SUBJECT_MAX)
    text = text_field("text", TEXT_MAX)
    priority = text_field("priority", 10, required=False) or "normal"

    if reply_to and "reply_to" not in errors:
        try:
            reply_to = validate_email(reply_to, check_deliverability=False).normalized
        except EmailNotValidError as error:
            errors["reply_to"] = f"Keine gültige E-Mail-Adresse: {address_reason(error)}"
    if priority not in PRIORITIES:
        # Only the API takes priorities by their ids; the forms offer their labels.
        errors["priority"] = f"Erlaubt sind: {allowed('priority', ids=channel == 'api')}."
    catalog = rules.catalog_dict()
    families = {family["name"]: family for family in catalog["product_families"]}
    if family and family not in families:
        errors["product_family"] = "Unbekannte Produktfamilie."
    elif family and component and component not in families[family]["components"]:
        errors["component"] = "Diese Komponente gehört nicht zur gewählten Produktfamilie."
    if department and department not in catalog["departments"]:
        errors["department"] = "Unbekannte Abteilung."
    if channel not in CHANNELS:
        errors["channel"] = f"Erlaubt sind: {allowed('channel')}."
    if errors:
        raise ValidationError(errors)
    return TicketDraft(
        reply_to=reply_to,
        product_family=family,
        component=component,
        department=department,
        subject=subject,
        text=text,
        priority=priority,
        channel=channel,
        account_id=account_id,
        requester_id=requester_id,
    )


FORM_FIELDS = (
    "reply_to",
    "product_family",
    "component",
    "department",
    "subject",
    "text",
    "priority",
)


def check_emergency(draft: TicketDraft, confirmed: bool) -> None:
    """A critical ticket from the form needs the customer's word that it is an emergency."""
    if draft.priority == "critical" and not confirmed:
        raise ValidationError(
            {
                "emergency_confirmed": "Bitte bestätigen Sie, dass ein Notfall vorliegt "
                "(Serverausfall, systemrelevanter Dienst, Website/Shop offline), "
                "oder wählen Sie eine andere Priorität."
            }
        )


def acknowledgement_request(
    ticket: Ticket,
    settings: Settings,
    *,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
) -> MailRequest:
    """The mail confirming a new ticket, whichever channel it came in by."""
    return MailRequest(
        kind="ticket_acknowledgement",
        dedupe_key=f"ticket:{ticket.id}:acknowledgement",
        recipient=ticket.reply_to,
        subject=f"[{ticket.number}] Ihre Supportanfrage: {ticket.subject}",
        template="ticket_acknowledgement",
        context={
            "number": ticket.number,
            "subject": ticket.subject,
            "product_family": ticket.product_family,
            "component": ticket.component,
            "priority": ticket.effective_priority,
            "portal_url": f"{settings.public_url}/tickets/{ticket.number}",
        },
        ticket_id=ticket.id,
        in_reply_to=in_reply_to,
        references=references,
    )


def file_ticket(
    runtime: Runtime,
    draft: TicketDraft,
    actor: str,
    *,
    secret: SensitiveInput | None = None,
    uploads: Sequence[Upload] = (),
) -> Ticket:
    """Route and store the ticket with its acknowledgement in one transaction, then enqueue.

    Raises attachments.AttachmentRejected or sensitive.SensitiveDataError before anything is
    committed when an upload or the sensitive data is refused.
    """
    with runtime.db.session() as session:
        filed = store_ticket(runtime, session, draft, actor, acknowledgement=Acknowledgement())
        if secret is not None:
            keyring = sensitive.Keyring.from_settings(runtime.settings)
            sensitive.add_item(session, keyring, filed.ticket.id, secret.label, secret.value, actor)
        for upload in uploads:
            attachments.store_attachment(
                runtime,
                session,
                filed.ticket.id,
                None,
                upload.filename,
                upload.content_type,
                upload.stream,
                uploaded_by=actor,
            )
    hand_to_workers(runtime, filed)
    return filed.ticket


def store_ticket(
    runtime: Runtime,
    session: Session,
    draft: TicketDraft,
    actor: str,
    *,
    acknowledgement: Acknowledgement | None,
    history: dict[str, object] | None = None,
) -> Filed:
    """Route the draft by its account's facts, store it with its SLA clock, its history entry,
    (unless ``acknowledgement`` is None) its acknowledgement and the alerts of the agents who
    asked to hear of new tickets in its queue, in the caller's transaction.

    Every door comes through here; ``history`` adds what only the door knows (the mailbox a
    mail came to, how its sender was recognised) to the "created" entry. After the commit the
    caller passes the result to ``hand_to_workers``.
    """
    edition, decision = route_draft(runtime, session, draft)
    ticket = Ticket(
        account_id=draft.account_id,
        requester_id=draft.requester_id,
        mailing_id=draft.mailing_id,
        reply_to=draft.reply_to,
        product_family=draft.product_family,
        component=draft.component,
        department=draft.department,
        subject=draft.subject,
        body=draft.text,
        channel=draft.channel,
        requested_priority=draft.priority,
        effective_priority=decision.priority,
        queue=decision.queue,
        status="new",
        tags=sorted(set(decision.tags) | set(draft.tags)),
        sla_policy=decision.sla_policy,
        emergency_review=decision.emergency_review,
        routing_rule=decision.rule_id,
        routing_rule_line=decision.rule_line,
        rules_version=decision.rules_version,
    )
    session.add(ticket)
    start_sla(session, ticket, utcnow(), edition=edition)
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            actor=actor,
            action="created",
            changes={
                "queue": [None, decision.queue],
                "effective_priority": [None, decision.priority],
                "routing_rule": [None, decision.rule_id],
                **{key: [None, value] for key, value in (history or {}).items()},
            },
        )
    )
    acknowledgement_id = None
    if acknowledgement is not None:
        outbound = queue_new_mail(
            session,
            acknowledgement_request(
                ticket,
                runtime.settings,
                in_reply_to=acknowledgement.in_reply_to,
                references=acknowledgement.references,
            ),
            runtime.settings.mail_domain,
        )
        session.flush()
        acknowledgement_id = outbound.id
    agent_alerts.new_ticket(runtime, session, ticket)
    return Filed(ticket, acknowledgement_id)


def hand_to_workers(runtime: Runtime, filed: Filed) -> None:
    """After the commit: the acknowledgement to the mail workers, the SLA steps to their timers.

    Redis being away loses nothing: the outbox sweep and the SLA reconcile pick both up.
    """
    try:
        with runtime.redis.pipeline() as pipeline:
            outbound = [filed.acknowledgement_id] if filed.acknowledgement_id is not None else []
            enqueue_delivery(runtime, outbound, pipeline)
            escalation.timers_job(runtime, filed.ticket.id, pipeline)
            pipeline.execute()
    except RedisError:
        log.exception(
            "ticket %s stored; acknowledgement and SLA timers left for the outbox sweep and "
            "the SLA reconcile",
            filed.ticket.number,
        )
    ticket = filed.ticket
    TICKETS_FILED.labels(ticket.channel, ticket.queue).inc()
    logs.bind(ticket=ticket.number)
    log.info("filed by %s into %s (%s)", ticket.channel, ticket.queue, ticket.effective_priority)


# Built once: intake runs this for every ticket of a known account.
ACCOUNT_FACTS = select(
    Account.edition,
    exists()
    .where(
        LicenseLock.account_id == Account.id,
        LicenseLock.since <= bindparam("today"),
        LicenseLock.until.is_(None) | (LicenseLock.until >= bindparam("today")),
    )
    .correlate(Account),
).where(Account.id == bindparam("account_id"))


def route_draft(
    runtime: Runtime, session: Session, draft: TicketDraft
) -> tuple[str | None, Decision]:
    """The account's stored edition and the routing decision for ``draft``: what a new ticket
    gets, and what a ticket gets when it is routed again (linked to an account)."""
    edition, facts = _facts(session, draft)
    return edition, routing_rules(runtime).route(facts)


def _facts(session: Session, draft: TicketDraft) -> tuple[str | None, TicketFacts]:
    """The account's edition as stored, and what routing sees: with a known account also its
    edition, level and licence locks."""
    stored_edition = edition = support_level = None
    locked = False
    if draft.account_id is not None:
        row = session.execute(
            ACCOUNT_FACTS,
            {"account_id": draft.account_id, "today": today_in_germany()},
        ).first()
        if row is not None:
            stored_edition = row[0]
            known = EDITIONS.get(stored_edition)
            if known is not None:
                edition, support_level = known.name, known.support_level
            locked = bool(row[1])
    return stored_edition, TicketFacts(
        product_family=draft.product_family or None,
        component=draft.component or None,
        department=draft.department,
        subject=draft.subject,
        body=draft.text,
        channel=draft.channel,
        requested_priority=draft.priority,
        mailbox=draft.mailbox,
        edition=edition,
        support_level=support_level,
        license_locked=locked,
    )
