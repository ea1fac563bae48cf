"""Cursors round-trip exactly and refuse anything this service did not make."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tickets.listing import DUE_FIRST, LAST_CHANGED, BadCursor, decode_cursor, encode_cursor

SECRET = "cursor-test-secret"
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
due_first_values = st.tuples(instants, st.integers(0, 3), instants, st.integers(1, 2**53)).map(list)


@given(values=due_first_values)
def test_a_due_first_cursor_decodes_to_the_values_it_was_made_from(values):
    assert decode_cursor(encode_cursor(values, "due", SECRET), DUE_FIRST, "due", SECRET) == values


def test_a_cursor_for_another_order_is_refused():
    cursor = encode_cursor([datetime.now(UTC), 7], "changed", SECRET)

    with pytest.raises(BadCursor):
        decode_cursor(cursor, DUE_FIRST, "due", SECRET)
    assert decode_cursor(cursor, LAST_CHANGED, "changed", SECRET)[1] == 7


@given(text=st.text(max_size=120))
def test_arbitrary_text_is_refused_as_a_cursor(text):
    with pytest.raises(BadCursor):
        decode_cursor(text, DUE_FIRST, "due", SECRET)


@given(values=due_first_values, other_secret=st.text(min_size=1, max_size=40))
def test_a_cursor_signed_with_another_secret_is_refused(values, other_secret):
    assume(other_secret != SECRET)
    forged = encode_cursor(values, "due", other_secret)

    with pytest.raises(BadCursor):
        decode_cursor(forged, DUE_FIRST, "due", SECRET)


@given(values=due_first_values, forged_values=due_first_values)
def test_a_cursor_whose_values_were_swapped_under_a_genuine_signature_is_refused(
    values, forged_values
):
    assume(forged_values != values)
    _payload, signature = encode_cursor(values, "due", SECRET).split(".")
    forged_payload, _signature = encode_cursor(forged_values, "due", SECRET).split(".")

    with pytest.raises(BadCursor):
        decode_cursor(f"{forged_payload}.{signature}", DUE_FIRST, "due", SECRET)


@given(values=due_first_values, data=st.data())
def test_a_cursor_with_any_character_changed_is_refused(values, data):
    genuine = encode_cursor(values, "due", SECRET)
    position = data.draw(st.integers(0, len(genuine) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != genuine[position]))
    tampered = genuine[:position] + replacement + genuine[position + 1 :]

    with pytest.raises(BadCursor):
        decode_cursor(tampered, DUE_FIRST, "due", SECRET)
