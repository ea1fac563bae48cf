"""E-mail addresses as customers type them: checked, normalised, and given a comparison key."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from helpdesk.i18n import address_reason

MAX_LENGTH = 320


class InvalidAddress(ValueError):
    """The text is not a single plain e-mail address; the message is German, for the form."""


@dataclass(frozen=True)
class Address:
    email: str  # email-validator's normalised form (IDN domain in Unicode, NFC)
    key: str  # lower-cased, for de-duplication and look-ups


def normalise(text: str) -> Address:
    """Check ``text`` and return its normalised form; raise InvalidAddress otherwise.

    Refused: control characters (CR/LF header injection), display names or angle brackets
    ("Name <a@b>"), several addresses, and domains that cannot exist. Umlauts and IDN domains
    are accepted. No DNS lookup is made.
    """
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise InvalidAddress(
            "Die E-Mail-Adresse darf keine Zeilenumbrüche oder Steuerzeichen enthalten."
        )
    candidate = text.strip()
    if not candidate:
        raise InvalidAddress("Bitte geben Sie eine E-Mail-Adresse ein.")
    if len(candidate) > MAX_LENGTH:
        raise InvalidAddress("Die E-Mail-Adresse ist zu lang.")
    if any(char in candidate for char in '<>,;"') or " " in candidate:
        raise InvalidAddress(
            "Bitte geben Sie nur eine E-Mail-Adresse ohne Namen ein (name@firma.de)."
        )
    try:
        result = validate_email(
            candidate,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError as error:
        raise InvalidAddress(
            f"Diese E-Mail-Adresse ist ungültig. {address_reason(error)}"
        ) from None
    return Address(result.normalized, result.normalized.lower())
