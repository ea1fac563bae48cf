"""The SLA report for supervisors: response and resolution times and breach rates per week.

Tickets are grouped by queue, support level and ISO week of the filing day in Berlin. On
PostgreSQL one statement does the grouping, medians and counts, so a month of a busy desk
(over ten thousand tickets) costs milliseconds, not a row per ticket in Python. On SQLite
(the embedded default, small desks) the narrow SLA columns are read and grouped here, because
ISO weeks and medians are spelled differently there; both give the same rows.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, or_, select
from sqlalchemy.orm import Session

from tickets.models import Ticket
from tickets.sla.labels import BERLIN

RUNNING_STATUSES = ("new", "open")


@dataclass(frozen=True)
class Period:
    """Whole ISO weeks from ``first`` (a Monday) to ``last`` (a Sunday), Berlin dates."""

    first: date
    last: date

    @classmethod
    def last_weeks(cls, weeks: int, today: date) -> Period:
        monday = today - timedelta(days=today.weekday())
        return cls(monday - timedelta(weeks=weeks - 1), monday + timedelta(days=6))

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.first, time(0), BERLIN)

    @property
    def ends(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), BERLIN)

    def weeks(self) -> list[str]:
        return [iso_week(self.first + timedelta(weeks=n)) for n in range(self._week_count())]

    def _week_count(self) -> int:
        return (self.last - self.first).days // 7 + 1


@dataclass(frozen=True)
class ReportRow:
    """One queue, support level and week; times in minutes on the policy's clock."""

    week: str  # ISO week, e.g. 2026-W14
    queue: str
    support_level: str
    tickets: int
    first_response_median: float | None
    first_response_mean: float | None
    resolved: int
    resolution_median: float | None
    resolution_mean: float | None
    breached: int

    @property
    def breach_rate(self) -> float:
        return self.breached / self.tickets if self.tickets else 0.0


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def sla_report(
    session: Session, period: Period, now: datetime, queue: str | None = None
) -> list[ReportRow]:
    """Rows sorted by week, queue and level; a ticket counts in the week it was filed."""
    if session.get_bind().dialect.name == "postgresql":
        return _aggregated(session, period, now, queue)
    statement = select(
        Ticket.queue,
        Ticket.support_level,
        Ticket.created_at,
        Ticket.status,
        Ticket.first_response_minutes,
        Ticket.resolution_minutes,
        Ticket.first_responded_at,
        Ticket.first_response_due_at,
        Ticket.next_response_due_at,
        Ticket.resolution_due_at,
        Ticket.first_response_breached,
        Ticket.next_response_breached,
        Ticket.resolution_breached,
    ).where(
        Ticket.sla_key.is_not(None),
        Ticket.created_at >= period.starts,
        Ticket.created_at < period.ends,
    )
    if queue:
        statement = statement.where(Ticket.queue == queue)
    groups: dict[tuple[str, str, str], list[Row[*tuple[Any, ...]]]] = defaultdict(list)
    for row in session.execute(statement):
        week = iso_week(row.created_at.astimezone(BERLIN).date())
        groups[(week, row.queue, row.support_level or "")].append(row)
    return [
        _summarise(week, queue_id, level, rows, now)
        for (week, queue_id, level), rows in sorted(groups.items())
    ]


