"""Attachment names and types: decided by the bytes, never by what the sender claims."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickets.attachments import AttachmentRejected, clean_filename, detect_type


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (b"%PDF-1.7\n", "Rechnung.PDF", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "bild.png", "image/png"),
        (b"\xff\xd8\xff\xe0", "foto.jpeg", "image/jpeg"),
        (b"PK\x03\x04", "liste.xlsx", "application/zip"),
        ("Grüße aus Köln\n".encode(), "notiz.txt", "text/plain"),
    ],
)
def test_allowed_files_get_the_type_of_their_bytes(head, name, expected):
    assert detect_type(head, name).content_type == expected


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"MZ\x90\x00", "setup.exe"),
        (b"%PDF-1.7", "bild.png"),
        (b"<html><script>", "seite.html"),
        (b"\xff\xfe\x00\x00", "notiz.txt"),
    ],
)
def test_other_files_are_refused(head, name):
    with pytest.raises(AttachmentRejected):
        detect_type(head, name)


@given(name=st.text(min_size=1, max_size=400))
def test_a_cleaned_name_has_no_directories_controls_and_fits_255(name):
    try:
        cleaned = clean_filename(name)
    except AttachmentRejected:
        return
    assert "/" not in cleaned
    assert "\\" not in cleaned
    assert all(ord(ch) >= 32 for ch in cleaned)
    assert 0 < len(cleaned) <= 255
    assert cleaned not in (".", "..")
