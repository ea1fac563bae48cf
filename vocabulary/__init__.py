"""The service's words, each defined once: editions and the support level each includes,
support levels, priorities, channels and ticket statuses.

Routing (and its rules-file check), the SLA clock, accounts, mail-in and the models' CHECK
constraints read these tables; no other module lists them. They are Python rather than a data
file because the models need them when they are defined. The German words people see for
priorities, channels and statuses are labels in the catalog (``helpdesk/labels.py`` and the
``.po`` file), like every other shown value. A new edition, priority, channel or status also
needs a migration of the matching CHECK constraint and a label.
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
PRIORITIES = ("low", "normal", "high", "critical")
# The doors a ticket comes in by.
CHANNELS = ("web", "api", "email", "phone")
STATUSES = ("new", "open", "waiting", "resolved", "closed")


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
