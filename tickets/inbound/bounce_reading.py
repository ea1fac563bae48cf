"""Reading bounces as real mail servers write them: which recipients failed, how, and of what.

Three readers, most exact first. An RFC 3464 report (``message/delivery-status``, with or
without the ``report-type`` parameter, per-recipient fields separated by a blank line or
not) is read field by field. An Amazon SES notification mailed as JSON is read from its JSON.
Anything else from a mailer daemon, to a null envelope sender or under a bounce subject is
given to GNU Mailman's ``flufl.bounce`` detectors, which know the older formats of qmail,
Exim, Exchange, GroupWise, Yahoo and others. The original Message-ID is looked for in the
attached message or headers, in quoted header lines of the text, and in the bounce's own
In-Reply-To and References.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from typing import Any

from flufl.bounce import all_failures

from tickets.inbound.parsing import MESSAGE_ID, ParsedMail, content_type_param, first_message_id

log = logging.getLogger(__name__)
# flufl.bounce logs each detector it runs at INFO: a dozen lines per bounce, none useful.
logging.getLogger("flufl.bounce").setLevel(logging.WARNING)

DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
ORIGINAL_TYPES = ("message/rfc822", "message/global")
HEADER_TYPES = ("text/rfc822-headers", "text/global-headers")
DAEMON_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "mailerdaemon", "mailer_daemon", "mail-daemon", "postmaster"}
)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|returned mail|delivery failure|failed delivery|"
    r"delivery (has )?failed|non[- ]?delivery|could not be delivered|delivery problem|"
    r"unzustellbar|nicht zustellbar|zustellung fehlgeschlagen|unable to deliver|"
    r"failure notice|mail delivery failed|mail error|message status|returned to sender|"
    r"rejected|delayed mail|delivery notification|warning: could not send|"
    r"non remis|no entregado|niet afgeleverd|permanent error|user unknown)",
    re.IGNORECASE,
)
DELAY_SUBJECT = re.compile(r"(delay|warning|verzögert|still being retried)", re.IGNORECASE)
# A person forwarding a bounce to us asks about it: that is a ticket, not a bounce. (Replies
# are not excluded: Exchange and GroupWise answer with a bounce under "RE:".)
FORWARDED = re.compile(r"^\s*(fwd?|wg|tr|rv|enc)\s*:", re.IGNORECASE)
STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
FAILURE_CODE = re.compile(r"\b([45]\.\d{1,3}\.\d{1,3})\b")
LISTED_RECIPIENT = re.compile(
    r"^[ \t]*<?([^\s<>@:]+@[^\s<>@:]+?)>?:[ \t]+([45]\d\d)\b.*$", re.MULTILINE
)
SMTP_REPLY = re.compile(r"\b([45]\d\d)[ -]")
# Permanent codes where the address itself is fine: full, too big, policy, routing, system.
SOFT_PERMANENT = ("5.2.2", "5.2.3", "5.3.", "5.4.", "5.7.")
SES_SENDER = "sns.amazonaws.com"
NOT_FAILED = ("delayed", "delivered", "relayed", "expanded", "complaint")
DIAGNOSTIC_MAX = 500


@dataclass(frozen=True)
class BouncedRecipient:
    address: str | None
    action: str  # failed | delayed | delivered | relayed | expanded (RFC 3464) | complaint
    status: str  # e.g. "5.1.1"
    diagnostic: str

    @property
    def failed(self) -> bool:
        """Failed, or an action no RFC names (``error``) with a permanent status."""
        if self.action == "failed":
            return True
        return self.action not in NOT_FAILED and self.status[:1] == "5"

    @property
    def severity(self) -> str:
        """'hard' when the address does not take mail, 'soft' when it may later."""
        if self.status[:1] != "5" or self.status.startswith(SOFT_PERMANENT):
            return "soft"
        return "hard"


@dataclass(frozen=True)
class Bounce:
    original_message_ids: tuple[str, ...]
    recipients: tuple[BouncedRecipient, ...] = field(default=())
    reader: str = "dsn"  # dsn | ses | flufl.bounce | text

    @property
    def original_message_id(self) -> str | None:
        return self.original_message_ids[0] if self.original_message_ids else None

    @property
    def failed(self) -> tuple[BouncedRecipient, ...]:
        return tuple(recipient for recipient in self.recipients if recipient.failed)


def read_bounce(mail: ParsedMail, envelope_sender: str | None) -> Bounce | None:
    """The bounce ``mail`` is, or None when it is no bounce or delivery notification."""
    message = mail.message
    multipart = message.is_multipart()
    status_parts = (
        [part for part in message.walk() if part.get_content_type() in DSN_TYPES]
        if multipart
        else []
    )
    if status_parts or (
        multipart
        and message.get_content_type() == "multipart/report"
        and content_type_param(message, "report-type") == "delivery-status"
    ):
        recipients = [found for part in status_parts for found in _status_fields(part)]
        if not recipients:
            recipients = _report_as_text(message) or _flufl(message) or [_unnamed(mail)]
        return Bounce(_original_ids(mail), tuple(recipients), "dsn")
    ses = _ses_notification(mail)
    if ses is not None:
        return ses
    daemon = _is_daemon(mail)
    bounce_subject = bool(BOUNCE_SUBJECT.search(mail.subject)) and not FORWARDED.match(mail.subject)
    if not (daemon or envelope_sender == "" or bounce_subject):
        return None
    recipients = _flufl(message)
    if recipients:
        return Bounce(_original_ids(mail), tuple(recipients), "flufl.bounce")
    text = _all_text(message)
    listed = _listed_recipients(text)
    if listed:
        return Bounce(_original_ids(mail), listed, "text")
    # A bounce naming no one we can read: believed under a bounce subject when it came to the
    # null sender, carries the bounced message, or is from a mailer daemon. Not from a mere
    # postmaster@: a person there writing about rejected mail and quoting a 550 is a ticket.
    daemon_itself = daemon and mail.sender.rpartition("@")[0].lower() != "postmaster"
    if bounce_subject and (envelope_sender == "" or _has_original(message) or daemon_itself):
        return Bounce(_original_ids(mail), (_unnamed(mail),), "text")
    return None


def _listed_recipients(text: str) -> tuple[BouncedRecipient, ...]:
    """Lines ``address: 550 5.1.1 reason`` (OpenSMTPD, and others reporting per line)."""
    found = []
    for match in LISTED_RECIPIENT.finditer(text):
        line = " ".join(match.group(0).split())
        code = FAILURE_CODE.search(line)
        status = code.group(1) if code else f"{match.group(2)[0]}.0.0"
        action = "failed" if status[:1] == "5" else "delayed"
        found.append(
            BouncedRecipient(match.group(1).lower(), action, status, line[:DIAGNOSTIC_MAX])
        )
    return tuple(found)


def _unnamed(mail: ParsedMail) -> BouncedRecipient:
    """A bounce that names no recipient we can read: a delay by its subject, else a failure."""
    text = _all_text(mail.message)
    if DELAY_SUBJECT.search(mail.subject):
        return BouncedRecipient(None, "delayed", "4.0.0", _diagnostic(text))
    return BouncedRecipient(None, "failed", _status_in(text, "5.0.0"), _diagnostic(text))


def _is_daemon(mail: ParsedMail) -> bool:
    """From a mailer daemon: MAILER-DAEMON with or without a domain, ``<>``, or no From."""
    from_text = mail.from_text.strip()
    if not from_text or from_text in ("<>", '""'):
        return True
    if not mail.sender:
        addresses = MESSAGE_ID.findall(from_text)
        address = addresses[0].strip("<>") if addresses else from_text
        if "@" not in address:
            return address.strip(' "').lower() in DAEMON_LOCAL_PARTS or address.endswith("<>")
        return address.rpartition("@")[0].lower() in DAEMON_LOCAL_PARTS
    return mail.sender.rpartition("@")[0].lower() in DAEMON_LOCAL_PARTS


def _status_fields(part: Message) -> list[BouncedRecipient]:
    """Per-recipient fields of a delivery-status part, blank lines between them or not.

    Fields come in blocks (separated by blank lines); a block is split again where a second
    recipient starts without a blank line. Blocks naming no recipient (the per-message
    fields: Reporting-MTA, Arrival-Date) are skipped, wherever they stand.
    """
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [
            [(name.lower(), " ".join(str(value).split())) for name, value in block.raw_items()]
            for block in payload
            if isinstance(block, Message)
        ]
    else:
        blocks = [_fields_of_text(chunk) for chunk in re.split(r"\n\s*\n", str(payload))]
    groups: list[dict[str, str]] = []
    for block in blocks:
        current: dict[str, str] = {}
        for name, value in block:
            if name in ("original-recipient", "final-recipient") and name in current:
                groups.append(current)
                current = {}
            current.setdefault(name, value)
        groups.append(current)
    return [
        _recipient(group)
        for group in groups
        if "final-recipient" in group or "original-recipient" in group
    ]


def _fields_of_text(text: str) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], f"{fields[-1][1]} {line.strip()}")
        elif ":" in line:
            name, _, value = line.partition(":")
            fields.append((name.strip().lower(), value.strip()))
    return fields


def _recipient(group: dict[str, str]) -> BouncedRecipient:
    named = group.get("original-recipient") or group.get("final-recipient") or ""
    address = (named.partition(";")[2] if ";" in named else named).strip().strip("<>")
    action = group.get("action", "").split()[0].lower() if group.get("action") else ""
    action = "failed" if action.startswith("fail") else action
    diagnostic = group.get("diagnostic-code", "")
    status = STATUS_CODE.search(group.get("status", "")) or STATUS_CODE.search(diagnostic)
    reply = SMTP_REPLY.search(group.get("status", "") + " ")
    if status:
        code = status.group(1)
    elif reply:
        code = f"{reply.group(1)[0]}.0.0"
    else:
        code = "4.0.0" if action == "delayed" else "5.0.0" if action == "failed" else "2.0.0"
    return BouncedRecipient(
        address=address.lower() or None,
        action=action,
        status=code,
        diagnostic=diagnostic[:DIAGNOSTIC_MAX],
    )


def _report_as_text(message: EmailMessage) -> list[BouncedRecipient]:
    """A report whose status part came as text (wrong type, or encoded): read its fields."""
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        text = _text(part)
        if re.search(r"^(final|original)-recipient:", text, re.IGNORECASE | re.MULTILINE):
            fake = Message()
            fake.set_payload(text)
            return _status_fields(fake)
    return []


def _flufl(message: EmailMessage) -> list[BouncedRecipient]:
    """Addresses GNU Mailman's detectors find, with the status and reason read from the text."""
    try:
        temporary, permanent = all_failures(message)
    except (LookupError, UnicodeError, ValueError, TypeError, AttributeError, IndexError) as error:
        # The detectors are heuristics over the text; one that trips over odd input must not
        # turn a bounce into a refused message. The other readers still had their say.
        log.warning("flufl.bounce could not read a bounce: %r", error)
        return []
    text = _all_text(message)
    found = []
    for addresses, action, default in (
        (permanent, "failed", "5.0.0"),
        (temporary, "delayed", "4.0.0"),
    ):
        for raw in sorted(addresses):
            address = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            status = _status_in(text, default)
            if action == "delayed" and status[:1] == "5":
                status = default
            found.append(
                BouncedRecipient(address.lower(), action, status, _diagnostic(text, address))
            )
    return found


