""" "Is this mail genuine?": check a mail that claims to come from us against our keys and records.

A mail is genuine when one of its DKIM signatures verifies with one of OUR keys: dkimpy looks the
keys up through a function that answers from our own key files, never from the network, so a
signature made with another key under our domain and selector fails. The Message-ID then finds
the delivery record (mandatory mailing) or the outbox row (ticket mail) for the date and
subject to show. When only the headers are pasted, the body is taken from the message as we
sent it (rebuilt from the delivery record, or the outbox's bytes), so the signature is still
checked in full: pasted headers of a forged mail do not verify against our body either.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.policy import default as default_policy

import dkim
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.dkimkeys import DkimKey
from helpdesk.runtime import Runtime
from notifications import history
from notifications.mailings import bounces
from notifications.mailings.models import Mailing, MailingDelivery
from notifications.mailings.services import GERMANY
from notifications.outbox.models import OutboundMessage
from notifications.outbox.services import MailRequest, enqueue_delivery, queue_mail

log = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024
_SIGNATURE_TAG = re.compile(rb"(?:^|;)\s*([ds])\s*=\s*([^;\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    genuine: bool
    reason: str  # for logs and tests: "signed", "unsigned", "foreign_signature", "bad_signature"
    subject: str = ""
    sent_at: datetime | None = None
    kind: str = ""  # "mailing" or "ticket" when a record of ours names the Message-ID


@dataclass(frozen=True)
class _Record:
    kind: str
    subject: str
    sent_at: datetime | None
    raw: bytes | None  # the message as we sent it, without DKIM signatures


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def _split(raw: bytes) -> tuple[bytes, bytes | None]:
    """(header block ending in CRLF, body or None when only headers were given)."""
    raw = _crlf(raw.strip(b"\r\n") + b"\n")
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        return raw, None
    return head + b"\r\n", (body if body.strip() else None)


def forwarded_original(raw: bytes) -> bytes | None:
    """The mail a customer forwarded to the check address: a message/rfc822 part (its bytes as
    they are in the forward, since re-serialising would break the signature), else the headers
    quoted inline in the text (as mail clients forward "inline")."""
    message = message_from_bytes(raw, policy=default_policy)
    boundaries = [
        re.escape(boundary.encode())
        for part in message.walk()
        if part.is_multipart() and (boundary := part.get_boundary())
    ]
    if boundaries:
        delimiter = re.compile(rb"\r?\n--(?:" + b"|".join(boundaries) + rb")(?:--)?[ \t]*\r?\n")
        for chunk in delimiter.split(raw):
            head, _, body = _crlf(chunk).partition(b"\r\n\r\n")
            fields = message_from_bytes(head + b"\r\n\r\n", policy=default_policy)
            if fields.get_content_type() == "message/rfc822":
                if str(fields.get("Content-Transfer-Encoding", "")).lower() == "base64":
                    return base64.b64decode(body, validate=False)
                return body
    text_part = (
        message.get_body(preferencelist=("plain",)) if isinstance(message, EmailMessage) else None
    )
    if text_part is None:
        return None
    text = text_part.get_content()
    start = re.search(r"(?im)^(DKIM-Signature|Return-Path|Received|From|Message-ID):", text)
    return text[start.start() :].encode("utf-8", "replace") if start else None


def check(runtime: Runtime, raw: bytes) -> Verdict:
    """The verdict on ``raw``: a whole .eml or only its headers."""
    head, body = _split(raw[:MAX_BYTES])
    headers = message_from_bytes(head + b"\r\n", policy=default_policy)
    message_id = str(headers.get("Message-ID", "")).strip()
    with runtime.db.reading() as session:
        record = _record(session, runtime, message_id) if message_id else None
    ours = _our_signatures(runtime, head)
    if not ours:
        reason = "foreign_signature" if b"dkim-signature:" in head.lower() else "unsigned"
        return Verdict(False, reason)
    if body is None:
        if record is None or record.raw is None:
            return Verdict(False, "bad_signature")
        body = record.raw.partition(b"\r\n\r\n")[2]
    message = head + b"\r\n" + body
    verifier = dkim.DKIM(message, logger=log)
    dnsfunc = _our_dns(runtime.dkim_keys, runtime.settings.dkim_domain)
    for index in ours:
        try:
            if verifier.verify(idx=index, dnsfunc=dnsfunc):
                break
        except dkim.DKIMException as error:
            log.info("genuineness check: signature %s unreadable: %s", index, error)
    else:
        return Verdict(False, "bad_signature")
    if record is not None:
        return Verdict(True, "signed", record.subject, record.sent_at, record.kind)
    return Verdict(True, "signed", str(headers.get("Subject", "")), _date(headers))


def _date(headers: Message) -> datetime | None:
    value = headers.get("Date")
    return getattr(value, "datetime", None)


def _our_signatures(runtime: Runtime, head: bytes) -> list[int]:
    """Indexes (as dkimpy counts them) of the DKIM-Signature fields naming our domain and keys."""
    settings = runtime.settings
    selectors = {key.selector.lower().encode() for key in runtime.dkim_keys}
    fields: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        elif line:
            fields.append(line)
    indexes = []
    signatures = [f for f in fields if f.lower().startswith(b"dkim-signature:")]
    for index, field in enumerate(signatures):
        tags = {m.group(1).lower(): m.group(2).lower() for m in _SIGNATURE_TAG.finditer(field[15:])}
        if tags.get(b"d") == settings.dkim_domain.lower().encode() and tags.get(b"s") in selectors:
            indexes.append(index)
    return indexes


def _our_dns(keys: tuple[DkimKey, ...], domain: str) -> Callable[..., bytes]:
    """A dkimpy DNS function that answers from our own key files, never from the network."""
    records = {f"{key.selector}._domainkey.{domain}.".lower(): key.public_record for key in keys}

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name.decode("ascii", "replace").lower(), "").encode()

    return dnsfunc


def _record(session: Session, runtime: Runtime, message_id: str) -> _Record | None:
    ids = bounces.parse_message_id(message_id)
    if ids is not None:
        delivery = session.scalar(
            select(MailingDelivery).where(
                MailingDelivery.id == ids[1],
                MailingDelivery.mailing_id == ids[0],
                MailingDelivery.state.in_(history.SENT_STATES),
            )
        )
        if delivery is None:
            return None
        subject = session.scalar(select(Mailing.subject).where(Mailing.id == delivery.mailing_id))
        raw = history.message_as_sent(
            session, runtime.settings, delivery.account_id, "mailing", delivery.id
        )
        return _Record("mailing", subject or "", delivery.sent_at, raw)
    outbound = session.execute(
        select(OutboundMessage.subject, OutboundMessage.sent_at, OutboundMessage.raw).where(
            OutboundMessage.message_id == message_id, OutboundMessage.state == "sent"
        )
    ).first()
    if outbound is None:
        return None
    return _Record("ticket", outbound.subject, outbound.sent_at, outbound.raw)


class TooManyChecks(Exception):
    """The public page's limit per client address and hour is used up."""


