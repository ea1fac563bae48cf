"""The support level a customer gets from the edition."""

from __future__ import annotations

import pytest

from tickets.sla import UnknownEdition, support_level_for_edition


@pytest.mark.parametrize(
    ("edition", "support_level"),
    [
        ("JTL Start", "Community"),
        ("JTL Advanced", "Bronze"),
        ("JTL Pro", "Silber"),
        ("JTL Enterprise", "Gold"),
    ],
)
def test_each_edition_includes_its_support_level(edition: str, support_level: str) -> None:
    assert support_level_for_edition(edition) == support_level


@pytest.mark.parametrize("edition", ["JTL-Pro", "jtl pro", "Pro", " JTL  PRO "])
def test_edition_spellings_are_forgiven(edition: str) -> None:
    assert support_level_for_edition(edition) == "Silber"


@pytest.mark.parametrize("edition", [None, "", "  "])
def test_a_customer_without_an_edition_has_at_least_start(edition: str | None) -> None:
    assert support_level_for_edition(edition) == "Community"


def test_an_unknown_edition_is_refused_rather_than_downgraded() -> None:
    with pytest.raises(UnknownEdition, match="JTL Platinum"):
        support_level_for_edition("JTL Platinum")
