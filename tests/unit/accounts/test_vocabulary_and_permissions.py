"""Support levels come from editions.yaml; roles imply what they include."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.services import support_level
from accounts.users import granted_permissions
from accounts.vocabulary import contact_options, edition_for


@pytest.mark.parametrize(
    ("edition", "level"),
    [("start", "Community"), ("advanced", "Bronze"), ("pro", "Silber"), ("enterprise", "Gold")],
)
def test_support_level_follows_the_edition(edition, level):
    assert support_level(edition) == level


def test_editions_are_found_by_name_or_id():
    assert edition_for("JTL Enterprise").id == "enterprise"
    assert edition_for(" pro ").id == "pro"
    assert edition_for("Platin") is None


def test_both_distribution_lists_exist():
    assert {"emergency", "data_protection"} <= set(contact_options().purpose_ids)


def test_roles_imply_what_they_include():
    admin = User(kind="staff", roles=["admin"], active=True, permissions=[])
    ops = User(kind="staff", roles=["ops"], active=True, permissions=[])
    assert {"admin", "supervisor", "agent", "ops"} <= granted_permissions(admin)
    assert granted_permissions(ops) == {"ops"}


def test_an_inactive_user_holds_nothing():
    user = User(kind="customer", owner=True, active=False, permissions=[])
    assert granted_permissions(user) == frozenset()
