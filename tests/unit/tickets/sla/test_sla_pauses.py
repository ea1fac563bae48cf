"""The SLA clock stops while a ticket waits for the customer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tickets.sla import AroundTheClock, BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def test_a_pause_in_office_hours_moves_the_due_time_by_its_length() -> None:
    due = BusinessCalendar().add(
        berlin(2026, 1, 12, 9), 120, paused=[(berlin(2026, 1, 12, 10), berlin(2026, 1, 12, 10, 30))]
    )

    assert due == berlin(2026, 1, 12, 11, 30)


def test_a_pause_over_the_weekend_changes_nothing() -> None:
    calendar = BusinessCalendar()
    start = berlin(2026, 1, 16, 16, 30)

    paused = calendar.add(start, 60, paused=[(berlin(2026, 1, 16, 18), berlin(2026, 1, 19, 7))])

    assert paused == calendar.add(start, 60) == berlin(2026, 1, 19, 8, 30)


def test_a_pause_over_monday_morning_pushes_the_due_time() -> None:
    due = BusinessCalendar().add(
        berlin(2026, 1, 16, 16, 30), 60, paused=[(berlin(2026, 1, 16, 17), berlin(2026, 1, 19, 9))]
    )

    assert due == berlin(2026, 1, 19, 9, 30)


def test_a_target_reached_as_the_pause_begins_is_due_then() -> None:
    due = BusinessCalendar().add(
        berlin(2026, 1, 12, 9), 60, paused=[(berlin(2026, 1, 12, 10), berlin(2026, 1, 12, 11))]
    )

    assert due == berlin(2026, 1, 12, 10)


def test_overlapping_unsorted_pauses_count_once() -> None:
    pauses = [
        (berlin(2026, 1, 12, 10, 30), berlin(2026, 1, 12, 11)),
        (berlin(2026, 1, 12, 10), berlin(2026, 1, 12, 10, 45)),
    ]

    due = BusinessCalendar().add(berlin(2026, 1, 12, 9), 120, paused=pauses)

    assert due == berlin(2026, 1, 12, 12)


def test_a_pause_that_began_before_the_start_counts_from_the_start() -> None:
    due = BusinessCalendar().add(
        berlin(2026, 1, 12, 9), 60, paused=[(berlin(2026, 1, 12, 8), berlin(2026, 1, 12, 9, 30))]
    )

    assert due == berlin(2026, 1, 12, 10, 30)


def test_an_around_the_clock_target_pauses_at_night_too() -> None:
    due = AroundTheClock().add(
        berlin(2026, 1, 17, 22), 30, paused=[(berlin(2026, 1, 17, 22, 10), berlin(2026, 1, 17, 23))]
    )

    assert due == berlin(2026, 1, 17, 23, 20)


def test_a_zero_duration_inside_a_pause_returns_the_start() -> None:
    start = berlin(2026, 1, 12, 10, 15)

    due = BusinessCalendar().add(
        start, 0, paused=[(berlin(2026, 1, 12, 10), berlin(2026, 1, 12, 11))]
    )

    assert due == start


def test_elapsed_business_time_leaves_out_pauses() -> None:
    minutes = BusinessCalendar().business_minutes(
        berlin(2026, 1, 12, 9),
        berlin(2026, 1, 12, 12),
        paused=[(berlin(2026, 1, 12, 10), berlin(2026, 1, 12, 10, 30))],
    )

    assert minutes == 150


def test_elapsed_business_time_clips_pauses_to_the_span() -> None:
    minutes = BusinessCalendar().business_minutes(
        berlin(2026, 1, 12, 9),
        berlin(2026, 1, 12, 12),
        paused=[
            (berlin(2026, 1, 12, 7), berlin(2026, 1, 12, 9, 30)),
            (berlin(2026, 1, 12, 11, 30), berlin(2026, 1, 13, 9)),
        ],
    )

    assert minutes == 120


def test_a_pause_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        BusinessCalendar().add(
            berlin(2026, 1, 12, 9), 60, paused=[(berlin(2026, 1, 12, 11), berlin(2026, 1, 12, 10))]
        )
