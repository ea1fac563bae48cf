"""Contact options come from contact_options.yaml; roles imply what they include."""

from __future__ import annotations

from accounts.models import User
from accounts.users import granted_permissions
from accounts.vocabulary import contact_options


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
