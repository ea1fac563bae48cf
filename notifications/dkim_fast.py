"""DKIM signing (RFC 6376, relaxed/relaxed) with the private-key step done by OpenSSL.

dkimpy parses, canonicalises, selects and hashes the headers exactly as its verifier will;
only the signature itself is computed with ``cryptography`` (RSA-2048 PKCS#1 v1.5 and
Ed25519 per RFC 8463), which is about ten times faster than dkimpy's pure-Python RSA.
The body hash is computed once and shared by both signatures.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from functools import cache, lru_cache

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from dkim.canonicalization import CanonicalizationPolicy

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
CANONICALIZATION = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
HEADER_NAME = b"DKIM-Signature"


class _Sha256Sink:
    """The hasher dkimpy's ``hash_headers`` feeds; keeps the digest for the private-key step."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()


@cache
def _private_key(key: DkimKey) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    """Parse a key once per process (parsing RSA PEM costs more than a signature)."""
    if key.algorithm == "ed25519-sha256":
        return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(key.private_key))
    if key.algorithm == "rsa-sha256":
        private = serialization.load_pem_private_key(key.private_key, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError(f"selector {key.selector}: not an RSA key")
        return private
    raise ValueError(f"selector {key.selector}: unsupported algorithm {key.algorithm}")


def _private_step(key: DkimKey, digest: bytes) -> bytes:
    private = _private_key(key)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        # RFC 8463: Ed25519 signs the SHA-256 hash of the canonicalised headers.
        return private.sign(digest)
    return private.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


def signature_header(
    canonical_headers: list[tuple[bytes, bytes]],
    body_hash: bytes,
    domain: bytes,
    key: DkimKey,
    timestamp: int,
) -> bytes:
    """One complete ``DKIM-Signature: ...\\r\\n`` line for the canonicalised headers."""
    fields = [
        (b"v", b"1"),
        (b"a", key.algorithm.encode()),
        (b"c", CANONICALIZATION.to_c_value()),
        (b"d", domain),
        (b"i", b"@" + domain),
        (b"q", b"dns/txt"),
        (b"s", key.selector.encode()),
        (b"t", str(timestamp).encode()),
        (b"h", b" : ".join(SIGNED_HEADERS)),
        (b"bh", body_hash),
        # A placeholder as long as a signature forces b= onto its own folded line, so adding
        # the real value does not change the whitespace of the tags before it (dkimpy does so).
        (b"b", b"0" * 60),
    ]
    unsigned = dkim.fold(b"; ".join(b"=".join(f) for f in fields), namelen=len(HEADER_NAME))
    unsigned = dkim.RE_BTAG.sub(b"\\1", unsigned)
    sink = _Sha256Sink()
    dkim.hash_headers(
        sink,
        CANONICALIZATION,
        canonical_headers,
        SIGNED_HEADERS,
        (HEADER_NAME, b" " + unsigned),
        {},
    )
    fields[-1] = (b"b", base64.b64encode(_private_step(key, sink.digest())))
    value = dkim.fold(b"; ".join(b"=".join(f) for f in fields) + b"\r\n", namelen=len(HEADER_NAME))
    return HEADER_NAME + b": " + value


@lru_cache(maxsize=4)
def _body_hash(body: bytes) -> bytes:
    """The bh= value; cached because a mailing's recipients at one account share the body."""
    return base64.b64encode(hashlib.sha256(CANONICALIZATION.canonicalize_body(body)).digest())


def sign(raw: bytes, domain: str, keys: Sequence[DkimKey], timestamp: int | None = None) -> bytes:
    """``raw`` with one DKIM-Signature per key prepended (the first key ends up on top)."""
    headers, body = dkim.rfc822_parse(raw)
    canonical_headers = CANONICALIZATION.canonicalize_headers(headers)
    body_hash = _body_hash(body)
    now = int(time.time()) if timestamp is None else timestamp
    encoded_domain = domain.encode()
    signatures = b"".join(
        signature_header(canonical_headers, body_hash, encoded_domain, key, now) for key in keys
    )
    return signatures + raw
