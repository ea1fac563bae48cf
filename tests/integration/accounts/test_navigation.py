"""Each role's menu leads to the areas it may use, and only to those."""

from __future__ import annotations

import re

import pytest

from tests.integration.accounts.factories import make_account, make_customer, make_staff, sign_in


def _menu(client) -> list[tuple[str, str]]:
    page = client.get("/konto/sicherheit").get_data(as_text=True)
    nav = re.search(r"<nav.*?</nav>", page, re.S)
    assert nav, "the page has a navigation"
    return re.findall(r'<a[^>]*href="([^"]+)"[^>]*>\s*([^<]+?)\s*</a>', nav.group(0))


@pytest.mark.parametrize(
    ("roles", "expected", "absent"),
    [
        (("agent",), {"/konsole", "/verwaltung/konten"}, {"/ops/mailings", "/reports/sla"}),
        (("supervisor",), {"/konsole", "/reports/sla"}, {"/ops/mailings"}),
        (("ops",), {"/ops/mailings"}, {"/konsole", "/reports/sla"}),
    ],
)
def test_staff_menu_matches_the_role(client, runtime, roles, expected, absent):
    staff = make_staff(runtime, *roles, queues=("accounting",))
    sign_in(client, staff.email)

    links = {href for href, _label in _menu(client)}

    assert expected <= links
    assert not absent & links


def test_customer_menu_has_tickets_email_history_and_account(client, runtime):
    customer = make_customer(runtime, make_account(runtime), owner=True)
    sign_in(client, customer.email)

    labels = [label for _href, label in _menu(client)]

    assert {"Tickets", "E-Mail-Verlauf", "Mein Konto"} <= set(labels)
    assert not {"Konsole", "Mailings", "SLA-Bericht"} & set(labels)
