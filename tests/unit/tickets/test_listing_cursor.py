"""Cursors round-trip exactly and refuse anything this service did not make."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickets.listing import DUE_FIRST, LAST_CHANGED, BadCursor, decode_cursor, encode_cursor

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@given(due=instants, rank=st.integers(0, 3), created=instants, ticket_id=st.integers(1, 2**53))
def test_a_due_first_cursor_decodes_to_the_values_it_was_made_from(due, rank, created, ticket_id):
    values = [due, rank, created, ticket_id]

    assert decode_cursor(encode_cursor(values, "due"), DUE_FIRST, "due") == values


def test_a_cursor_for_another_order_is_refused():
    cursor = encode_cursor([datetime.now(UTC), 7], "changed")

    with pytest.raises(BadCursor):
        decode_cursor(cursor, DUE_FIRST, "due")
    assert decode_cursor(cursor, LAST_CHANGED, "changed")[1] == 7


@given(text=st.text(max_size=60))
def test_arbitrary_text_is_refused_as_a_cursor_never_crashes(text):
    # Anything but BadCursor (a TypeError, a KeyError) would fail the test.
    with contextlib.suppress(BadCursor):
        decode_cursor(text, DUE_FIRST, "due")
