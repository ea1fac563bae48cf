"""Clocks for SLA targets: business hours with holidays, or around the clock.

Every instant given to or returned from a clock is timezone-aware; results are in UTC. Local
time (Europe/Berlin by default) is used only to find the opening hours of a day, and all
arithmetic happens in UTC, so DST changes never add or lose an hour.

Boundary rules, shared by both clocks:

* Opening hours are half-open: a calendar open 08:00-17:00 is open at 08:00:00 and closed at
  17:00:00 exactly (``is_open`` is False at closing time).
* ``add(start, n)`` returns the earliest instant ``t >= start`` at which ``n`` business minutes
  have elapsed since ``start``. Hence ``add(start, 0) == start`` wherever ``start`` lies, and a
  target that fills the day's window lands at closing time (16:00 + 60 min is 17:00 the same
  day, not 08:00 the next morning). For ``n > 0`` the due time is never inside closed hours: it
  lies after an opening and at or before the following closing, so the instant just before it
  is open.
* ``business_minutes(a, b)`` is the exact open time in ``[a, b)`` as a float number of minutes
  (fractions come from seconds in the instants); it is negative when ``b < a``.
  ``business_minutes(start, add(start, n)) == n`` for every whole or fractional ``n``.
* Paused intervals (the ticket waits for the customer) stop the clock: their open time does not
  count. Pauses may overlap, be unsorted or reach outside the measured span.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

Pause = tuple[datetime, datetime]

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTE = timedelta(minutes=1)
_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
HOLIDAY_LANGUAGE = "de"  # holiday names are shown to customers, who read German
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ClosedDay:
    """Why a calendar is closed on a day: ``kind`` is ``holiday`` (``name`` the holiday's),
    ``closed_day`` (``name`` the configured ``MM-DD`` or date) or ``weekend`` (``name`` the
    weekday, ``sat``)."""

    kind: str
    name: str


@dataclass(frozen=True, order=True)
class MonthDay:
    """A day closed every year, such as Christmas Eve (12-24)."""

    month: int
    day: int

    def __post_init__(self) -> None:
        date(2024, self.month, self.day)  # a leap year, so 02-29 is accepted

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


def _utc(instant: datetime, name: str = "instant") -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


def _span(minutes: float) -> timedelta:
    if minutes < 0:
        raise ValueError(f"a duration cannot be negative, got {minutes} minutes")
    return timedelta(minutes=minutes)


def _minutes(span: timedelta) -> float:
    return span / MINUTE


def merge_pauses(pauses: Iterable[Pause]) -> list[Pause]:
    """Pauses in UTC, sorted, with overlapping or touching ones joined."""
    merged: list[Pause] = []
    for begin, end in sorted((_utc(b, "pause start"), _utc(e, "pause end")) for b, e in pauses):
        if end < begin:
            raise ValueError(f"a pause ends before it starts: {begin.isoformat()}")
        if merged and begin <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((begin, end))
    return merged


class Clock(ABC):
    """The time an SLA target counts: ``add`` finds a due time, ``business_minutes`` measures."""

    name: str

    @abstractmethod
    def is_open(self, instant: datetime) -> bool:
        """Whether the clock runs at ``instant``."""

    @abstractmethod
    def open_windows(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open windows (UTC) that end after ``instant``, in order, the first clipped to it."""

    @abstractmethod
    def _elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Open time in ``[start, end)`` for UTC instants with ``start <= end``."""

    def add(self, start: datetime, minutes: float, paused: Sequence[Pause] = ()) -> datetime:
        """The earliest instant (UTC) at which ``minutes`` have run on this clock since ``start``.

        Open time inside ``paused`` intervals does not count. The due time is the end of the
        last stretch of ``walk``, so an explanation built from the walk cannot disagree.
        """
        last = deque(self.walk(start, minutes, paused), maxlen=1)
        return last[0][1] if last else _utc(start, "start")

    def walk(
        self, start: datetime, minutes: float, paused: Sequence[Pause] = ()
    ) -> Iterator[tuple[datetime, datetime]]:
        """The stretches (UTC) of open, unpaused time that count towards ``minutes``, in order.

        Their lengths add up to ``minutes``; the last one ends at the due time. Nothing is
        yielded for zero minutes (the due time is ``start`` itself).
        """
        cursor = _utc(start, "start")
        remaining = _span(minutes)
        pauses = merge_pauses(paused)  # refuses malformed pauses even for zero minutes
        if remaining == _ZERO:
            return
        index = 0
        for opening, closing in self.open_windows(cursor):
            begin = opening
            while begin < closing:
                while index < len(pauses) and pauses[index][1] <= begin:
                    index += 1
                if index < len(pauses) and pauses[index][0] <= begin:
                    begin = pauses[index][1]
                    continue
                end = min(closing, pauses[index][0]) if index < len(pauses) else closing
                if remaining <= end - begin:
                    yield begin, begin + remaining
                    return
                yield begin, end
                remaining -= end - begin
                begin = end

    def business_minutes(
        self, start: datetime, end: datetime, paused: Sequence[Pause] = ()
    ) -> float:
        """Minutes the clock ran from ``start`` to ``end``, pauses excluded; negative if b < a."""
        a, b = _utc(start, "start"), _utc(end, "end")
        if b < a:
            return -self.business_minutes(end, start, paused)
        elapsed = self._elapsed(a, b)
        for pause_start, pause_end in merge_pauses(paused):
            clipped_start, clipped_end = max(pause_start, a), min(pause_end, b)
            if clipped_start < clipped_end:
                elapsed -= self._elapsed(clipped_start, clipped_end)
        return _minutes(elapsed)


class AroundTheClock(Clock):
    """A clock that never stops, for critical tickets: every minute counts."""

    def __init__(self, name: str = "around_the_clock") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"AroundTheClock({self.name!r})"

    def is_open(self, instant: datetime) -> bool:
        _utc(instant)
        return True

    def open_windows(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        yield _utc(instant), _END_OF_TIME

    def _elapsed(self, start: datetime, end: datetime) -> timedelta:
        return end - start


class BusinessCalendar(Clock):
    """Opening hours on working days in one timezone, closed on public holidays and extra days.

    Holidays come from the ``holidays`` package: the nationwide ones of ``country`` by default,
    plus a state's (``subdivision``, e.g. ``"BY"`` for Bavaria) on request. ``closed_days`` adds
    one-off dates and yearly ``MonthDay`` values such as Christmas Eve. A day's hours are local
    wall-clock times; ``opens`` must be before ``closes`` (no windows across midnight).
    """

    def __init__(
        self,
        name: str = "default",
        *,
        timezone: str = "Europe/Berlin",
        weekdays: Iterable[int] = (0, 1, 2, 3, 4),
        opens: time = time(8, 0),
        closes: time = time(17, 0),
        country: str | None = "DE",
        subdivision: str | None = None,
        closed_days: Iterable[date | MonthDay] = (),
    ) -> None:
        if opens >= closes:
            raise ValueError(f"opens ({opens}) must be before closes ({closes})")
        if opens.tzinfo is not None or closes.tzinfo is not None:
            raise ValueError("opening hours are local wall-clock times without tzinfo")
        self.weekdays = frozenset(weekdays)
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("weekdays must be a non-empty set of 0 (Monday) to 6 (Sunday)")
        if subdivision is not None and country is None:
            raise ValueError("a subdivision needs a country")
        if country is not None:
            try:
                supported = holidays.country_holidays(country).subdivisions
            except NotImplementedError:
                raise ValueError(f"no public holidays known for country {country!r}") from None
            if subdivision is not None and subdivision not in supported:
                raise ValueError(f"{country} has no subdivision {subdivision!r}")
        try:
            self.timezone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {timezone!r}") from None
        self.name = name
        self.opens = opens
        self.closes = closes
        self.country = country
        self.subdivision = subdivision
        days = tuple(closed_days)
        self.closed_dates = frozenset(d for d in days if isinstance(d, date))
        self.closed_every_year = frozenset(d for d in days if isinstance(d, MonthDay))
        self._closed_by_year: dict[int, dict[date, ClosedDay]] = {}
        self._windows: dict[date, tuple[datetime, datetime] | None] = {}

    def __repr__(self) -> str:
        hours = f"{self.opens:%H:%M}-{self.closes:%H:%M}"
        return f"BusinessCalendar({self.name!r}, {self.timezone.key}, {hours})"

    @property
    def day_minutes(self) -> int:
        """Length of a full working day in minutes (e.g. 540 for 08:00-17:00)."""
        span = datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)
        return int(_minutes(span))

    def closed_days_in(self, year: int) -> Mapping[date, ClosedDay]:
        """Holidays and extra closed days of ``year`` (weekends not included), with why."""
        closed = self._closed_by_year.get(year)
        if closed is None:
            days: dict[date, ClosedDay] = {}
            if self.country is not None:
                public = holidays.country_holidays(
                    self.country, subdiv=self.subdivision, years=year, language=HOLIDAY_LANGUAGE
                )
                days.update((day, ClosedDay("holiday", name)) for day, name in public.items())
            for every_year in self.closed_every_year:
                try:
                    day = date(year, every_year.month, every_year.day)
                except ValueError:
                    continue  # 02-29 outside leap years
                days.setdefault(day, ClosedDay("closed_day", str(every_year)))
            for day in self.closed_dates:
                if day.year == year:
                    days.setdefault(day, ClosedDay("closed_day", day.isoformat()))
            closed = self._closed_by_year[year] = days
        return closed

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.closed_days_in(day.year)

    def closed_reason(self, day: date) -> ClosedDay | None:
        """Why the calendar is closed on ``day`` (a holiday before the weekend); None if open."""
        closed = self.closed_days_in(day.year).get(day)
        if closed is not None:
            return closed
        if day.weekday() not in self.weekdays:
            return ClosedDay("weekend", WEEKDAY_NAMES[day.weekday()])
        return None

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and closing of local ``day`` as UTC instants, or None on a closed day."""
        try:
            return self._windows[day]
        except KeyError:
            pass
        window = None
        if self.is_working_day(day):
            window = (
                datetime.combine(day, self.opens, self.timezone).astimezone(UTC),
                datetime.combine(day, self.closes, self.timezone).astimezone(UTC),
            )
        if len(self._windows) > 50_000:  # a long-running process touching centuries of dates
            self._windows.clear()
        self._windows[day] = window
        return window

    def windows_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open windows (UTC) that end after ``instant``, in order, clipped to start at it."""
        instant = _utc(instant)
        day = instant.astimezone(self.timezone).date()
        # A calendar open on no day of a whole year is a data error; stop instead of looping.
        for _ in range(366 * 4):
            window = self.window(day)
            day += _ONE_DAY
            if window is None:
                continue
            opening, closing = window
            if closing > instant:
                yield max(opening, instant), closing
                break
        else:
            raise ValueError(f"calendar {self.name!r} has no open day after {instant.isoformat()}")
        while True:
            window = self.window(day)
            day += _ONE_DAY
            if window is not None:
                yield window

    def is_open(self, instant: datetime) -> bool:
        instant = _utc(instant)
        window = self.window(instant.astimezone(self.timezone).date())
        return window is not None and window[0] <= instant < window[1]

    def next_opening(self, instant: datetime) -> datetime:
        """``instant`` (in UTC) if the calendar is open then, else the next opening."""
        return next(self.windows_from(instant))[0]

    def open_windows(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        return self.windows_from(instant)

    def _elapsed(self, start: datetime, end: datetime) -> timedelta:
        elapsed = _ZERO
        for opening, closing in self.windows_from(start):
            if opening >= end:
                break
            elapsed += min(closing, end) - opening
            if closing >= end:
                break
        return elapsed
