"""Support levels, priorities and SLA target kinds, and the edition a support level comes from."""

from __future__ import annotations

import re

SUPPORT_LEVELS = ("Community", "Bronze", "Silber", "Gold")
PRIORITIES = ("low", "normal", "high", "critical")
TARGET_KINDS = ("first_response", "next_response", "resolution")

EDITION_SUPPORT_LEVELS = {
    "JTL Start": "Community",
    "JTL Advanced": "Bronze",
    "JTL Pro": "Silber",
    "JTL Enterprise": "Gold",
}
# "JTL-Pro", "jtl pro" and "Pro" all name the same edition.
_EDITION_KEYS = {
    re.sub(r"^jtl", "", re.sub(r"[^a-z]", "", name.lower())): level
    for name, level in EDITION_SUPPORT_LEVELS.items()
}


class UnknownEdition(ValueError):
    """An edition name that is none of JTL Start, Advanced, Pro or Enterprise."""


def support_level_for_edition(edition: str | None) -> str:
    """The support level an edition includes, e.g. ``"JTL Pro"`` -> ``"Silber"``.

    Every active customer has at least JTL Start, so a missing edition (None or blank) means
    Community. An unknown name raises UnknownEdition rather than silently downgrading a customer.
    """
    if edition is None or not edition.strip():
        return EDITION_SUPPORT_LEVELS["JTL Start"]
    key = re.sub(r"^jtl", "", re.sub(r"[^a-z]", "", edition.lower()))
    try:
        return _EDITION_KEYS[key]
    except KeyError:
        known = ", ".join(EDITION_SUPPORT_LEVELS)
        raise UnknownEdition(f"unknown edition {edition!r}; expected one of {known}") from None
