"""The one vocabulary: editions and their support levels, priorities, channels, statuses."""

from __future__ import annotations

import pytest

from vocabulary import (
    CHANNEL_LABELS,
    CHANNELS,
    EDITIONS,
    PRIORITIES,
    PRIORITY_HINTS,
    PRIORITY_LABELS,
    STATUS_LABELS,
    STATUSES,
    SUPPORT_LEVELS,
    UnknownEdition,
    edition_for,
    support_level_for_edition,
)


@pytest.mark.parametrize(
    ("edition", "support_level"),
    [
        ("start", "Community"),
        ("JTL Advanced", "Bronze"),
        ("pro", "Silber"),
        ("JTL Enterprise", "Gold"),
    ],
)
def test_each_edition_includes_its_support_level(edition: str, support_level: str) -> None:
    assert support_level_for_edition(edition) == support_level


@pytest.mark.parametrize("edition", ["JTL-Pro", "jtl pro", "Pro", " JTL  PRO ", "pro"])
def test_edition_spellings_are_forgiven(edition: str) -> None:
    assert edition_for(edition) is EDITIONS["pro"]
    assert support_level_for_edition(edition) == "Silber"


@pytest.mark.parametrize("edition", [None, "", "  "])
def test_a_customer_without_an_edition_has_at_least_start(edition: str | None) -> None:
    assert support_level_for_edition(edition) == "Community"


def test_an_unknown_edition_is_refused_rather_than_downgraded() -> None:
    assert edition_for("Platin") is None
    with pytest.raises(UnknownEdition, match="JTL Platinum"):
        support_level_for_edition("JTL Platinum")


def test_editions_rise_with_the_support_level_and_only_enterprise_has_key_accounting() -> None:
    levels = [SUPPORT_LEVELS.index(edition.support_level) for edition in EDITIONS.values()]
    assert levels == sorted(levels) == list(range(len(SUPPORT_LEVELS)))
    assert [edition.id for edition in EDITIONS.values() if edition.key_accounting] == ["enterprise"]


def test_every_priority_channel_and_status_has_a_german_label() -> None:
    assert PRIORITIES == ("low", "normal", "high", "critical")
    assert CHANNELS == ("web", "api", "email", "phone")
    assert STATUSES == ("new", "open", "waiting", "resolved", "closed")
    assert PRIORITY_LABELS["critical"] == "Kritisch"
    assert CHANNEL_LABELS["email"] == "E-Mail"
    assert STATUS_LABELS["waiting"] == "Wartet auf Kunde"
    assert set(PRIORITY_HINTS) <= set(PRIORITIES)
    assert "Serverausfall" in PRIORITY_HINTS["critical"]
