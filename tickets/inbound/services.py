"""Taking one incoming e-mail: refuse, quarantine, ignore, record a bounce, append or create.

Every door (the LMTP server, the pipe command) calls ``take_message`` once per envelope
recipient. A message is stored in one transaction with its attachments; the same Message-ID
delivered twice yields one ticket or one reply (a unique constraint decides a race). The
acknowledgement of a new ticket is queued in that transaction and handed to the mail workers
after it commits, at most ``MAIL_IN_ACKS_PER_HOUR`` times per sender and hour. A new ticket is
filed through ``tickets.services.store_ticket``, as from every other door.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from helpdesk import logs
from helpdesk.config import Settings
from helpdesk.db import utcnow
from helpdesk.runtime import Runtime
from notifications.mailings import bounces, genuine
from tickets import agent_alerts
from tickets.inbound import authentication, quarantine, reports
from tickets.inbound.authentication import SenderCheck
from tickets.inbound.classify import classify
from tickets.inbound.identity import Sender, identify
from tickets.inbound.models import SenderCheckRecord
from tickets.inbound.parsing import MalformedMessage, ParsedMail, address_key, parse_message
from tickets.inbound.storing import store_mail_attachments
from tickets.inbound.threading import find_mailing, find_ticket
from tickets.metrics import MAIL_IN
from tickets.models import Ticket, TicketEvent, TicketMessage, format_number
from tickets.services import Acknowledgement, Filed, TicketDraft, hand_to_workers, store_ticket
from tickets.sla.clock import apply_sla
from tickets.thread import locked_ticket, merged_target

log = logging.getLogger(__name__)

ACTOR = "mail-in"
NO_SUBJECT = "(ohne Betreff)"
NO_TEXT = "(Nachricht ohne Text, siehe Anhänge)"
REOPENING_STATUSES = ("waiting", "resolved")
RATE_WINDOW_SECONDS = 3600
MESSAGE_ID_MAX = 250  # ticket_messages.message_id
UNVERIFIED_TAG = "unverified-sender"  # the From failed DMARC; an agent links the ticket


@dataclass(frozen=True)
class Outcome:
    """What became of a message: ``action`` is created, appended, ignored or bounce."""

    action: str
    reason: str
    ticket: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


class MailRefused(Exception):
    """The message cannot be taken, now or later; ``smtp`` is the reply for the MTA."""

    def __init__(self, reason: str, smtp: str = "550 5.6.0", *, quarantined: bool = False) -> None:
        super().__init__(reason)
        self.smtp = smtp
        self.quarantined = quarantined  # kept in the quarantine folder


class MailDeferred(Exception):
    """Take the message later (the sender is over its rate); the MTA keeps it and retries."""

    smtp = "451 4.7.1"


def check_mailbox(settings: Settings, address: str) -> str:
    """The mailbox (a support mailbox or the genuineness check address) or our VERP bounce
    address ``address`` names; else refuse."""
    wanted = address.strip().strip("<>").lower()
    for mailbox in (*settings.support_mailboxes, settings.genuine_check_address):
        if mailbox.lower() == wanted:
            return mailbox.lower()
    if bounces.parse_verp(settings, wanted) is not None:
        return wanted
    raise MailRefused(f"{address} is not a mailbox of this service", smtp="550 5.1.1")


def take_message(
    runtime: Runtime,
    raw: bytes,
    *,
    mailbox: str | None = None,
    envelope_sender: str | None = None,
) -> Outcome:
    """Take ``raw`` as delivered to ``mailbox``; raise MailRefused or MailDeferred."""
    try:
        outcome = _take(runtime, raw, mailbox, envelope_sender)
    except MailRefused as error:
        MAIL_IN.labels("quarantined" if error.quarantined else "refused").inc()
        log.info("refused (%s): %s", error.smtp, error)
        raise
    except MailDeferred as error:
        MAIL_IN.labels("deferred").inc()
        log.info("deferred (%s): %s", error.smtp, error)
        raise
    MAIL_IN.labels(outcome.action).inc()
    if outcome.ticket:
        logs.bind(ticket=outcome.ticket)
    log.info("%s: %s", outcome.action, outcome.reason)
    return outcome


def release(runtime: Runtime, name: str) -> Outcome:
    """Take a quarantined message as if it had just arrived (after a fix).

    The entry goes once the message became a ticket, a reply or a bounce. An ignored message
    stays (a duplicate of a ticket whose attachments were not taken still holds them).
    Refused again, a malformed message is kept under a new entry with the new reason; the
    error is raised either way. KeyError when there is no such entry.
    """
    record, raw = quarantine.load(runtime.settings, name)
    try:
        outcome = take_message(
            runtime, raw, mailbox=record["mailbox"], envelope_sender=record.get("envelope_sender")
        )
    except MailRefused as error:
        if error.quarantined:  # kept again under a new name: one entry, the current reason
            quarantine.discard(runtime.settings, name)
        raise
    if outcome.action != "ignored":
        quarantine.discard(runtime.settings, name)
    return outcome


def _take(
    runtime: Runtime, raw: bytes, mailbox: str | None, envelope_sender: str | None
) -> Outcome:
    settings = runtime.settings
    if len(raw) > settings.mail_in_max_bytes:
        raise MailRefused(
            f"message of {len(raw)} bytes exceeds the limit of {settings.mail_in_max_bytes}",
            smtp="552 5.3.4",
        )
    mailbox = check_mailbox(settings, mailbox) if mailbox else None
    if mailbox == settings.genuine_check_address.lower():  # "Ist diese E-Mail echt?" by mail
        return Outcome("checked", genuine.answer_forwarded(runtime, raw))
    own = frozenset(
        address.lower() for address in (settings.mail_from, *settings.support_mailboxes)
    )
    try:
        mail = parse_message(raw)
        verdict = classify(mail, own, envelope_sender)
    except MalformedMessage as error:
        raise _refused(
            settings, raw, mailbox, envelope_sender, f"malformed message ({error})"
        ) from None
    except Exception as error:
        # Reading a message touches no database or network: what fails here fails every time,
        # so the MTA gets a permanent answer (a 4xx would make it retry for days).
        log.exception("mail to %s could not be read; refused and kept", mailbox)
        raise _refused(
            settings, raw, mailbox, envelope_sender, f"unreadable message ({error!r})"
        ) from None
    mailbox = mailbox or _mailbox_from_headers(settings, mail)
    if verdict.kind == "bounce" and verdict.bounce is not None:
        with runtime.db.session() as session:
            recorded = reports.record(
                session, settings, mail, raw, verdict.bounce, mailbox, envelope_sender
            )
        return Outcome("bounce", recorded.reason, recorded.ticket)
    if verdict.kind != "person":
        return Outcome("ignored", f"{verdict.kind}: {verdict.reason}")
    if bounces.parse_verp(settings, mailbox) is not None:
        return Outcome("ignored", "mail to a bounce address that is no delivery report")
    if mail.defects:
        raise _refused(
            settings,
            raw,
            mailbox,
            envelope_sender,
            f"malformed message ({'; '.join(mail.defects)})",
        )
    check = authentication.check_sender(settings, raw, mail, envelope_sender)
    return _take_from_person(runtime, raw, mail, mailbox, check)


def _refused(
    settings: Settings, raw: bytes, mailbox: str | None, envelope_sender: str | None, reason: str
) -> MailRefused:
    """Keep ``raw`` in the quarantine and say so in the permanent refusal."""
    name = quarantine.keep(settings, raw, reason, mailbox=mailbox, envelope_sender=envelope_sender)
    return MailRefused(f"{reason}; kept in quarantine as {name}", quarantined=True)


def _mailbox_from_headers(settings: Settings, mail: ParsedMail) -> str:
    configured = [mailbox.lower() for mailbox in settings.support_mailboxes]
    return next((address for address in mail.recipients if address in configured), configured[0])


def _take_from_person(
    runtime: Runtime, raw: bytes, mail: ParsedMail, mailbox: str, check: SenderCheck | None
) -> Outcome:
    message_id = _stored_message_id(mail.message_id, raw)
    # A From that fails DMARC may be forged: it joins nothing by number or references.
    unverified = check if check is not None and check.unverified else None
    filed: Filed | None = None
    rejected: list[str] = []
    try:
        with runtime.db.session() as session:
            duplicate = _ticket_of_message(session, message_id)
            if duplicate is not None:
                return Outcome("ignored", "duplicate: this Message-ID was taken before", duplicate)
            match = None if unverified else find_ticket(session, mail)
            # Locked, so that a merge of the ticket running now finishes first; a reply to a
            # merged ticket lands in the ticket it was merged into.
            named = locked_ticket(session, match.ticket_id) if match else None
            ticket = merged_target(session, named, lock=True) if named else None
            if (
                ticket is not None
                and named is not None
                and match is not None
                and match.via == "subject"
                and not _may_write_to(session, ticket, mail)
                and not _may_write_to(session, named, mail)  # the merged ticket's customer
            ):
                # Ticket numbers are guessable; a number alone does not let a stranger write
                # into someone else's ticket. The mail opens a new ticket naming the old one.
                outcome, entry, filed = _create(runtime, session, mail, message_id, mailbox, ticket)
            elif ticket is not None and match is not None and ticket.status != "closed":
                outcome, entry = _append(runtime, session, ticket, mail, message_id, match.via)
            else:
                outcome, entry, filed = _create(
                    runtime, session, mail, message_id, mailbox, ticket, unverified
                )
            if check is not None:
                session.flush()
                session.add(_check_record(check, entry.id))
            rejected = store_mail_attachments(runtime, session, entry, mail, raw)
    except IntegrityError:
        with runtime.db.session() as session:
            duplicate = _ticket_of_message(session, message_id)
        if duplicate is None:
            raise
        return Outcome("ignored", "duplicate: delivered twice at the same time", duplicate)
    if rejected:
        name = quarantine.keep(
            runtime.settings, raw, "attachments not taken: " + "; ".join(rejected), mailbox=mailbox
        )
        log.warning("%s: attachments not taken, message kept as %s", outcome.ticket, name)
    if filed is not None:
        hand_to_workers(runtime, filed)
    return outcome


def _stored_message_id(message_id: str | None, raw: bytes) -> str:
    """The Message-ID to store; without one (or one too long for the column) a digest.

    Without a Message-ID the bytes identify the message, so a re-delivery is still found.
    """
    if message_id and len(message_id) <= MESSAGE_ID_MAX:
        return message_id
    digest = hashlib.sha256(message_id.encode() if message_id else raw).hexdigest()
    return f"<sha256.{digest}@mail-in.invalid>"


def _ticket_of_message(session: Session, message_id: str) -> str | None:
    ticket_id = session.scalar(
        select(TicketMessage.ticket_id).where(TicketMessage.message_id == message_id)
    )
    return format_number(ticket_id) if ticket_id is not None else None


def _may_write_to(session: Session, ticket: Ticket, mail: ParsedMail) -> bool:
    """Whether the sender belongs to the ticket: its answer address, or someone of its account."""
    key = address_key(mail.sender)
    if key is None:
        return False
    if key == address_key(ticket.reply_to):
        return True
    if key in _copied_addresses(session, ticket.id):
        return True
    if ticket.account_id is None:
        return False
    return identify(session, key).account_id == ticket.account_id


def _copied_addresses(session: Session, ticket_id: int) -> set[str | None]:
    """The comparison keys of every address an agent's answer on the ticket went to in Cc."""
    copies = session.scalars(
        select(TicketMessage.cc).where(
            TicketMessage.ticket_id == ticket_id,
            TicketMessage.kind == "agent",
            TicketMessage.cc.is_not(None),
        )
    )
    return {address_key(address) for cc in copies for address in cc or ()}


