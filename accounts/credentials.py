"""Passwords (argon2), TOTP secrets (encrypted at rest) and one-time recovery codes."""

from __future__ import annotations

import base64
import functools
import secrets

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from helpdesk.db import utcnow
from helpdesk.security import token_digest

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
RECOVERY_CODES = 10
ISSUER = "Kundencenter Support"

_hasher = PasswordHasher()


@functools.cache
def _unknown_user_hash() -> str:
    """Verified when the e-mail address is unknown, so that both answers take equally long.

    Made on first use, not at import: hashing costs about as much as importing everything
    else, and most processes (workers, `helpdesk` commands) never verify a password.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


def password_problem(password: str) -> str | None:
    """A German message if ``password`` is too weak to set, else None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Das Passwort muss mindestens {MIN_PASSWORD_LENGTH} Zeichen lang sein."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Das Passwort darf höchstens {MAX_PASSWORD_LENGTH} Zeichen lang sein."
    if len(set(password)) < 5:
        return "Das Passwort ist zu einfach."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        verified = _hasher.verify(password_hash or _unknown_user_hash(), password)
        return verified and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"helpdesk totp secrets"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def new_totp_secret() -> str:
    return pyotp.random_base32()


def encrypt_totp_secret(secret_key: str, secret: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode()


def decrypt_totp_secret(secret_key: str, encrypted: str) -> str:
    try:
        return _fernet(secret_key).decrypt(encrypted.encode()).decode()
    except InvalidToken as error:
        raise RuntimeError("TOTP secret cannot be decrypted: was SECRET_KEY changed?") from error


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def totp_counter(secret: str, code: str, last_counter: int | None) -> int | None:
    """The time step ``code`` belongs to (this one or a neighbour), else None.

    A step at or before ``last_counter`` is refused, so an observed code cannot be replayed.
    """
    digits = "".join(code.split())
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    for counter in (now, now - 1, now + 1):
        if last_counter is not None and counter <= last_counter:
            continue
        if secrets.compare_digest(totp.generate_otp(counter), digits):
            return counter
    return None


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k3m9-x2p7-q8rt``: 60 random bits each, shown once, stored hashed."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return [
        "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))
        for _ in range(RECOVERY_CODES)
    ]


def recovery_digest(secret_key: str, code: str) -> str:
    return token_digest("recovery:" + "".join(code.lower().split()), secret_key)
