"""Business-time arithmetic on concrete dates: weekends, holidays, DST, boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickets.sla import AroundTheClock, BusinessCalendar, MonthDay

BERLIN = ZoneInfo("Europe/Berlin")
MICROSECOND = timedelta(microseconds=1)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def office(**overrides: object) -> BusinessCalendar:
    """The support office: Mon-Fri 08:00-17:00 Berlin, nationwide holidays, 24 and 31 Dec."""
    settings: dict[str, object] = {"closed_days": [MonthDay(12, 24), MonthDay(12, 31)]}
    settings.update(overrides)
    return BusinessCalendar("office", **settings)  # type: ignore[arg-type]


def test_friday_afternoon_plus_an_hour_is_monday_half_past_eight() -> None:
    due = office().add(berlin(2026, 1, 16, 16, 30), 60)

    assert due == berlin(2026, 1, 19, 8, 30)


def test_results_are_utc() -> None:
    due = office().add(berlin(2026, 1, 16, 16, 30), 60)

    assert due.tzinfo is UTC
    assert due == datetime(2026, 1, 19, 7, 30, tzinfo=UTC)


def test_friday_plus_an_hour_over_the_spring_dst_weekend_is_monday_half_past_eight() -> None:
    due = office().add(berlin(2026, 3, 27, 16, 30), 60)

    assert due.astimezone(BERLIN) == berlin(2026, 3, 30, 8, 30)
    assert due == datetime(2026, 3, 30, 6, 30, tzinfo=UTC)  # CEST, UTC+2


def test_friday_plus_an_hour_over_the_autumn_dst_weekend_is_monday_half_past_eight() -> None:
    due = office().add(berlin(2026, 10, 23, 16, 30), 60)

    assert due.astimezone(BERLIN) == berlin(2026, 10, 26, 8, 30)
    assert due == datetime(2026, 10, 26, 7, 30, tzinfo=UTC)  # CET, UTC+1


def test_the_weekend_of_a_dst_change_adds_no_business_time() -> None:
    calendar = office()

    spring = calendar.business_minutes(berlin(2026, 3, 27, 16), berlin(2026, 3, 30, 9))
    autumn = calendar.business_minutes(berlin(2026, 10, 23, 16), berlin(2026, 10, 26, 9))

    assert spring == autumn == 120


def test_opening_hours_follow_local_time_after_the_change() -> None:
    calendar = office()

    assert calendar.is_open(datetime(2026, 3, 30, 6, 0, tzinfo=UTC))  # 08:00 CEST
    assert not calendar.is_open(datetime(2026, 3, 30, 5, 59, tzinfo=UTC))
    assert calendar.is_open(datetime(2026, 10, 26, 7, 0, tzinfo=UTC))  # 08:00 CET
    assert not calendar.is_open(datetime(2026, 10, 26, 6, 59, tzinfo=UTC))


def test_a_window_across_the_dst_hour_counts_real_minutes() -> None:
    night_shift = BusinessCalendar(
        "night", weekdays=[6], opens=time(1), closes=time(5), country=None
    )

    spring = night_shift.business_minutes(berlin(2026, 3, 29), berlin(2026, 3, 30))
    autumn = night_shift.business_minutes(berlin(2026, 10, 25), berlin(2026, 10, 26))
    ordinary = night_shift.business_minutes(berlin(2026, 3, 22), berlin(2026, 3, 23))

    assert (spring, autumn, ordinary) == (180, 300, 240)


def test_around_the_clock_counts_the_real_minutes_of_the_dst_night() -> None:
    clock = AroundTheClock()
    before_jump = datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)

    due = clock.add(before_jump, 60)

    assert due.astimezone(BERLIN) == datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
    assert clock.business_minutes(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * 60


def test_critical_saturday_night_is_due_the_same_night() -> None:
    due = AroundTheClock().add(berlin(2026, 3, 28, 23, 50), 30)

    assert due.astimezone(BERLIN) == berlin(2026, 3, 29, 0, 20)


def test_opening_is_open_and_closing_is_closed() -> None:
    calendar = office()

    assert calendar.is_open(berlin(2026, 1, 14, 8))
    assert calendar.is_open(berlin(2026, 1, 14, 17) - MICROSECOND)
    assert not calendar.is_open(berlin(2026, 1, 14, 17))
    assert not calendar.is_open(berlin(2026, 1, 14, 8) - MICROSECOND)


def test_a_target_that_fills_the_day_is_due_at_closing_not_next_morning() -> None:
    due = office().add(berlin(2026, 1, 14, 16), 60)

    assert due == berlin(2026, 1, 14, 17)


def test_one_minute_more_than_the_day_holds_is_due_next_morning() -> None:
    due = office().add(berlin(2026, 1, 14, 16), 61)

    assert due == berlin(2026, 1, 15, 8, 1)


def test_a_zero_duration_returns_the_start_even_when_closed() -> None:
    calendar = office()
    saturday = berlin(2026, 1, 17, 11)

    assert calendar.add(saturday, 0) == saturday
    assert calendar.add(berlin(2026, 1, 14, 17), 0) == berlin(2026, 1, 14, 17)


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    calendar = office()

    assert calendar.add(berlin(2026, 1, 14, 6), 30) == berlin(2026, 1, 14, 8, 30)
    assert calendar.add(berlin(2026, 1, 14, 17), 1) == berlin(2026, 1, 15, 8, 1)
    assert calendar.add(berlin(2026, 1, 17, 11), 90) == berlin(2026, 1, 19, 9, 30)


def test_next_opening_of_a_saturday_is_monday_morning() -> None:
    calendar = office()

    assert calendar.next_opening(berlin(2026, 1, 17, 11)) == berlin(2026, 1, 19, 8)
    assert calendar.next_opening(berlin(2026, 1, 19, 9)) == berlin(2026, 1, 19, 9)


def test_christmas_closes_from_the_24th_to_the_26th() -> None:
    calendar = office()

    due = calendar.add(berlin(2026, 12, 23, 16), 120)

    assert due == berlin(2026, 12, 28, 9)
    for day in (24, 25, 26):
        assert not calendar.is_open(berlin(2026, 12, day, 12))


def test_christmas_eve_is_open_without_the_extra_closed_day() -> None:
    nationwide_only = BusinessCalendar("nationwide")

    due = nationwide_only.add(berlin(2026, 12, 23, 16), 120)

    assert due == berlin(2026, 12, 24, 9)
    assert not nationwide_only.is_open(berlin(2026, 12, 25, 12))


def test_new_years_eve_and_new_years_day_are_closed() -> None:
    due = office().add(berlin(2026, 12, 30, 16), 120)

    assert due == berlin(2027, 1, 4, 9)  # 31 Dec closed, 1 Jan holiday, then the weekend


def test_easter_closes_good_friday_to_easter_monday() -> None:
    calendar = office()

    due = calendar.add(berlin(2026, 4, 2, 16), 120)

    assert due == berlin(2026, 4, 7, 9)
    assert not calendar.is_open(berlin(2026, 4, 6, 10))


def test_epiphany_is_closed_only_in_a_bavarian_calendar() -> None:
    start = berlin(2026, 1, 5, 16)

    nationwide = office().add(start, 120)
    bavarian = office(subdivision="BY").add(start, 120)

    assert nationwide == berlin(2026, 1, 6, 9)
    assert bavarian == berlin(2026, 1, 7, 9)


def test_a_one_off_closed_day_is_skipped() -> None:
    calendar = office(closed_days=[date(2026, 6, 19)])  # a Friday, e.g. a company event

    due = calendar.add(berlin(2026, 6, 18, 16), 120)

    assert due == berlin(2026, 6, 22, 9)


def test_a_full_week_has_five_working_days_of_business_time() -> None:
    minutes = office().business_minutes(berlin(2026, 1, 12), berlin(2026, 1, 19))

    assert minutes == 5 * 9 * 60


def test_business_minutes_are_negative_when_reversed() -> None:
    calendar = office()

    assert calendar.business_minutes(berlin(2026, 1, 14, 10), berlin(2026, 1, 14, 9)) == -60


def test_business_minutes_keep_fractions_of_a_minute() -> None:
    start = berlin(2026, 1, 14, 8)

    assert office().business_minutes(start, start + timedelta(seconds=30)) == 0.5


def test_day_minutes_is_the_length_of_a_working_day() -> None:
    assert office().day_minutes == 540


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        office().add(datetime(2026, 1, 14, 9), 60)


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        office().add(berlin(2026, 1, 14, 9), -1)


def test_a_calendar_must_open_before_it_closes() -> None:
    with pytest.raises(ValueError, match="before closes"):
        BusinessCalendar("backwards", opens=time(17), closes=time(8))


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="subdivision"):
        BusinessCalendar("nowhere", subdivision="XX")