def _append(
    runtime: Runtime, session: Session, ticket: Ticket, mail: ParsedMail, message_id: str, via: str
) -> tuple[Outcome, TicketMessage]:
    entry = _message(ticket.id, mail, message_id)
    session.add(entry)
    if ticket.status in REOPENING_STATUSES:
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                actor=mail.sender,
                action="status_changed",
                changes={"status": [ticket.status, "open"]},
                reason="Antwort per E-Mail",
            )
        )
        ticket.status = "open"
    ticket.updated_at = utcnow()
    session.flush()
    apply_sla(session, ticket, ticket.updated_at, reason="customer_reply")
    agent_alerts.customer_replied(runtime, session, ticket, entry)
    return Outcome("appended", f"reply matched by {via}", ticket.number), entry


def _create(
    runtime: Runtime,
    session: Session,
    mail: ParsedMail,
    message_id: str,
    mailbox: str,
    follows: Ticket | None,
    unverified: SenderCheck | None = None,
) -> tuple[Outcome, TicketMessage, Filed]:
    """File the mail as a new ticket through the one filing service, then add the mail to it."""
    settings = runtime.settings
    key = address_key(mail.sender) or mail.sender.lower()
    opened = _count_new_ticket(runtime, key)
    if opened > settings.mail_in_tickets_per_hour:
        raise MailDeferred(
            f"{mail.sender} opened more than {settings.mail_in_tickets_per_hour} "
            "tickets by mail in the last hour"
        )
    # An unverified From inherits no account: anyone could have written it.
    sender = Sender(key) if unverified else identify(session, key)
    draft = TicketDraft(
        reply_to=mail.reply_to,
        product_family="",
        component="",
        subject=mail.subject or NO_SUBJECT,
        text=mail.text or NO_TEXT,
        channel="email",
        tags=(UNVERIFIED_TAG,) if unverified else (),
        account_id=sender.account_id,
        requester_id=sender.user_id,
        mailbox=mailbox,
        mailing_id=find_mailing(session, settings, mail),
    )
    acknowledgement = None
    if unverified is None and opened <= settings.mail_in_acks_per_hour:
        acknowledgement = Acknowledgement(
            in_reply_to=message_id, references=_references(mail, message_id)
        )
    filed = store_ticket(
        runtime,
        session,
        draft,
        ACTOR,
        acknowledgement=acknowledgement,
        history=_provenance(draft, sender, follows, unverified),
    )
    ticket = filed.ticket
    entry = _message(ticket.id, mail, message_id)
    session.add(entry)
    session.flush()
    reason = f"new ticket in queue {ticket.queue} (rule {ticket.routing_rule}); " + _who(sender)
    if unverified is not None:
        reason += f"; unverified sender ({unverified.summary}): no account, no acknowledgement"
    elif acknowledgement is None:
        reason += "; no acknowledgement: sender over its hourly limit"
    return Outcome("created", reason, ticket.number), entry, filed


