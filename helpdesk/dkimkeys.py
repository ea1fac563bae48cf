"""DKIM signing keys: an RSA-2048 and an Ed25519 key, generated once into the key directory."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from helpdesk.config import Settings, write_once


@dataclass(frozen=True)
class DkimKey:
    selector: str
    algorithm: str  # "rsa-sha256" or "ed25519-sha256"
    private_key: bytes  # in the form dkimpy's sign() takes
    public_record: str  # the DNS TXT record value


def load_keys(settings: Settings) -> tuple[DkimKey, DkimKey]:
    """The (Ed25519, RSA) keys, generating missing ones; each file is written once."""
    key_dir = settings.dkim_key_dir
    ed_path = key_dir / f"{settings.dkim_ed25519_selector}.ed25519"
    rsa_path = key_dir / f"{settings.dkim_rsa_selector}.rsa.pem"
    if not ed_path.exists():
        seed = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        write_once(ed_path, base64.b64encode(seed))
    if not rsa_path.exists():
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_once(rsa_path, pem)
    return (
        _ed25519_key(settings.dkim_ed25519_selector, ed_path),
        _rsa_key(settings.dkim_rsa_selector, rsa_path),
    )


def _ed25519_key(selector: str, path: Path) -> DkimKey:
    encoded = path.read_bytes().strip()
    private = ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded))
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    record = f"v=DKIM1; k=ed25519; p={base64.b64encode(public).decode()}"
    return DkimKey(selector, "ed25519-sha256", encoded, record)


def _rsa_key(selector: str, path: Path) -> DkimKey:
    pem = path.read_bytes()
    private = serialization.load_pem_private_key(pem, password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}"
    return DkimKey(selector, "rsa-sha256", pem, record)


def dns_records(settings: Settings) -> list[tuple[str, str]]:
    """(name, TXT value) for both selectors, as they go into the zone."""
    return [
        (f"{key.selector}._domainkey.{settings.dkim_domain}", key.public_record)
        for key in load_keys(settings)
    ]
