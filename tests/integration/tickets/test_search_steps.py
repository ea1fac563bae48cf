"""A search gives the same hits in the same order whichever way it finds them.

``list_tickets`` checks the next tickets of the list in order first, then asks the indexes
for every hit, and names at most so many hits in one statement; small limits here make a
handful of tickets take each way.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.integration.tickets.factories import make_ticket
from tickets import listing, search
from tickets.access import Viewer
from tickets.models import STATUSES, format_number

STAFF = Viewer("agent@support.example.com", None, None, True, None)


def pages(runtime, query: str, **steps: int) -> list[list[str]]:
    """Every page of the search (three tickets a page), each a list of ticket numbers."""
    found, cursor = [], None
    with runtime.db.session() as session:
        ticket_filter = replace(
            listing.TicketFilter(statuses=STATUSES), matching=search.matching(session, query)
        )
        while True:
            page = listing.list_tickets(
                session, STAFF, ticket_filter, cursor=cursor, limit=3, secret="test", **steps
            )
            found.append([row.number for row in page.rows])
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor


@pytest.mark.parametrize(
    "steps",
    [
        {},  # the whole list fits the window
        {"search_window": 4},  # few hits in the window: the indexes name them
        {"search_window": 4, "search_ids_max": 2},  # too many to name: a sub-select
    ],
    ids=["window", "indexes", "sub-select"],
)
def test_every_way_finds_the_same_hits_in_list_order(runtime, steps):
    hits = []
    for n in range(12):
        subject = f"Rechnung {n}" if n % 3 == 0 else f"Abgleich {n}"
        ticket_id = make_ticket(runtime, subject=subject)
        if n % 3 == 0:
            hits.append(format_number(ticket_id))

    found = [number for page in pages(runtime, "Rechnung", **steps) for number in page]

    in_list_order = [number for page in pages(runtime, "Rechnung") for number in page]
    assert sorted(found) == sorted(hits)
    assert found == in_list_order


def test_a_nul_character_in_the_search_is_ignored(runtime):
    make_ticket(runtime, subject="Rechnung offen")

    assert len([n for page in pages(runtime, "\x00Rechnung\x00") for n in page]) == 1
