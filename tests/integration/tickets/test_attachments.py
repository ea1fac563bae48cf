"""Attachments: streamed to disk, bounded, typed by their bytes, gone again on rollback."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import select

from tests.integration.tickets.factories import make_ticket
from tickets.attachments import AttachmentRejected, attachment_path, store_attachment
from tickets.models import TicketAttachment

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def test_a_png_is_stored_outside_the_rows_with_its_digest(runtime):
    ticket_id = make_ticket(runtime)
    with runtime.db.session() as session:
        stored = store_attachment(
            runtime, session, ticket_id, None, "../../screen shot.png", "text/html", io.BytesIO(PNG)
        )
    with runtime.db.session() as session:
        attachment = session.scalars(select(TicketAttachment)).one()

    assert attachment.id == stored.id
    assert attachment.filename == "screen shot.png"
    assert attachment.content_type == "image/png"
    assert attachment.size == len(PNG)
    assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
    path = attachment_path(runtime, attachment)
    assert path.read_bytes() == PNG
    assert path.is_relative_to(runtime.settings.attachment_dir)


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("rechnung.pdf", b"MZ\x90\x00 an executable"),
        ("bild.png", b"%PDF-1.7 a pdf named png"),
        ("notiz.txt", b"text with a \x00 byte"),
        ("script.html", b"<script>alert(1)</script>"),
    ],
)
def test_a_file_whose_bytes_do_not_match_an_allowed_type_is_refused(runtime, filename, content):
    ticket_id = make_ticket(runtime)
    with pytest.raises(AttachmentRejected), runtime.db.session() as session:
        store_attachment(runtime, session, ticket_id, None, filename, None, content)

    assert list(runtime.settings.attachment_dir.rglob("*")) in ([], _dirs(runtime))


def test_a_file_over_the_limit_is_refused_and_nothing_is_left_on_disk(runtime):
    ticket_id = make_ticket(runtime)
    too_big = b"%PDF-" + b"x" * runtime.settings.attachment_max_bytes
    with pytest.raises(AttachmentRejected, match="zu groß"), runtime.db.session() as session:
        store_attachment(runtime, session, ticket_id, None, "gross.pdf", None, too_big)

    assert [p for p in runtime.settings.attachment_dir.rglob("*") if p.is_file()] == []


def test_a_rolled_back_transaction_removes_the_written_file(runtime):
    ticket_id = make_ticket(runtime)
    with pytest.raises(RuntimeError), runtime.db.session() as session:
        store_attachment(runtime, session, ticket_id, None, "a.png", None, PNG)
        assert [p for p in runtime.settings.attachment_dir.rglob("*") if p.is_file()] != []
        raise RuntimeError("failure after the upload")

    assert [p for p in runtime.settings.attachment_dir.rglob("*") if p.is_file()] == []
    with runtime.db.session() as session:
        assert session.scalars(select(TicketAttachment)).all() == []


def _dirs(runtime):
    return [p for p in runtime.settings.attachment_dir.rglob("*") if p.is_dir()]
