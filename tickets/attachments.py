"""Ticket attachments: streamed to disk under ``var/attachments``, bounded, typed by content.

The bytes never go into the database: a row holds name, detected type, size, SHA-256 and the
storage key. The type is decided by the file's first bytes (magic numbers) and must agree with
the file name's extension; what the client claims as Content-Type is ignored. A file written
for a transaction that rolls back is removed again, so a failed request leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import event
from sqlalchemy.orm import Session

from helpdesk.runtime import Runtime
from tickets.models import TicketAttachment

CHUNK = 64 * 1024
SNIFF_BYTES = 8192
PENDING_FILES = "pending_attachment_files"


@dataclass(frozen=True)
class FileType:
    content_type: str
    extensions: tuple[str, ...]
    magic: tuple[bytes, ...]  # empty: plain text (no magic number, but no NUL bytes either)


FILE_TYPES: tuple[FileType, ...] = (
    FileType("application/pdf", (".pdf",), (b"%PDF-",)),
    FileType("image/png", (".png",), (b"\x89PNG\r\n\x1a\n",)),
    FileType("image/jpeg", (".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
    FileType("image/gif", (".gif",), (b"GIF87a", b"GIF89a")),
    FileType(
        "application/zip",
        (".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods"),
        (b"PK\x03\x04",),
    ),
    FileType("text/plain", (".txt", ".log", ".csv", ".xml", ".json", ".eml"), ()),
)


class AttachmentRejected(Exception):
    """The file cannot be stored; the message is German and names the reason."""


def detect_type(head: bytes, filename: str) -> FileType:
    """The allowed type whose magic number starts ``head`` and whose extension ``filename`` has."""
    extension = Path(filename).suffix.lower()
    for file_type in FILE_TYPES:
        if file_type.magic and head.startswith(file_type.magic):
            if extension not in file_type.extensions:
                raise AttachmentRejected(
                    f"Der Dateiinhalt passt nicht zur Dateiendung ({extension or 'ohne Endung'})."
                )
            return file_type
    text = FILE_TYPES[-1]
    if extension in text.extensions and b"\x00" not in head and _decodes(head):
        return text
    allowed = ", ".join(ext for file_type in FILE_TYPES for ext in file_type.extensions)
    raise AttachmentRejected(f"Dieser Dateityp ist nicht erlaubt. Erlaubt sind: {allowed}.")


def _decodes(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character may be cut at the end of the sniffed block.
        return error.start >= len(head) - 3
    return True


def clean_filename(filename: str) -> str:
    """The base name without directories or control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if not name:
        raise AttachmentRejected("Die Datei braucht einen Namen.")
    stem, suffix = os.path.splitext(name)
    return stem[: 255 - len(suffix)] + suffix


def store_attachment(
    runtime: Runtime,
    session: Session,
    ticket_id: int,
    message_id: int | None,
    filename: str,
    content_type: str | None,
    data: bytes | IO[bytes],
    uploaded_by: str = "system",
) -> TicketAttachment:
    """Write the file and add its row to ``session``'s transaction; raise AttachmentRejected.

    ``content_type`` is what the sender claimed; it is ignored in favour of the detected type.
    """
    del content_type  # never trusted: see detect_type
    name = clean_filename(filename)
    limit = runtime.settings.attachment_max_bytes
    directory = runtime.settings.attachment_dir
    storage_key = f"{secrets.token_hex(1)}/{secrets.token_hex(16)}"
    target = directory / storage_key
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with open(temporary, "xb") as handle:
            for chunk in _chunks(data):
                size += len(chunk)
                if size > limit:
                    raise AttachmentRejected(
                        f"Die Datei ist zu groß (höchstens {limit // (1024 * 1024)} MB)."
                    )
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                digest.update(chunk)
                handle.write(chunk)
        file_type = detect_type(head, name)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    session.info.setdefault(PENDING_FILES, []).append(target)
    attachment = TicketAttachment(
        ticket_id=ticket_id,
        message_id=message_id,
        filename=name,
        content_type=file_type.content_type,
        size=size,
        sha256=digest.hexdigest(),
        storage_key=storage_key,
        uploaded_by=uploaded_by,
    )
    session.add(attachment)
    return attachment


def _chunks(data: bytes | IO[bytes]) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])
        return
    while chunk := data.read(CHUNK):
        yield chunk


def attachment_path(runtime: Runtime, attachment: TicketAttachment) -> Path:
    """Where the bytes of ``attachment`` are; the key is ours, never a client's name."""
    return runtime.settings.attachment_dir / attachment.storage_key


@event.listens_for(Session, "after_commit")
def _keep_files(session: Session) -> None:
    session.info.pop(PENDING_FILES, None)


@event.listens_for(Session, "after_rollback")
def _remove_files(session: Session) -> None:
    for path in session.info.pop(PENDING_FILES, []):
        Path(path).unlink(missing_ok=True)
