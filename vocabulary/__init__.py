"""The service's words, each defined once: editions and the support level each includes,
support levels, priorities, channels and ticket statuses, with the German labels people see.

Routing (and its rules-file check), the SLA clock, accounts, mail-in, the models' CHECK
constraints and the templates all read these tables; no other module lists them. They are
Python rather than a data file because the models need them when they are defined, and
because each label is a literal in one table, ready to be marked for translation. A new
edition, priority, channel or status also needs a migration of the matching CHECK constraint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Lowest first. The SLA policies file has one block per level.
SUPPORT_LEVELS = ("Community", "Bronze", "Silber", "Gold")


@dataclass(frozen=True)
class Edition:
    """An edition the contract system sells: ``id`` is stored on accounts, ``name`` shown and
    used by routing rules."""

    id: str
    name: str
    support_level: str
    key_accounting: bool = False  # Key Accounting can be booked with this edition


# The support level comes from the edition (seed 004); every active customer has at least
# JTL Start. Key Accounting is available in Enterprise only.
EDITIONS = {
    edition.id: edition
    for edition in (
        Edition("start", "JTL Start", "Community"),
        Edition("advanced", "JTL Advanced", "Bronze"),
        Edition("pro", "JTL Pro", "Silber"),
        Edition("enterprise", "JTL Enterprise", "Gold", key_accounting=True),
    )
}
BASE_EDITION = EDITIONS["start"]

# Lowest first: routing's "priority_at_least" and the console's sort order follow it.
PRIORITY_LABELS = {"low": "Niedrig", "normal": "Normal", "high": "Hoch", "critical": "Kritisch"}
PRIORITY_HINTS = {
    "critical": "Nur für Notfälle: Serverausfall, ein systemrelevanter Dienst funktioniert "
    "nicht, Website/Shop ist offline. Kritische Tickets lösen Eskalationen aus; ein kritisches "
    "Ticket, das kein Notfall ist, wird verrechnet.",
}
PRIORITIES = tuple(PRIORITY_LABELS)

# The doors a ticket comes in by.
CHANNEL_LABELS = {"web": "Web-Formular", "api": "API", "email": "E-Mail", "phone": "Telefon"}
CHANNELS = tuple(CHANNEL_LABELS)

STATUS_LABELS = {
    "new": "Neu",
    "open": "Offen",
    "waiting": "Wartet auf Kunde",
    "resolved": "Gelöst",
    "closed": "Geschlossen",
}
STATUSES = tuple(STATUS_LABELS)


class UnknownEdition(ValueError):
    """An edition that is none of JTL Start, Advanced, Pro or Enterprise."""


def _edition_key(text: str) -> str:
    # "JTL-Pro", "jtl pro", "Pro" and "pro" all name the same edition.
    return re.sub(r"[^a-z]", "", text.casefold()).removeprefix("jtl")


_BY_KEY = {_edition_key(edition.name): edition for edition in EDITIONS.values()}


def edition_for(text: str) -> Edition | None:
    """The edition named by its id or name in any spelling ("pro", "JTL Pro", "JTL-Pro")."""
    return _BY_KEY.get(_edition_key(text))


def support_level_for_edition(edition: str | None) -> str:
    """The support level an edition includes: ``"pro"`` or ``"JTL Pro"`` -> ``"Silber"``.

    A missing edition (None or blank) means JTL Start, which every active customer has. An
    unknown one raises UnknownEdition rather than silently downgrading a customer.
    """
    if edition is None or not edition.strip():
        return BASE_EDITION.support_level
    found = edition_for(edition)
    if found is None:
        known = ", ".join(known.name for known in EDITIONS.values())
        raise UnknownEdition(f"unknown edition {edition!r}; expected one of {known}")
    return found.support_level
