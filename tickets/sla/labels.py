"""German words and local times for SLA pages and mails."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk.labels import labels
from tickets.sla.calendar import ClosedDay

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_DE = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")


def format_berlin(instant: datetime) -> str:
    """``Mo, 30.03. 08:30`` in German local time."""
    local = instant.astimezone(BERLIN)
    return f"{WEEKDAYS_DE[local.weekday()]}, {local:%d.%m. %H:%M}"


WEEKEND_DAYS = frozenset((5, 6))


def format_day(day: date) -> str:
    """``Sa, 28.03.``"""
    return f"{WEEKDAYS_DE[day.weekday()]}, {day:%d.%m.}"


def format_minutes(minutes: float) -> str:
    """``2 Std. 30 Min.``, ``45 Min.``, ``0 Min.``; a negative duration reads as its amount."""
    whole = round(abs(minutes))
    hours, rest = divmod(whole, 60)
    parts = [f"{hours} Std."] if hours else []
    if rest or not hours:
        parts.append(f"{rest} Min.")
    return " ".join(parts)


def weekdays_label(weekdays: frozenset[int]) -> str:
    """``Mo–Fr`` for a run of days, else ``Mo, Mi, Fr``."""
    days = sorted(weekdays)
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{WEEKDAYS_DE[days[0]]}–{WEEKDAYS_DE[days[-1]]}"
    return ", ".join(WEEKDAYS_DE[day] for day in days)


def closed_day_label(day: date, closed: ClosedDay) -> str:
    """Why a day does not count, in German: the holiday's name, ``Wochenende``, ``Silvester``."""
    if closed.kind == "holiday":
        return closed.name
    if closed.kind == "closed_day":
        return labels("closed_day").get(f"{day:%m-%d}", "Betriebsruhe")
    return "Wochenende" if day.weekday() in WEEKEND_DAYS else "kein Arbeitstag"


def skipped_phrases(skipped: Sequence[tuple[date, ClosedDay]]) -> list[str]:
    """Closed days in runs of one reason: ``Sa, 28.03. und So, 29.03. (Wochenende)``."""
    runs: list[tuple[list[date], str]] = []
    for day, closed in skipped:
        label = closed_day_label(day, closed)
        if runs and runs[-1][1] == label and (day - runs[-1][0][-1]).days == 1:
            runs[-1][0].append(day)
        else:
            runs.append(([day], label))
    phrases = []
    for days, label in runs:
        names = [format_day(day) for day in days]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " und " + names[-1]
        phrases.append(f"{listed} ({label})")
    return phrases


def offset_change_label(day: date, before: timedelta, after: timedelta) -> str:
    """``Umstellung auf Sommerzeit am So, 29.03.``"""
    season = "Sommerzeit" if after > before else "Winterzeit"
    return f"Umstellung auf {season} am {format_day(day)}"