def _ses_notification(mail: ParsedMail) -> Bounce | None:
    """Amazon SES's bounce, complaint or delivery notification, mailed by SNS as JSON."""
    if not mail.sender.lower().endswith(SES_SENDER) and "notificationType" not in mail.text:
        return None
    start = mail.text.find("{")
    if start < 0:
        return None
    try:
        document, _ = json.JSONDecoder().raw_decode(mail.text[start:])
    except ValueError:
        return None
    if isinstance(document, dict) and isinstance(document.get("Message"), str):
        try:
            document = json.loads(document["Message"])
        except ValueError:
            return None
    if not isinstance(document, dict):
        return None
    kind = str(document.get("notificationType") or document.get("eventType") or "")
    if kind not in ("Bounce", "Complaint", "Delivery"):
        return None
    original = _object(document.get("mail"))
    ids = [*_ses_message_ids(original), *_original_ids(mail)]
    if kind == "Bounce":
        bounce = _object(document.get("bounce"))
        permanent = bounce.get("bounceType") == "Permanent"
        recipients = tuple(
            _ses_recipient(entry, permanent)
            for entry in bounce.get("bouncedRecipients") or []
            if isinstance(entry, dict)
        )
    else:
        section = _object(document.get(kind.lower()))
        addresses = section.get("recipients") or [
            entry.get("emailAddress")
            for entry in section.get("complainedRecipients") or []
            if isinstance(entry, dict)
        ]
        action = "delivered" if kind == "Delivery" else "complaint"
        recipients = tuple(
            BouncedRecipient(str(address).lower(), action, "2.0.0", kind.lower())
            for address in addresses
            if address
        )
    return Bounce(tuple(dict.fromkeys(ids)), recipients, "ses")


