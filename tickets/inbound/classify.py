"""What kind of mail arrived: a person writing, an automatic answer, a loop, or a bounce.

Automatic mail never opens a ticket nor gets an acknowledgement, or two robots would write to
each other for ever. Bounces (RFC 3464 delivery status notifications, and the older plain
bounces of mailer daemons) are read for the Message-ID and recipients of the message they
bounce, so the delivery record can be marked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_string
from email.message import EmailMessage, Message
from email.policy import default as default_policy

from tickets.inbound.parsing import ParsedMail, first_message_id, header_text

OUT_OF_OFFICE = re.compile(
    r"^\s*(automatische antwort|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|"
    r"out of (the )?office|abwesenheitsnotiz|abwesenheitsmeldung|abwesenheit|"
    r"ich bin (nicht im büro|abwesend)|i am out of the office|autoresponder|"
    r"réponse automatique|risposta automatica|respuesta automática)\b",
    re.IGNORECASE,
)
BULK_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
DAEMON_LOCAL_PARTS = ("mailer-daemon", "postmaster")
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|returned mail|delivery failure|"
    r"unzustellbar|nicht zustellbar|failure notice|mail delivery failed)",
    re.IGNORECASE,
)
STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


@dataclass(frozen=True)
class BouncedRecipient:
    address: str | None
    action: str  # failed | delayed | delivered | relayed | expanded (RFC 3464)
    status: str  # e.g. "5.1.1"
    diagnostic: str


@dataclass(frozen=True)
class Bounce:
    original_message_id: str | None
    recipients: tuple[BouncedRecipient, ...] = field(default=())

    @property
    def failed(self) -> tuple[BouncedRecipient, ...]:
        return tuple(r for r in self.recipients if r.action == "failed" or r.status[:1] == "5")


@dataclass(frozen=True)
class Verdict:
    kind: str  # person | automatic | loop | bounce | receipt
    reason: str
    bounce: Bounce | None = None


def classify(
    mail: ParsedMail, own_addresses: frozenset[str], envelope_sender: str | None = None
) -> Verdict:
    """Decide what ``mail`` is; ``own_addresses`` are ours (lower-case) to spot loops."""
    message = mail.message
    report_type = (message.get_param("report-type", header="content-type") or "").lower()
    if message.get_content_type() == "multipart/report" and report_type == "delivery-status":
        return Verdict("bounce", "delivery status notification", read_dsn(message))
    if message.get_content_type() == "multipart/report":
        return Verdict("receipt", f"report of type {report_type or 'unknown'}")
    local_part = mail.sender.rpartition("@")[0].lower()
    if local_part in DAEMON_LOCAL_PARTS or (
        envelope_sender == "" and BOUNCE_SUBJECT.search(mail.subject)
    ):
        return Verdict("bounce", f"bounce from {mail.sender}", read_plain_bounce(message))
    if mail.sender.lower() in own_addresses:
        return Verdict("loop", f"sent from our own address {mail.sender}")
    loop_marks = {value.strip().lower() for value in message.get_all("X-Loop", [])}
    if loop_marks & own_addresses:
        return Verdict("loop", "X-Loop names one of our mailboxes")
    return _automatic(message, mail.subject, envelope_sender) or Verdict("person", "")


def _automatic(message: EmailMessage, subject: str, envelope_sender: str | None) -> Verdict | None:
    auto_submitted = header_text(message, "Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return Verdict("automatic", f"Auto-Submitted: {auto_submitted}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse"):
        if header_text(message, name).strip():
            return Verdict("automatic", f"{name} header")
    precedence = header_text(message, "Precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return Verdict("automatic", f"Precedence: {precedence}")
    if OUT_OF_OFFICE.search(subject):
        return Verdict("automatic", "out-of-office subject")
    if envelope_sender == "":
        return Verdict("automatic", "null envelope sender")
    return None


def read_dsn(message: EmailMessage) -> Bounce:
    """Read an RFC 3464 report: per-recipient action, status and diagnostic, original id."""
    recipients: list[BouncedRecipient] = []
    original: str | None = None
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in ("message/delivery-status", "message/global-delivery-status"):
            recipients.extend(_status_blocks(part))
        elif content_type in ("message/rfc822", "message/global") and original is None:
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                original = first_message_id(str(inner.get("Message-ID", "")))
        elif content_type in ("text/rfc822-headers", "text/global-headers") and original is None:
            original = _message_id_in_headers(_text(part))
    return Bounce(original, tuple(recipients))


def read_plain_bounce(message: EmailMessage) -> Bounce:
    """A bounce without a report: look for the original Message-ID and a status in its text."""
    if message.get_content_type() == "multipart/report":
        return read_dsn(message)
    original: str | None = None
    texts: list[str] = []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0)
            if isinstance(inner, Message) and original is None:
                original = first_message_id(str(inner.get("Message-ID", "")))
        elif part.get_content_maintype() == "text":
            texts.append(_text(part))
    text = "\n".join(texts)
    if original is None:
        original = _message_id_in_headers(text)
    status = STATUS_CODE.search(text)
    diagnostic = next((line.strip() for line in text.splitlines() if line.strip()[:1] in "45"), "")
    return Bounce(
        original,
        (BouncedRecipient(None, "failed", status.group(1) if status else "5.0.0", diagnostic),),
    )


def _status_blocks(part: Message) -> list[BouncedRecipient]:
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    found = []
    for block in blocks[1:]:  # the first block holds the per-message fields
        recipient = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", ""))
        address = recipient.partition(";")[2].strip() or None
        status = str(block.get("Status", "")).strip()
        found.append(
            BouncedRecipient(
                address=address.lower() if address else None,
                action=str(block.get("Action", "")).strip().lower(),
                status=status if STATUS_CODE.fullmatch(status) else "5.0.0",
                diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split()),
            )
        )
    return found


def _message_id_in_headers(text: str) -> str | None:
    headers = message_from_string(text, policy=default_policy)
    value = headers.get("Message-ID")
    if value:
        return first_message_id(str(value))
    found = re.search(r"^Message-ID:\s*(<[^>]+>)", text, re.IGNORECASE | re.MULTILINE)
    return found.group(1) if found else None


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")
    return str(part.get_payload())