def _message(ticket_id: int, mail: ParsedMail, message_id: str) -> TicketMessage:
    return TicketMessage(
        ticket_id=ticket_id,
        kind="customer",
        author=mail.sender,
        channel="email",
        body=mail.text or NO_TEXT,
        quoted=mail.quoted,
        message_id=message_id,
    )


def _provenance(
    draft: TicketDraft, sender: Sender, follows: Ticket | None, unverified: SenderCheck | None
) -> dict[str, object]:
    """What the history entry of a mailed ticket adds: mailbox, sender match, what it answers."""
    details: dict[str, object] = {"mailbox": draft.mailbox, "sender_match": sender.via}
    if sender.ambiguous:
        details["account_candidates"] = list(sender.candidates)
    if draft.mailing_id is not None:
        details["mailing"] = draft.mailing_id
    if follows is not None:
        details["follows"] = follows.number
    if unverified is not None:
        details["sender_check"] = f"unverified: {unverified.summary}"
    return details


def _references(mail: ParsedMail, message_id: str) -> tuple[str, ...]:
    """The acknowledgement's References: the customer's thread and mail, as far as they fit."""
    return tuple(
        reference
        for reference in (*mail.references[-10:], message_id)
        if len(reference) <= MESSAGE_ID_MAX
    )


