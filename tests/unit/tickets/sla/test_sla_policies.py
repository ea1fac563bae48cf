"""Loading and checking SLA policy files: targets, ladders, and problems with line and column."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from helpdesk.config import PROJECT_ROOT
from helpdesk.yamlsource import SourceError
from tickets.sla import (
    AroundTheClock,
    BusinessCalendar,
    Ladder,
    MonthDay,
    UnknownPolicy,
    check_policies,
    load_policies,
)
from vocabulary import PRIORITIES, SUPPORT_LEVELS

BERLIN = ZoneInfo("Europe/Berlin")
BUSINESS = "{clock: business, first_response: 4h, next_response: 1d, resolution: 5d}"
CRITICAL = (
    "{clock: around_the_clock, first_response: 30m, next_response: 1h, resolution: 8h,"
    " escalation: {warn_before: 10m, page_every: 15m}}"
)
OFFICE = """\
  office:
    timezone: Europe/Berlin
    weekdays: [mon, tue, wed, thu, fri]
    opens: "08:00"
    closes: "17:00"
    closed_days: ["12-24", "12-31"]
"""


def policy_text(calendars: str = OFFICE, **entries: str) -> str:
    """A valid policy file; ``Gold_high="{...}"`` replaces one entry, ``""`` leaves it out."""
    lines = ["version: 1", "calendars:", calendars.rstrip("\n"), "policies:"]
    for level in SUPPORT_LEVELS:
        lines.append(f"  {level}:")
        for priority in PRIORITIES:
            default = CRITICAL if priority == "critical" else BUSINESS
            entry = entries.get(f"{level}_{priority}", default)
            if entry:
                lines.append(f"    {priority}: {entry}")
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sla_policies.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def position(text: str, needle: str, after: str = "") -> tuple[int, int]:
    """1-based line and column of ``needle``, searching from the first ``after``."""
    offset = text.index(needle, text.index(after) if after else 0)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def only_problem(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = write(tmp_path, text)
    problems = check_policies(path)
    assert len(problems) == 1, problems
    return path, str(problems[0])


def test_the_shipped_policy_file_is_clean() -> None:
    path = PROJECT_ROOT / "sla_policies.yaml"

    assert check_policies(path) == []
    assert len(load_policies(path)) == len(SUPPORT_LEVELS) * len(PRIORITIES)


def test_every_shipped_critical_policy_runs_around_the_clock_and_pages() -> None:
    policies = load_policies(PROJECT_ROOT / "sla_policies.yaml")

    for level in SUPPORT_LEVELS:
        policy = policies.policy(level, "critical")
        assert policy.around_the_clock
        assert policy.ladder.pages_on_call


def test_shipped_gold_critical_first_response_is_thirty_minutes_around_the_clock() -> None:
    target = load_policies(PROJECT_ROOT / "sla_policies.yaml").target(
        "Gold", "critical", "first_response"
    )

    assert target.minutes == 30
    assert isinstance(target.clock, AroundTheClock)


def test_shipped_community_low_first_response_is_three_business_days() -> None:
    policies = load_policies(PROJECT_ROOT / "sla_policies.yaml")

    due = policies.due("Community", "low", datetime(2026, 12, 23, 11, tzinfo=BERLIN))

    assert policies.target("Community", "low").minutes == 3 * 9 * 60
    assert due == datetime(2026, 12, 30, 11, tzinfo=BERLIN)


def test_a_business_day_in_a_duration_is_one_full_working_day(tmp_path: Path) -> None:
    policies = load_policies(write(tmp_path, policy_text()))

    policy = policies.policy("Silber", "normal")

    assert (policy.first_response, policy.next_response, policy.resolution) == (240, 540, 2700)
    assert isinstance(policy.clock, BusinessCalendar)


def test_the_calendar_is_read_from_the_file(tmp_path: Path) -> None:
    calendar = load_policies(write(tmp_path, policy_text())).calendars["office"]

    assert (calendar.opens, calendar.closes) == (time(8), time(17))
    assert calendar.weekdays == {0, 1, 2, 3, 4}
    assert calendar.closed_every_year == {MonthDay(12, 24), MonthDay(12, 31)}


def test_an_unquoted_closing_time_is_a_time_not_sexagesimal(tmp_path: Path) -> None:
    text = policy_text(OFFICE.replace('closes: "17:00"', "closes: 17:00"))

    calendar = load_policies(write(tmp_path, text)).calendars["office"]

    assert calendar.closes == time(17)


def test_one_off_closed_days_are_dates(tmp_path: Path) -> None:
    text = policy_text(OFFICE.replace('["12-24", "12-31"]', "[2026-06-19]"))

    calendar = load_policies(write(tmp_path, text)).calendars["office"]

    assert calendar.closed_dates == {date(2026, 6, 19)}


def test_the_ladder_comes_from_the_escalation_settings(tmp_path: Path) -> None:
    text = policy_text(
        Gold_high="{clock: business, first_response: 1h, next_response: 2h, resolution: 1d,"
        " escalation: {warn_before: 15m, notify_supervisors: false}}"
    )
    policies = load_policies(write(tmp_path, text))

    assert policies.ladder("Gold", "high") == Ladder(15, notify_supervisors=False, page_every=None)
    assert policies.ladder("Gold", "critical") == Ladder(10, notify_supervisors=True, page_every=15)
    assert policies.ladder("Bronze", "low") == Ladder(
        None, notify_supervisors=True, page_every=None
    )


def test_a_state_calendar_can_be_chosen_for_a_due_time(tmp_path: Path) -> None:
    bavaria = OFFICE.replace("office:", "bavaria:") + "    state: BY\n"
    text = policy_text(OFFICE + bavaria).replace(
        "version: 1", "version: 1\ndefault_calendar: office"
    )
    policies = load_policies(write(tmp_path, text))
    start = datetime(2026, 1, 5, 16, tzinfo=BERLIN)

    nationwide = policies.due("Gold", "normal", start, "first_response")
    bavarian = policies.due("Gold", "normal", start, "first_response", calendar="bavaria")

    assert nationwide == datetime(2026, 1, 6, 11, tzinfo=BERLIN)
    assert bavarian == datetime(2026, 1, 7, 11, tzinfo=BERLIN)


def test_a_critical_due_time_ignores_the_calendar(tmp_path: Path) -> None:
    policies = load_policies(write(tmp_path, policy_text()))
    saturday_night = datetime(2026, 3, 28, 23, 50, tzinfo=BERLIN)

    due = policies.due("Gold", "critical", saturday_night, calendar="office")

    assert due == datetime(2026, 3, 29, 0, 20, tzinfo=BERLIN)


def test_the_due_time_stops_while_waiting_for_the_customer(tmp_path: Path) -> None:
    policies = load_policies(write(tmp_path, policy_text()))
    start = datetime(2026, 1, 12, 9, tzinfo=BERLIN)
    waiting = (datetime(2026, 1, 12, 10, tzinfo=BERLIN), datetime(2026, 1, 13, 10, tzinfo=BERLIN))

    due = policies.due("Gold", "normal", start, "first_response", paused=[waiting])

    assert due == datetime(2026, 1, 13, 13, tzinfo=BERLIN)


def test_merge_keys_share_settings_between_entries(tmp_path: Path) -> None:
    text = policy_text(
        Gold_low="&standard {clock: business, first_response: 2h, next_response: 4h,"
        " resolution: 3d}",
        Gold_normal="{<<: *standard, first_response: 1h}",
    )
    policies = load_policies(write(tmp_path, text))

    assert policies.target("Gold", "low").minutes == 120
    assert policies.target("Gold", "normal").minutes == 60
    assert policies.target("Gold", "normal", "resolution").minutes == 3 * 540


def test_an_unknown_support_level_is_refused(tmp_path: Path) -> None:
    policies = load_policies(write(tmp_path, policy_text()))

    with pytest.raises(UnknownPolicy, match="support level 'Silver'"):
        policies.target("Silver", "low")


def test_an_unknown_target_kind_is_refused(tmp_path: Path) -> None:
    policies = load_policies(write(tmp_path, policy_text()))

    with pytest.raises(UnknownPolicy, match="target 'reply'"):
        policies.target("Gold", "low", "reply")


def test_a_critical_policy_on_business_hours_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(Gold_critical=CRITICAL.replace("around_the_clock", "business"))

    path, problem = only_problem(tmp_path, text)

    line, column = position(text, "business", after="    critical: {clock: business")
    assert problem.startswith(f"{path}:{line}:{column}: Gold/critical: critical tickets")


def test_a_missing_priority_is_reported_at_its_support_level(tmp_path: Path) -> None:
    text = policy_text(Bronze_low="")

    path, problem = only_problem(tmp_path, text)

    line, column = position(text, "Bronze")
    assert problem == f"{path}:{line}:{column}: policies for Bronze: missing key 'low'"


def test_a_missing_support_level_is_a_problem(tmp_path: Path) -> None:
    text = policy_text().replace("  Community:", "  Platin:")

    path = write(tmp_path, text)
    problems = [str(problem) for problem in check_policies(path)]

    missing_at, unknown_at = position(text, "policies:"), position(text, "Platin")
    assert problems == [
        f"{path}:{missing_at[0]}:{missing_at[1]}: policies: missing support level 'Community'",
        f"{path}:{unknown_at[0]}:{unknown_at[1]}: unknown support level 'Platin';"
        " expected one of Community, Bronze, Silber, Gold",
    ]


def test_an_unknown_key_is_reported_at_the_key(tmp_path: Path) -> None:
    text = policy_text(Silber_high=BUSINESS.replace("resolution", "resolve_within: 2d, resolution"))

    path, problem = only_problem(tmp_path, text)

    line, column = position(text, "resolve_within")
    assert problem.startswith(f"{path}:{line}:{column}: Silber/high: unknown key 'resolve_within'")


def test_a_malformed_duration_is_reported_at_the_value(tmp_path: Path) -> None:
    text = policy_text(
        Gold_normal=BUSINESS.replace("first_response: 4h", "first_response: 4 hours")
    )

    path, problem = only_problem(tmp_path, text)

    line, column = position(text, "4 hours")
    assert problem == (
        f"{path}:{line}:{column}: Gold/normal: first_response: '4 hours' is not a duration"
        " such as 45m, 4h, 1h30m or 3d"
    )


def test_a_zero_duration_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(Gold_normal=BUSINESS.replace("first_response: 4h", "first_response: 0"))

    _, problem = only_problem(tmp_path, text)

    assert problem.endswith("Gold/normal: first_response must be longer than zero")


def test_a_warning_later_than_the_shortest_target_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(Gold_low=BUSINESS.replace("}", ", escalation: {warn_before: 4h}}"))

    path, problem = only_problem(tmp_path, text)

    line, column = position(text, "4h}}")
    assert problem.startswith(f"{path}:{line}:{column}: Gold/low: escalation: warn_before")


def test_paging_a_non_critical_ticket_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(Gold_high=BUSINESS.replace("}", ", escalation: {page_every: 15m}}"))

    _, problem = only_problem(tmp_path, text)

    assert problem.endswith("Gold/high: escalation: page_every is for critical tickets only")


def test_a_critical_policy_without_paging_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(Bronze_critical=CRITICAL.replace(", page_every: 15m", ""))

    _, problem = only_problem(tmp_path, text)

    assert "Bronze/critical: escalation: critical tickets page on-call" in problem


def test_a_resolution_shorter_than_a_response_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(Gold_low=BUSINESS.replace("resolution: 5d", "resolution: 2h"))

    _, problem = only_problem(tmp_path, text)

    assert "Gold/low: resolution (120 min) is shorter than a response target" in problem


def test_an_unknown_state_is_reported_at_the_state(tmp_path: Path) -> None:
    text = policy_text(OFFICE + "    state: XY\n")

    path, problem = only_problem(tmp_path, text)

    line, column = position(text, "XY")
    assert problem.startswith(f"{path}:{line}:{column}: calendar 'office': DE has no state 'XY'")


def test_an_unknown_timezone_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(OFFICE.replace("Europe/Berlin", "Europe/Bonn"))

    _, problem = only_problem(tmp_path, text)

    assert problem.endswith("calendar 'office': unknown timezone 'Europe/Bonn'")


def test_a_closing_before_opening_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(OFFICE.replace('closes: "17:00"', 'closes: "07:00"'))

    _, problem = only_problem(tmp_path, text)

    assert problem.endswith("calendar 'office': closes must be later than opens")


def test_a_bad_closed_day_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(OFFICE.replace('"12-31"', '"13-45"'))

    path, problem = only_problem(tmp_path, text)

    line, column = position(text, '"13-45"')
    assert problem.startswith(f"{path}:{line}:{column}: calendar 'office': '13-45' is not a date")


def test_a_policy_naming_an_unknown_calendar_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(Gold_low=BUSINESS.replace("}", ", calendar: bavaria}"))

    _, problem = only_problem(tmp_path, text)

    assert problem.endswith("Gold/low: no calendar named 'bavaria'")


def test_a_duplicate_key_is_a_problem(tmp_path: Path) -> None:
    text = policy_text(
        Gold_low=BUSINESS.replace("resolution: 5d", "resolution: 5d, resolution: 6d")
    )

    path, problem = only_problem(tmp_path, text)

    line, column = position(text, "resolution: 6d")
    assert problem == f"{path}:{line}:{column}: Gold/low: duplicate key 'resolution'"


def test_broken_yaml_is_reported_where_it_breaks(tmp_path: Path) -> None:
    text = policy_text().replace("    low: {clock: business", "    low: {clock: [business", 1)

    path, problem = only_problem(tmp_path, text)

    assert problem.startswith(f"{path}:")
    assert "invalid YAML" in problem
    assert int(problem.split(":")[1]) == position(text, "[business")[0]


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    problems = check_policies(path)

    assert [(p.line, p.column) for p in problems] == [(1, 1)]
    assert "cannot read the file" in problems[0].message


def test_loading_a_broken_file_raises_with_every_problem(tmp_path: Path) -> None:
    text = policy_text(Gold_low="", Gold_high=BUSINESS.replace("4h", "4x"))

    with pytest.raises(SourceError) as raised:
        load_policies(write(tmp_path, text))

    assert len(raised.value.problems) == 2
    assert str(raised.value).count(str(tmp_path)) == 2
