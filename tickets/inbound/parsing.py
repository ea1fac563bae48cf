"""Reading an incoming e-mail with the standard library's modern policy.

Subjects and names may be RFC 2047 encoded words in UTF-8, ISO-8859-1 or Windows-1252, bodies
quoted-printable or base64. The text a ticket shows is the plain-text alternative, else the
HTML one sanitised to text; the history the client quoted is split off and kept. Everything
that is not the body (files, inline images, forwarded messages, S/MIME and PGP parts) is an
attachment. A message that cannot be read at all (no header block, MIME nested deeper than
any mail program writes) is malformed; one without a usable sender, or with header bytes in no
known encoding, carries its ``defects``: a bounce may, a person's mail may not.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.errors import HeaderParseError
from email.headerregistry import BaseHeader
from email.message import EmailMessage, Message, MIMEPart
from email.policy import EmailPolicy
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache

import nh3
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from helpdesk.text import header_safe
from tickets.inbound.quoting import split_quoted

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
BLOCK_TAGS = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
SUBJECT_MAX = 250
MIME_DEPTH_MAX = 30  # mail programs nest a handful of levels; bounces of bounces a few more
SIGNED_OR_ENCRYPTED = (
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
    "application/pgp-signature",
    "application/pgp-encrypted",
)


class MalformedMessage(Exception):
    """The bytes cannot be read as a message we can answer; the text says why."""


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    message: EmailMessage
    message_id: str | None
    sender: str  # normalised address from From; "" when From is missing or invalid
    sender_name: str
    reply_to: str  # where answers go: Reply-To when valid, else the sender
    recipients: tuple[str, ...]  # To and Cc, lower-cased
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime | None
    text: str  # what the customer wrote now
    quoted: str | None  # the history their client quoted below (or above) it
    attachments: tuple[MailAttachment, ...] = field(default=())
    signed_or_encrypted: bool = False
    from_text: str = ""  # the From header as written, for spotting mailer daemons
    defects: tuple[str, ...] = field(default=())  # why a person's mail could not be taken


class _HeadersParsedOnce(EmailPolicy):
    """The standard library's modern policy, except that a header value is parsed once.

    The modern policy parses a header again on every access, and classifying, identifying and
    threading a message read its headers about thirty times: a third of the CPU of taking it.
    Parsed headers are immutable, so equal (name, value) pairs share one, across messages too.
    """

    def header_fetch_parse(self, name: str, value: str) -> BaseHeader:
        if hasattr(value, "name"):
            return value  # type: ignore[return-value]  # already a header object
        return _parsed_header(name, value)


@lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> BaseHeader:
    return default_policy.header_fetch_parse(name, value)


HEADERS_PARSED_ONCE = _HeadersParsedOnce()


def parse_message(raw: bytes) -> ParsedMail:
    """Parse ``raw``; raise MalformedMessage when it cannot be read as a message at all."""
    if not raw.strip():
        raise MalformedMessage("empty message")
    try:
        message = message_from_bytes(raw, policy=HEADERS_PARSED_ONCE)
    except RecursionError:
        raise MalformedMessage("MIME parts nested too deeply to read") from None
    assert isinstance(message, EmailMessage)
    if not message.keys():
        raise MalformedMessage("no header block")
    depth = mime_depth(message)
    if depth > MIME_DEPTH_MAX:
        raise MalformedMessage(f"MIME parts nested {depth} deep (at most {MIME_DEPTH_MAX})")
    defects = list(_undecodable_headers(message))
    sender_name, sender, from_text = "", "", ""
    try:
        from_text = _header(message, "From")
        sender_name, sender = _sender(from_text)
    except MalformedMessage as error:
        defects.append(str(error))
    body_text, attachments, signed = _body_and_attachments(message)
    split = split_quoted(body_text)
    return ParsedMail(
        message=message,
        message_id=first_message_id(_header(message, "Message-ID")),
        sender=sender,
        sender_name=sender_name,
        reply_to=_reply_to(message) or sender,
        recipients=_recipients(message),
        subject=clean_subject(_header(message, "Subject")),
        in_reply_to=first_message_id(_header(message, "In-Reply-To")),
        references=tuple(MESSAGE_ID.findall(_header(message, "References"))),
        date=_date(message),
        text=split.visible,
        quoted=split.quoted,
        attachments=tuple(attachments),
        signed_or_encrypted=signed,
        from_text=from_text,
        defects=tuple(defects),
    )


def mime_depth(message: EmailMessage) -> int:
    """How deep the MIME parts nest (1 for a single part), counted without recursion."""
    deepest = 0
    stack: list[tuple[Message, int]] = [(message, 1)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        payload = part.get_payload()
        if isinstance(payload, list) and depth <= MIME_DEPTH_MAX:
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return deepest


def _undecodable_headers(message: EmailMessage) -> list[str]:
    """Headers with raw 8-bit bytes that are not UTF-8 (RFC 6532): no one can read them."""
    found = []
    for name, value in message.raw_items():
        text = str(value)
        if any("\udc80" <= character <= "\udcff" for character in text):
            try:
                text.encode("utf-8", "surrogateescape").decode("utf-8")
            except UnicodeDecodeError:
                found.append(f"undecodable bytes in the {name} header")
    return found


def content_type_param(message: Message, name: str) -> str:
    """A Content-Type parameter, lower-cased ('' when absent), RFC 2231 values decoded."""
    value = message.get_param(name, header="content-type")
    if isinstance(value, tuple):
        value = value[2]
    return str(value or "").lower()


def header_text(message: EmailMessage, name: str) -> str:
    """A header's decoded value ('' when absent or undecodable), for classification."""
    return _header(message, name)