def _check_record(check: SenderCheck, message_id: int) -> SenderCheckRecord:
    return SenderCheckRecord(
        ticket_message_id=message_id,
        method=check.method,
        from_domain=check.from_domain[:255],
        spf=check.spf,
        spf_domain=check.spf_domain[:255],
        dkim=check.dkim,
        dkim_domains=list(check.dkim_domains),
        dmarc=check.dmarc,
        dmarc_policy=check.dmarc_policy,
        unverified=check.unverified,
    )


def _who(sender: Sender) -> str:
    if sender.account_id is not None:
        return f"sender is account {sender.account_id} ({sender.via})"
    if sender.ambiguous:
        return f"sender matches several accounts {list(sender.candidates)}: left for triage"
    return "unknown sender: account to be set later"


def _count_new_ticket(runtime: Runtime, key: str) -> int:
    """Count one more new ticket for sender ``key`` in this hour; return the hour's total.

    The one counter serves both limits: acknowledgements stop at ``MAIL_IN_ACKS_PER_HOUR``,
    new tickets at ``MAIL_IN_TICKETS_PER_HOUR``. One Redis round trip, no transaction.
    """
    bucket = int(utcnow().timestamp()) // RATE_WINDOW_SECONDS
    name = f"mail-in:new-tickets:{bucket}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    pipeline = runtime.redis.pipeline(transaction=False)
    pipeline.incr(name)
    pipeline.expire(name, RATE_WINDOW_SECONDS * 2)
    count, _ = pipeline.execute()
    return int(count)
