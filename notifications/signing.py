"""DKIM signatures (RFC 6376), Ed25519 (RFC 8463) and RSA-SHA256 on every message.

The work is done by ``notifications.dkim_fast``: dkimpy's canonicalisation with the
private-key step in OpenSSL.
"""

from __future__ import annotations

from collections.abc import Sequence

from helpdesk.dkimkeys import DkimKey
from notifications import dkim_fast


def sign(raw: bytes, domain: str, keys: Sequence[DkimKey]) -> bytes:
    """``raw`` with one DKIM-Signature header per key prepended (first key ends up on top)."""
    return dkim_fast.sign(raw, domain, keys)