def envelope_address(value: str | None) -> str | None:
    """The envelope sender as every door passes it on: "" for the null sender ``<>``."""
    if value is None:
        return None
    return value.strip().strip("<>").strip()


def first_message_id(value: str) -> str | None:
    found = MESSAGE_ID.search(value)
    return found.group(0) if found else None


def clean_subject(value: str) -> str:
    """One line, whitespace collapsed, at most SUBJECT_MAX characters; characters no header may
    hold (helpdesk.text) become spaces, since a received mail cannot be asked again."""
    return " ".join(header_safe(value).split())[:SUBJECT_MAX]


def address_key(address: str) -> str | None:
    """The comparison key of an address as the accounts store it, or None if it is invalid."""
    try:
        return _validated(address).lower()
    except EmailNotValidError:
        return None


def _validated(address: str) -> str:
    """The normalised address; .local, .test and other non-public domains are fine for intake.

    Whether an address takes mail is the outbox's business, not intake's. email_validator
    refuses special-use names outright, so such a domain is checked with a stand-in suffix.
    """
    local, _, domain = address.rpartition("@")
    lowered = domain.lower().rstrip(".")
    special = next(
        (
            name
            for name in SPECIAL_USE_DOMAIN_NAMES
            if lowered == name or lowered.endswith("." + name)
        ),
        None,
    )
    if special is None:
        return validate_email(
            address, check_deliverability=False, globally_deliverable=False
        ).normalized
    stand_in = lowered[: len(lowered) - len(special)] + "example"
    checked = validate_email(
        f"{local}@{stand_in}", check_deliverability=False, globally_deliverable=False
    )
    return f"{checked.local_part}@{lowered}"


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (HeaderParseError, IndexError, ValueError, AttributeError, TypeError):
        # The modern header parser gave up (or tripped: a group where an address belongs
        # raises AttributeError in the standard library); the value as written still reads.
        raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), "")
        return " ".join(str(raw).split())
    return "" if value is None else str(value)


def _sender(value: str) -> tuple[str, str]:
    if not value.strip():
        raise MalformedMessage("no From header")
    addresses = [(name, address) for name, address in getaddresses([value]) if address]
    if not addresses:
        raise MalformedMessage(f"no address in From: {value[:200]!r}")
    name, address = addresses[0]
    try:
        normalised = _validated(address)
    except EmailNotValidError as error:
        raise MalformedMessage(f"invalid From address {address[:200]!r}: {error}") from None
    return name.strip(), normalised


def _reply_to(message: EmailMessage) -> str | None:
    for _name, address in getaddresses([_header(message, "Reply-To")]):
        if address:
            try:
                return _validated(address)
            except EmailNotValidError:
                return None
    return None


def _recipients(message: EmailMessage) -> tuple[str, ...]:
    values = [_header(message, name) for name in ("To", "Cc", "Delivered-To", "X-Original-To")]
    return tuple(address.lower() for _name, address in getaddresses(values) if address)


