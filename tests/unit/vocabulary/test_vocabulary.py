"""The one vocabulary: editions and their support levels, priorities, channels, statuses."""

from __future__ import annotations

import pytest

from helpdesk.labels import LABELS, label
from vocabulary import (
    CHANNELS,
    EDITIONS,
    PRIORITIES,
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


def test_every_priority_channel_and_status_has_a_german_label_in_its_order() -> None:
    assert PRIORITIES == tuple(LABELS["priority"]) == ("low", "normal", "high", "critical")
    assert CHANNELS == tuple(LABELS["channel"]) == ("web", "api", "email", "phone")
    assert STATUSES == tuple(LABELS["status"]) == ("new", "open", "waiting", "resolved", "closed")
    assert label("critical", "priority") == "Kritisch"
    assert label("email", "channel") == "E-Mail"
    assert label("waiting", "status") == "Wartet auf Kunde"
    assert set(LABELS["priority_hint"]) <= set(PRIORITIES)
    assert "Serverausfall" in label("critical", "priority_hint")
