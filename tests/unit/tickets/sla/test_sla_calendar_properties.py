"""Properties of business-time arithmetic, over years, DST changes and boundary instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.sla import AroundTheClock, BusinessCalendar, Clock, MonthDay

BERLIN = ZoneInfo("Europe/Berlin")
MICROSECOND = timedelta(microseconds=1)
MINUTE = timedelta(minutes=1)

OFFICE = BusinessCalendar("office", closed_days=[MonthDay(12, 24), MonthDay(12, 31)])
BAVARIA = BusinessCalendar("bavaria", subdivision="BY")
# Open across the DST hour on Sundays, so windows are 3, 4 or 5 hours long.
NIGHT_SHIFT = BusinessCalendar(
    "night", weekdays=[2, 6], opens=time(1, 30), closes=time(5), country=None
)
CALENDARS = st.sampled_from([OFFICE, BAVARIA, NIGHT_SHIFT])
CLOCKS = st.sampled_from([OFFICE, BAVARIA, NIGHT_SHIFT, AroundTheClock()])

# Any instant, or a local instant on a boundary people care about (opening, closing, DST night).
_ANY = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
_BOUNDARY = st.builds(
    lambda day, moment: datetime.combine(day, moment, BERLIN).astimezone(UTC),
    st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
    st.sampled_from(
        [time(0), time(1, 30), time(2, 30), time(7, 59), time(8), time(16, 59), time(17)]
    ),
)
INSTANTS = st.one_of(_ANY, _BOUNDARY)
MINUTES = st.integers(min_value=0, max_value=30 * 540)


def closing_of(calendar: BusinessCalendar, instant: datetime) -> datetime | None:
    window = calendar.window(instant.astimezone(calendar.timezone).date())
    return None if window is None else window[1]


def open_by_wall_clock(calendar: BusinessCalendar, instant: datetime) -> bool:
    """The naive reference for opening hours: read the local wall clock, check day and time."""
    local = instant.astimezone(calendar.timezone)
    return (
        local.weekday() in calendar.weekdays
        and local.date() not in calendar.closed_days_in(local.year)
        and calendar.opens <= local.time() < calendar.closes
    )


def minute_walk(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """The naive reference for ``add``: step one minute at a time, counting the open ones."""
    instant, remaining = start, minutes
    while remaining:
        if open_by_wall_clock(calendar, instant):
            remaining -= 1
        instant += MINUTE
    return instant


@settings(deadline=None)
@given(CALENDARS, INSTANTS, st.integers(min_value=1, max_value=30 * 540))
def test_a_due_time_is_never_inside_closed_hours(
    calendar: BusinessCalendar, start: datetime, minutes: int
) -> None:
    due = calendar.add(start, minutes)

    assert calendar.is_open(due - MICROSECOND)
    assert calendar.is_open(due) or due == closing_of(calendar, due - MICROSECOND)


@settings(deadline=None)
@given(CLOCKS, INSTANTS, MINUTES, MINUTES)
def test_adding_a_then_b_equals_adding_a_plus_b(
    clock: Clock, start: datetime, a: int, b: int
) -> None:
    assert clock.add(clock.add(start, a), b) == clock.add(start, a + b)


@settings(deadline=None)
@given(CLOCKS, INSTANTS, MINUTES)
def test_measuring_back_from_the_due_time_returns_the_duration(
    clock: Clock, start: datetime, minutes: int
) -> None:
    due = clock.add(start, minutes)

    assert clock.business_minutes(start, due) == minutes


@settings(deadline=None)
@given(CLOCKS, INSTANTS, st.integers(min_value=1, max_value=30 * 540))
def test_the_due_time_is_the_first_instant_the_duration_has_run(
    clock: Clock, start: datetime, minutes: int
) -> None:
    due = clock.add(start, minutes)

    assert clock.business_minutes(start, due - MICROSECOND) < minutes


@settings(deadline=None)
@given(CLOCKS, INSTANTS, INSTANTS, INSTANTS)
def test_measuring_is_additive(clock: Clock, a: datetime, b: datetime, c: datetime) -> None:
    parts = clock.business_minutes(a, b) + clock.business_minutes(b, c)

    assert parts == pytest.approx(clock.business_minutes(a, c), abs=1e-6)


@settings(deadline=None)
@given(INSTANTS, MINUTES)
def test_around_the_clock_adds_wall_minutes(start: datetime, minutes: int) -> None:
    assert AroundTheClock().add(start, minutes) == start + timedelta(minutes=minutes)


@settings(deadline=None, max_examples=60)
@given(
    CALENDARS,
    st.one_of(_ANY, _BOUNDARY).map(lambda instant: instant.replace(second=0, microsecond=0)),
    st.integers(min_value=0, max_value=3 * 540),
)
def test_whole_intervals_agree_with_a_minute_by_minute_walk(
    calendar: BusinessCalendar, start: datetime, minutes: int
) -> None:
    assert calendar.add(start, minutes) == minute_walk(calendar, start, minutes)


@settings(deadline=None)
@given(CALENDARS, INSTANTS)
def test_is_open_agrees_with_the_wall_clock(calendar: BusinessCalendar, instant: datetime) -> None:
    assert calendar.is_open(instant) == open_by_wall_clock(calendar, instant)


@st.composite
def pauses(draw: st.DrawFn, start: datetime) -> list[tuple[datetime, datetime]]:
    result = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        begin = start + timedelta(minutes=draw(st.integers(min_value=-600, max_value=20_000)))
        result.append((begin, begin + timedelta(minutes=draw(st.integers(0, 5_000)))))
    return result


@settings(deadline=None)
@given(CLOCKS, INSTANTS, MINUTES, st.data())
def test_measuring_back_with_pauses_returns_the_duration(
    clock: Clock, start: datetime, minutes: int, data: st.DataObject
) -> None:
    paused = data.draw(pauses(start))

    due = clock.add(start, minutes, paused)

    assert clock.business_minutes(start, due, paused) == minutes
    assert due >= clock.add(start, minutes)


@settings(deadline=None)
@given(CLOCKS, INSTANTS, st.integers(min_value=1, max_value=30 * 540), st.data())
def test_with_pauses_the_due_time_is_the_first_instant_the_duration_has_run(
    clock: Clock, start: datetime, minutes: int, data: st.DataObject
) -> None:
    paused = data.draw(pauses(start))

    due = clock.add(start, minutes, paused)

    assert clock.business_minutes(start, due - MICROSECOND, paused) < minutes


@settings(deadline=None)
@given(CLOCKS, INSTANTS, MINUTES, MINUTES, st.data())
def test_with_pauses_adding_a_then_b_equals_adding_a_plus_b(
    clock: Clock, start: datetime, a: int, b: int, data: st.DataObject
) -> None:
    paused = data.draw(pauses(start))

    assert clock.add(clock.add(start, a, paused), b, paused) == clock.add(start, a + b, paused)


@settings(deadline=None)
@given(CLOCKS, INSTANTS, MINUTES, st.data())
def test_the_walk_counts_open_unpaused_stretches_that_add_up_to_the_duration(
    clock: Clock, start: datetime, minutes: int, data: st.DataObject
) -> None:
    paused = data.draw(pauses(start))

    stretches = list(clock.walk(start, minutes, paused))

    assert sum((end - begin for begin, end in stretches), timedelta()) == minutes * MINUTE
    assert all(b_end <= c_begin for (_, b_end), (c_begin, _) in pairwise(stretches))
    assert all(
        clock.is_open(begin) and clock.is_open(end - MICROSECOND) for begin, end in stretches
    )
    assert not any(
        p_begin < end and begin < p_end for begin, end in stretches for p_begin, p_end in paused
    )
    assert (stretches[-1][1] if stretches else start) == clock.add(start, minutes, paused)