def count_public_check(runtime: Runtime, client: str) -> None:
    """Count one anonymous check of ``client`` in Redis; raise TooManyChecks over the limit."""
    key = f"helpdesk:genuine-check:{client}"
    try:
        with runtime.redis.pipeline() as pipe:
            pipe.set(key, 0, ex=3600, nx=True)  # the hour starts at the first check
            pipe.incr(key)
            _, count = pipe.execute()
    except RedisError as error:  # no limit, no anonymous checks
        raise TooManyChecks("rate limiter unavailable") from error
    if int(count) > runtime.settings.genuine_checks_per_hour:
        raise TooManyChecks(client)


def answer_forwarded(runtime: Runtime, raw: bytes) -> str:
    """Reply to a mail forwarded to the check address with the verdict on the forwarded mail.

    Returns what happened, for the mail-in log. Automatic mail (and mail from ourselves) gets
    no reply, so two robots cannot answer each other; each sender has the public page's limit.
    """
    settings = runtime.settings
    forward = message_from_bytes(raw, policy=default_policy)
    sender = getattr(forward.get("From"), "addresses", ())
    address = sender[0].addr_spec.lower() if sender else ""
    own = {settings.mail_from.lower(), settings.genuine_check_address.lower()}
    automatic = str(forward.get("Auto-Submitted", "no")).strip().lower() != "no"
    if not address or address in own or automatic:
        return "no reply: automatic, ours or without sender"
    try:
        count_public_check(runtime, address)
    except TooManyChecks:
        return "no reply: over the hourly limit"
    original = forwarded_original(raw)
    verdict = check(runtime, original) if original else None
    message_id = str(forward.get("Message-ID", "")).strip()
    digest = hashlib.sha256(message_id.encode() or raw).hexdigest()[:32]
    with runtime.db.session() as session:
        outbound = queue_mail(
            session,
            MailRequest(
                kind="genuine_check",
                dedupe_key=f"genuine-check-{digest}",
                recipient=address,
                subject="Prüfergebnis: Ist diese E-Mail echt?",
                template="genuine_check",
                context={
                    "found": verdict is not None,
                    "genuine": bool(verdict and verdict.genuine),
                    "subject": verdict.subject if verdict else "",
                    "sent_on": verdict.sent_at.astimezone(GERMANY).strftime("%d.%m.%Y %H:%M")
                    if verdict and verdict.sent_at
                    else "",
                    "check_url": f"{settings.public_url}/echtheit",
                },
                in_reply_to=message_id or None,
                references=(message_id,) if message_id else (),
            ),
            settings.mail_domain,
        )
        session.flush()
        outbound_id = outbound.id
    enqueue_delivery(runtime, [outbound_id])
    if verdict is None:
        return "replied: no forwarded mail found"
    return f"replied: {'genuine' if verdict.genuine else 'not from us'} ({verdict.reason})"
