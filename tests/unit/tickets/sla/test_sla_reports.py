"""Report periods, CSV cells, chart geometry and the German labels of the SLA pages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tickets.models import Ticket
from tickets.sla.clock import sla_view
from tickets.sla.labels import format_berlin
from tickets.sla.reports import (
    CHART_HEIGHT,
    CHART_WIDTH,
    Period,
    ReportRow,
    iso_week,
    report_csv,
    weekly_bars,
)

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(today=days, weeks=st.integers(min_value=1, max_value=53))
def test_a_period_is_whole_iso_weeks_ending_with_the_current_one(today, weeks):
    period = Period.last_weeks(weeks, today)

    assert period.first.weekday() == 0 and period.last.weekday() == 6
    assert period.first <= today <= period.last
    assert period.weeks()[-1] == iso_week(today)
    assert len(set(period.weeks())) == len(period.weeks()) == weeks


def _row(week: str, tickets: int, breached: int, queue: str = "wawi") -> ReportRow:
    return ReportRow(week, queue, "Gold", tickets, 30.0, 42.25, 1, None, None, breached)


def test_csv_uses_semicolons_decimal_commas_and_quotes_formula_like_cells():
    text = report_csv([_row("2026-W14", 4, 1, queue="=HYPERLINK()")])

    lines = text.lstrip("\ufeff").splitlines()
    assert text.startswith("\ufeff")
    assert lines[1] == "2026-W14;'=HYPERLINK();Gold;4;30,0;42,2;1;;;1;25,0"


@given(
    counts=st.lists(
        st.tuples(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=500)),
        min_size=1,
        max_size=53,
    )
)
def test_chart_bars_stay_inside_the_chart(counts):
    weeks = [f"2026-W{n + 1:02d}" for n in range(len(counts))]
    rows = [
        _row(week, tickets, min(breached, tickets))
        for week, (tickets, breached) in zip(weeks, counts, strict=True)
        if tickets
    ]

    bars, width = weekly_bars(rows, weeks)

    assert [bar.week for bar in bars] == weeks
    assert width > 0
    for bar in bars:
        assert bar.x >= 0 and bar.x + width <= CHART_WIDTH + 1e-9
        assert 0 <= bar.y <= CHART_HEIGHT and bar.y + bar.height == CHART_HEIGHT
        assert 0 <= bar.rate <= 1


def test_berlin_labels_follow_daylight_saving_time():
    assert format_berlin(datetime(2026, 3, 28, 7, 30, tzinfo=UTC)) == "Sa, 28.03. 08:30"
    assert format_berlin(datetime(2026, 3, 30, 6, 30, tzinfo=UTC)) == "Mo, 30.03. 08:30"


def _open_ticket(**values) -> Ticket:
    return Ticket(
        status="open",
        first_response_breached=False,
        next_response_breached=False,
        resolution_breached=False,
        **values,
    )


NOW = datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # Monday 08:00 in Berlin


def test_view_names_the_next_due_time_and_promises_it_to_the_customer():
    ticket = _open_ticket(
        first_response_due_at=NOW + timedelta(minutes=30),
        resolution_due_at=NOW + timedelta(days=2),
    )

    view = sla_view(ticket, NOW)

    assert view.label == "Antwort bis Mo, 30.03. 08:30"
    assert view.promise == "Antwort bis Mo, 30.03. 08:30"
    assert view.remaining == timedelta(minutes=30) and not view.breached


def test_view_shows_an_overdue_target_as_breached():
    ticket = _open_ticket(
        first_responded_at=NOW - timedelta(hours=1),
        resolution_due_at=NOW - timedelta(minutes=1),
    )

    view = sla_view(ticket, NOW)

    assert view.breached and view.kind == "resolution"
    assert view.label == "Lösung überfällig seit Mo, 30.03. 07:59"
    assert view.promise is None
