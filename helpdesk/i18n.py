"""The words people read come from gettext catalogs under ``translations/`` (locale ``de``).

Pages read them through Flask-Babel; mails are rendered outside a request (in workers) and
read the same catalog directly. The ``.po`` files are the source; a ``.mo`` is compiled from
its ``.po`` when missing or older, so a fresh clone needs no extra build step.
"""

from __future__ import annotations

import os
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask
from flask_babel import Babel

from helpdesk.config import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "translations"
LOCALE = "de"
BERLIN = ZoneInfo("Europe/Berlin")

babel = Babel()


def compile_catalogs() -> None:
    """Write each ``messages.mo`` whose ``messages.po`` is newer (or that does not exist)."""
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        # Written beside and renamed: several processes may start at once on a fresh clone.
        partial = mo_path.with_name(f"{mo_path.name}.{os.getpid()}")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(partial, mo_path)


@cache
def translations() -> NullTranslations:
    compile_catalogs()
    return Translations.load(str(TRANSLATIONS), [LOCALE])


def gettext(message: str) -> str:
    return translations().gettext(message)


def berlin(instant: datetime | str | None) -> str:
    """An instant (or its ISO text) as German wall-clock time: ``30.11.2026 14:05``."""
    if instant is None or instant == "":
        return ""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return instant.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")


def filesize(size: int) -> str:
    """A file's size as people read it: ``812 Bytes``, ``3,4 KB``, ``12,0 MB``."""
    if size < 1024:
        return f"{size} Bytes"
    for unit, factor in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < factor * 1024 or unit == "GB":
            return f"{size / factor:.1f} {unit}".replace(".", ",")
    raise AssertionError("unreachable")


# email-validator explains in English; each reason it gives, by how its sentence starts.
ADDRESS_REASONS = (
    ("An email address must have an @-sign", "Es fehlt das @-Zeichen."),
    ("There must be something before the @-sign", "Vor dem @-Zeichen fehlt der Name."),
    ("There must be something after the @-sign", "Nach dem @-Zeichen fehlt die Domain."),
    ("The part after the @-sign is not valid", "Die Domain nach dem @-Zeichen ist ungültig."),
    ("The part after the @-sign is a special-use", "Diese Domain kann keine E-Mails empfangen."),
    ("The part after the @-sign contains invalid", "Die Domain enthält unzulässige Zeichen."),
    ("The email address contains invalid characters", "Vor dem @ stehen unzulässige Zeichen."),
    ("The email address is too long", "Die Adresse ist zu lang."),
    ("The email address contains a", "Die Adresse enthält unzulässige Zeichen."),
    ("An email address cannot have two periods", "Zwei Punkte dürfen nicht aufeinander folgen."),
    ("An email address cannot start with a period", "Am Anfang darf kein Punkt stehen."),
    ("An email address cannot end with a period", "Am Ende darf kein Punkt stehen."),
    ("An email address cannot have a period", "Neben dem @-Zeichen darf kein Punkt stehen."),
    ("An email address cannot have a hyphen", "Neben dem @-Zeichen darf kein Bindestrich stehen."),
)


def address_reason(error: Exception) -> str:
    """email-validator's reason why an address is invalid, as a German sentence."""
    text = str(error)
    for start, german in ADDRESS_REASONS:
        if text.startswith(start):
            return german
    return "Bitte prüfen Sie die Schreibweise (name@firma.de)."


def init_app(app: Flask) -> None:
    compile_catalogs()
    babel.init_app(
        app,
        locale_selector=lambda: LOCALE,
        timezone_selector=lambda: BERLIN.key,
        default_translation_directories=str(TRANSLATIONS),
    )
    app.add_template_filter(berlin)
    app.add_template_filter(filesize)