def _aggregated(
    session: Session, period: Period, now: datetime, queue: str | None
) -> list[ReportRow]:
    berlin = func.timezone(BERLIN.key, Ticket.created_at)
    week = func.to_char(berlin, 'IYYY-"W"IW')
    level = func.coalesce(Ticket.support_level, "")
    overdue = or_(
        and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due_at < now),
        Ticket.next_response_due_at < now,
        Ticket.resolution_due_at < now,
    )
    breached = or_(
        Ticket.first_response_breached,
        Ticket.next_response_breached,
        Ticket.resolution_breached,
        and_(Ticket.status.in_(RUNNING_STATUSES), overdue),
    )
    statement = (
        select(
            week.label("week"),
            Ticket.queue,
            level.label("level"),
            func.count().label("tickets"),
            func.percentile_cont(0.5).within_group(Ticket.first_response_minutes),
            func.avg(Ticket.first_response_minutes),
            func.count(Ticket.resolution_minutes),
            func.percentile_cont(0.5).within_group(Ticket.resolution_minutes),
            func.avg(Ticket.resolution_minutes),
            func.count().filter(breached),
        )
        .where(
            Ticket.sla_key.is_not(None),
            Ticket.created_at >= period.starts,
            Ticket.created_at < period.ends,
        )
        .group_by(week, Ticket.queue, level)
        .order_by(week, Ticket.queue, level)
    )
    if queue:
        statement = statement.where(Ticket.queue == queue)
    return [
        ReportRow(
            week=row[0],
            queue=row[1],
            support_level=row[2],
            tickets=row[3],
            first_response_median=_number(row[4]),
            first_response_mean=_number(row[5]),
            resolved=row[6],
            resolution_median=_number(row[7]),
            resolution_mean=_number(row[8]),
            breached=row[9],
        )
        for row in session.execute(statement)
    ]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _summarise(
    week: str, queue: str, level: str, rows: Sequence[Row[Any]], now: datetime
) -> ReportRow:
    first = [row.first_response_minutes for row in rows if row.first_response_minutes is not None]
    resolution = [row.resolution_minutes for row in rows if row.resolution_minutes is not None]
    return ReportRow(
        week=week,
        queue=queue,
        support_level=level,
        tickets=len(rows),
        first_response_median=_median(first),
        first_response_mean=_mean(first),
        resolved=len(resolution),
        resolution_median=_median(resolution),
        resolution_mean=_mean(resolution),
        breached=sum(_breached(row, now) for row in rows),
    )


def _breached(r: Row[Any], now: datetime) -> bool:
    """Recorded breaches, and targets running past their due time that no job has seen yet."""
    if r.first_response_breached or r.next_response_breached or r.resolution_breached:
        return True
    if r.status not in RUNNING_STATUSES:
        return False
    overdue = [
        r.first_responded_at is None and r.first_response_due_at,
        r.next_response_due_at,
        r.resolution_due_at,
    ]
    return any(due and due < now for due in overdue)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


CSV_HEADER = (
    "Woche",
    "Queue",
    "Support-Level",
    "Tickets",
    "Erste Antwort Median (Min.)",
    "Erste Antwort Mittel (Min.)",
    "Gelöst",
    "Lösung Median (Min.)",
    "Lösung Mittel (Min.)",
    "Verletzt",
    "Verletzungsquote (%)",
)


def report_csv(rows: Iterable[ReportRow]) -> str:
    """Semicolon-separated with decimal commas and a BOM, as German spreadsheets expect."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            [
                row.week,
                _cell(row.queue),
                _cell(row.support_level),
                row.tickets,
                decimal_comma(row.first_response_median),
                decimal_comma(row.first_response_mean),
                row.resolved,
                decimal_comma(row.resolution_median),
                decimal_comma(row.resolution_mean),
                row.breached,
                decimal_comma(row.breach_rate * 100),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    # A cell starting like a formula is opened as one by spreadsheets: quote it as text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def decimal_comma(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".replace(".", ",")


@dataclass(frozen=True)
class Bar:
    """One week of the chart: breach rate as a bar, geometry in SVG user units."""

    week: str
    x: float
    y: float
    height: float
    rate: float
    tickets: int


CHART_WIDTH = 640
CHART_HEIGHT = 200
BAR_GAP = 8


def weekly_bars(rows: Iterable[ReportRow], weeks: Sequence[str]) -> tuple[list[Bar], float]:
    """Breach rate of all queues per week, scaled to the chart; returns bars and bar width."""
    tickets: dict[str, int] = defaultdict(int)
    breached: dict[str, int] = defaultdict(int)
    for row in rows:
        tickets[row.week] += row.tickets
        breached[row.week] += row.breached
    width = (CHART_WIDTH - BAR_GAP * (len(weeks) + 1)) / max(len(weeks), 1)
    bars = []
    for index, week in enumerate(weeks):
        rate = breached[week] / tickets[week] if tickets[week] else 0.0
        height = rate * CHART_HEIGHT
        x = BAR_GAP + index * (width + BAR_GAP)
        bars.append(Bar(week, x, CHART_HEIGHT - height, height, rate, tickets[week]))
    return bars, width
