"""DKIM signatures (RFC 6376), Ed25519 (RFC 8463) and RSA-SHA256 on every message."""

from __future__ import annotations

from collections.abc import Sequence

import dkim

from helpdesk.dkimkeys import DkimKey

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"auto-submitted",
)


def sign(raw: bytes, domain: str, keys: Sequence[DkimKey]) -> bytes:
    """``raw`` with one DKIM-Signature header per key prepended (first key ends up on top)."""
    signatures = b""
    for key in reversed(keys):
        signatures = (
            dkim.sign(
                raw,
                key.selector.encode(),
                domain.encode(),
                key.private_key,
                include_headers=list(SIGNED_HEADERS),
                signature_algorithm=key.algorithm.encode(),
                linesep=b"\r\n",
            )
            + signatures
        )
    return signatures + raw