def _ses_recipient(entry: dict[str, Any], permanent: bool) -> BouncedRecipient:
    diagnostic = str(entry.get("diagnosticCode") or "")
    status = STATUS_CODE.search(str(entry.get("status") or "")) or STATUS_CODE.search(diagnostic)
    code = status.group(1) if status else ("5.0.0" if permanent else "4.0.0")
    if not permanent and code[:1] == "5":
        code = "4" + code[1:]
    return BouncedRecipient(
        address=str(entry.get("emailAddress") or "").lower() or None,
        action="failed",
        status=code,
        diagnostic=(diagnostic.partition(";")[2] if ";" in diagnostic else diagnostic).strip()[
            :DIAGNOSTIC_MAX
        ],
    )


def _object(value: object) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else (SES leaves sections out)."""
    return value if isinstance(value, dict) else {}


def _ses_message_ids(original: dict[str, Any]) -> list[str]:
    common = _object(original.get("commonHeaders"))
    values = [str(common.get("messageId") or "")]
    values += [
        str(header.get("value") or "")
        for header in original.get("headers") or []
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id"
    ]
    return [found for value in values if (found := first_message_id(value))]


def _original_ids(mail: ParsedMail) -> tuple[str, ...]:
    """Message-IDs that may name the bounced message, the most reliable first."""
    found: list[str] = []
    for part in mail.message.walk():
        content_type = part.get_content_type()
        if content_type in ORIGINAL_TYPES:
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, Message):
                found.extend(_message_ids_in(_raw_header(inner, "Message-ID")))
        elif content_type in HEADER_TYPES:
            found.extend(_message_ids_in_lines(_text(part)))
    found.extend(_message_ids_in_lines(_all_text(mail.message)))
    if mail.in_reply_to:
        found.append(mail.in_reply_to)
    found.extend(reversed(mail.references))
    return tuple(dict.fromkeys(found))


def _message_ids_in(value: str) -> list[str]:
    found = first_message_id(value)
    return [found] if found else []


def _message_ids_in_lines(text: str) -> list[str]:
    return [
        match.group(1)
        for match in re.finditer(r"^\s*>?\s*Message-ID:\s*(<[^<>\s]+>)", text, re.I | re.M)
    ]


def _raw_header(message: Message, name: str) -> str:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return " ".join(str(value).split())
    return ""


def _has_original(message: EmailMessage) -> bool:
    return any(part.get_content_type() in ORIGINAL_TYPES + HEADER_TYPES for part in message.walk())


def _status_in(text: str, default: str) -> str:
    found = FAILURE_CODE.search(text)
    if found:
        return found.group(1)
    reply = SMTP_REPLY.search(text)
    return f"{reply.group(1)[0]}.0.0" if reply else default


def _diagnostic(text: str, address: str | None = None) -> str:
    """The line that best says why: an SMTP reply, else the one naming the address."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    for line in lines:
        if STATUS_CODE.search(line) or SMTP_REPLY.search(line):
            return line[:DIAGNOSTIC_MAX]
    if address:
        for line in lines:
            if address.lower() in line.lower():
                return line[:DIAGNOSTIC_MAX]
    return ""


def _all_text(message: Message) -> str:
    """The text parts outside attached originals (whose text would mislead the readers)."""
    texts: list[str] = []
    stack = [message]
    while stack:
        part = stack.pop()
        if part.get_content_type() in ORIGINAL_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(child for child in reversed(payload) if isinstance(child, Message))
        elif part.get_content_maintype() == "text" and part.get_content_type() not in HEADER_TYPES:
            texts.append(_text(part))
    return "\n".join(texts)


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")
    return str(part.get_payload())