def _date(message: EmailMessage) -> datetime | None:
    value = _header(message, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _body_and_attachments(message: EmailMessage) -> tuple[str, list[MailAttachment], bool]:
    """The text, the attachments, and whether S/MIME or PGP parts were among them.

    The text is the plain-text body (else the HTML one), followed by inline text fragments
    some clients put between attachments; a bare forward's text is the forwarded body.
    """
    body = message.get_body(preferencelist=("plain", "html"))
    fragments: list[MIMEPart] = []
    leaves = _leaves(message, body, fragments)
    texts = [_part_text(part) for part in ([body] if body is not None else []) + fragments]
    if not any(text.strip() for text in texts):
        for part in leaves:
            inner = part.get_payload(0) if part.get_content_type() == "message/rfc822" else None
            if isinstance(inner, EmailMessage):
                texts = [_body_and_attachments(inner)[0]]
                break
    attachments = [_attachment(part, number) for number, part in enumerate(leaves, start=1)]
    signed = any(part.get_content_type() in SIGNED_OR_ENCRYPTED for part in leaves)
    return "\n\n".join(text.strip("\n") for text in texts if text.strip()), attachments, signed


def _attachment(part: MIMEPart, number: int) -> MailAttachment:
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload(0)
        data = inner.as_bytes() if isinstance(inner, EmailMessage) else b""
        return MailAttachment(part.get_filename() or _forward_name(inner), content_type, data)
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    return MailAttachment(part.get_filename() or _unnamed(content_type, number), content_type, data)


def _part_text(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        # An unknown charset or broken transfer encoding: decode the bytes as best we can.
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        content = bytes(content).decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        return html_to_text(content)
    return content


def html_to_text(markup: str) -> str:
    """Sanitise HTML with nh3 (scripts, styles, attributes gone) and keep its line structure."""
    cleaned = nh3.clean(
        markup,
        tags=BLOCK_TAGS,
        attributes={},
        clean_content_tags={"script", "style", "title"},
        strip_comments=True,
    )
    cleaned = re.sub(r"<br\s*/?>", "\n", cleaned)
    cleaned = re.sub(r"<li>", "\n- ", cleaned)
    cleaned = re.sub(r"</?(p|div|tr|h\d|blockquote|li)>", "\n", cleaned)
    text = html.unescape(re.sub(r"<[^>]*>", "", cleaned)).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _leaves(part: MIMEPart, body: MIMEPart | None, fragments: list[MIMEPart]) -> list[MIMEPart]:
    """Parts that are not the body: skip the body's alternatives, keep forwards whole.

    Inline text parts outside the body's alternative go to ``fragments`` (text, not files).
    """
    if part is body:
        return []
    if part.get_content_type() == "message/rfc822":
        return [part]
    if part.is_multipart():
        children = list(part.iter_parts())
        if part.get_content_subtype() == "alternative" and any(
            _contains(child, body) for child in children
        ):
            children = [child for child in children if _contains(child, body)]
        return [leaf for child in children for leaf in _leaves(child, body, fragments)]
    if (
        body is not None
        and part.get_content_type() in ("text/plain", "text/html")
        and not part.is_attachment()
        and not part.get_filename()
    ):
        fragments.append(part)
        return []
    return [part]


def _contains(part: MIMEPart, target: MIMEPart | None) -> bool:
    if part is target:
        return True
    return part.is_multipart() and any(_contains(child, target) for child in part.iter_parts())


def _forward_name(inner: object) -> str:
    subject = _header(inner, "Subject") if isinstance(inner, EmailMessage) else ""
    stem = re.sub(r"[^\w\- ]+", "", clean_subject(subject))[:80].strip() or "weitergeleitet"
    return f"{stem}.eml"


def _unnamed(content_type: str, number: int) -> str:
    extensions = {
        "application/pkcs7-signature": "p7s",
        "application/x-pkcs7-signature": "p7s",
        "application/pkcs7-mime": "p7m",
        "application/x-pkcs7-mime": "p7m",
        "application/pgp-signature": "asc",
        "application/pgp-encrypted": "pgp",
        "application/pdf": "pdf",
        "image/png": "png",
        "image/jpeg": "jpg",
        "image/gif": "gif",
        "text/plain": "txt",
        "text/html": "html",
    }
    return f"anhang-{number}.{extensions.get(content_type, 'bin')}"
