"""Proof of delivery: a signed per-recipient export of a mailing, and its verification.

An export is a stream of lines (CSV or JSON) written from one server-side cursor over the
delivery records joined with their attempts, so 100,000 recipients never sit in memory. Its
last line carries an Ed25519 signature over the SHA-256 digest of every byte before that line;
the signing key is generated once under the var directory (like the DKIM keys) and its public
part is printed by ``helpdesk mailings proof-key``. Verification recomputes the digest and
checks the signature against our public key, never against a key named in the file.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select
from sqlalchemy.orm import aliased

from helpdesk.config import Settings, write_once
from helpdesk.db import utcnow
from helpdesk.runtime import Runtime
from notifications.mailings import bounces
from notifications.mailings.models import Mailing, MailingAttempt, MailingDelivery

FORMATS = ("csv", "json")
SIGNED_PREFIX = b"helpdesk-mailing-proof-v1:"
ROWS_PER_FETCH = 1000
REASON_LABELS = {
    "first_contact": "Erstkontakt",
    "contact_person": "Ansprechpartner",
    "emergency": "Verteiler Notfallkontakte",
    "data_protection": "Verteiler Datenschutzvorfälle",
}
CSV_COLUMNS = (
    "customer_number",
    "company",
    "address",
    "reason",
    "message_id",
    "attempts",
    "state",
    "bounce_status",
    "bounce_class",
    "resend_of",
)
_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")


class ProofInvalid(Exception):
    """The file is no intact proof of ours; the message says why in one line."""


@dataclass(frozen=True)
class Verified:
    mailing_id: int
    subject: str
    recipients: int
    exported_at: str


def signing_key(settings: Settings) -> ed25519.Ed25519PrivateKey:
    """The proof key, generated into its file on first use (written once, mode 0600)."""
    path = settings.mailing_proof_key
    if not path.exists():
        seed = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        write_once(path, base64.b64encode(seed))
    return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(path.read_bytes()))


def public_key_text(settings: Settings) -> str:
    """The public key as base64 of its 32 raw bytes: what auditors keep to check a proof."""
    raw = (
        signing_key(settings)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return base64.b64encode(raw).decode()


def bounce_fields(state: str, reply: str | None) -> tuple[str, str]:
    """(status code, class) of a bounced record as recorded from its DSN: hard (5.x.x) or soft."""
    status = (reply or "").split(" ", 1)[0]
    if state != "bounced" or not _STATUS.fullmatch(status):
        return "", ""
    return status, "hard" if status.startswith("5") else "soft"


def _recipients(runtime: Runtime, mailing: Mailing) -> Iterator[dict[str, Any]]:
    """One dict per delivery record with its attempts, from one streamed query."""
    settings = runtime.settings
    original = aliased(MailingDelivery)
    statement = (
        select(
            MailingDelivery.id,
            MailingDelivery.customer_number,
            MailingDelivery.company,
            MailingDelivery.address,
            MailingDelivery.reason,
            MailingDelivery.state,
            MailingDelivery.smtp_reply,
            original.id.label("original_id"),
            original.mailing_id.label("original_mailing"),
            MailingAttempt.attempted_at,
            MailingAttempt.outcome,
            MailingAttempt.smtp_code,
            MailingAttempt.smtp_text,
        )
        .outerjoin(MailingAttempt, MailingAttempt.delivery_id == MailingDelivery.id)
        .outerjoin(original, original.id == MailingDelivery.resend_of_id)
        .where(MailingDelivery.mailing_id == mailing.id)
        .order_by(MailingDelivery.id, MailingAttempt.id)
        .execution_options(yield_per=ROWS_PER_FETCH)
    )
    current: dict[str, Any] | None = None
    with runtime.db.reading() as session:
        for row in session.execute(statement):
            if current is None or current["_id"] != row.id:
                if current is not None:
                    yield current
                status, kind = bounce_fields(row.state, row.smtp_reply)
                current = {
                    "_id": row.id,
                    "customer_number": row.customer_number,
                    "company": row.company,
                    "address": row.address,
                    "reason": row.reason,
                    "message_id": bounces.message_id(settings, mailing.id, row.id),
                    "attempts": [],
                    "state": row.state,
                    "bounce_status": status,
                    "bounce_class": kind,
                    "resend_of": bounces.message_id(settings, row.original_mailing, row.original_id)
                    if row.original_id is not None
                    else "",
                }
            if row.attempted_at is not None:
                current["attempts"].append(
                    {
                        "at": _instant(row.attempted_at),
                        "outcome": row.outcome,
                        "smtp_code": row.smtp_code,
                        "smtp_text": row.smtp_text,
                    }
                )
        if current is not None:
            yield current


def _instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _header(mailing: Mailing, settings: Settings) -> dict[str, Any]:
    return {
        "mailing_id": mailing.id,
        "subject": mailing.subject,
        "started_at": _instant(mailing.started_at) if mailing.started_at else None,
        "exported_at": _instant(utcnow()),
        "sender_domain": settings.mail_domain,
    }


def _csv_line(values: list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode()


def _attempts_cell(attempts: list[dict[str, Any]]) -> str:
    return "; ".join(
        " ".join(f"{a['at']} {a['outcome']} {a['smtp_code'] or '-'} {a['smtp_text']}".split())
        for a in attempts
    )


def export(runtime: Runtime, mailing: Mailing, kind: str) -> Iterator[bytes]:
    """The proof of ``mailing`` as chunks of bytes; the last line is the signature."""
    digest = hashlib.sha256()
    key = signing_key(runtime.settings)
    header = _header(mailing, runtime.settings)

    def emit(chunk: bytes) -> bytes:
        digest.update(chunk)
        return chunk

    count = 0
    if kind == "csv":
        yield emit(b"# " + json.dumps(header, ensure_ascii=False).encode() + b"\n")
        yield emit(_csv_line(list(CSV_COLUMNS)))
        for recipient in _recipients(runtime, mailing):
            recipient["attempts"] = _attempts_cell(recipient["attempts"])
            yield emit(_csv_line([recipient[column] for column in CSV_COLUMNS]))
            count += 1
        yield emit(b"# " + json.dumps({"recipient_count": count}).encode() + b"\n")
    else:
        opening = json.dumps({"mailing": header}, ensure_ascii=False)[:-1]
        yield emit(opening.encode() + b', "recipients": [\n')
        for recipient in _recipients(runtime, mailing):
            del recipient["_id"]
            line = json.dumps(recipient, ensure_ascii=False).encode()
            yield emit((b",\n" if count else b"") + line)
            count += 1
        yield emit((b"\n" if count else b"") + f'],\n"recipient_count": {count},\n'.encode())
    signature = key.sign(SIGNED_PREFIX + digest.digest())
    trailer = {
        "algorithm": "Ed25519",
        "sha256": digest.hexdigest(),
        "signature": base64.b64encode(signature).decode(),
    }
    if kind == "csv":
        yield b"# signature " + json.dumps(trailer).encode() + b"\n"
    else:
        yield b'"signature": ' + json.dumps(trailer).encode() + b"}\n"


def verify(settings: Settings, data: bytes, public_key: str | None = None) -> Verified:
    """Check a proof file against our public key (or the given one); raise ProofInvalid."""
    signed, _, last = data.removesuffix(b"\n").rpartition(b"\n")
    signed += b"\n"
    for prefix, suffix in ((b"# signature ", b""), (b'"signature": ', b"}")):
        if last.startswith(prefix) and last.endswith(suffix):
            body = last[len(prefix) : len(last) - len(suffix)]
            break
    else:
        raise ProofInvalid("no signature line at the end: not a proof of delivery")
    try:
        trailer = json.loads(body)
        signature = base64.b64decode(trailer["signature"], validate=True)
    except (ValueError, KeyError, TypeError):
        raise ProofInvalid("the signature line is damaged") from None
    digest = hashlib.sha256(signed)
    if trailer.get("sha256") != digest.hexdigest():
        raise ProofInvalid("the content was changed after it was signed (digest differs)")
    key_text = public_key or public_key_text(settings)
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(key_text))
        key.verify(signature, SIGNED_PREFIX + digest.digest())
    except (InvalidSignature, ValueError):
        raise ProofInvalid("the signature is not ours (wrong key or forged)") from None
    return _summary(signed)


def _summary(signed: bytes) -> Verified:
    """What a verified proof is about, from its first and its last signed line."""
    lines = signed.split(b"\n")
    first, last = lines[0], lines[-2]
    if first.startswith(b"# "):
        header = json.loads(first[2:])
        count = json.loads(last[2:])["recipient_count"]
    else:
        header = json.loads(first.removesuffix(b', "recipients": [') + b"}")["mailing"]
        count = int(last.removeprefix(b'"recipient_count": ').rstrip(b","))
    return Verified(header["mailing_id"], header["subject"], count, header["exported_at"])
