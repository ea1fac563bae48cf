"""Read and check ``sla_policies.yaml``: calendars, targets and escalation ladders.

Every problem names its file, line and column; see docs/sla.md for the format.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, time
from os import PathLike
from pathlib import Path

import holidays
from yaml.nodes import Node

from helpdesk.yamlsource import NodeReader, Problem, SourceError, compose, read_source
from tickets.sla.calendar import WEEKDAY_NAMES, AroundTheClock, BusinessCalendar, Clock, MonthDay
from tickets.sla.targets import TARGET_KINDS, Ladder, Policy, SlaPolicies
from vocabulary import PRIORITIES, SUPPORT_LEVELS

FORMAT_VERSION = 1
CLOCKS = ("business", "around_the_clock")

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_MONTH_DAY = re.compile(r"(\d\d)-(\d\d)")


def check_policies(path: str | PathLike[str]) -> list[Problem]:
    """Every problem in the policy file at ``path``, in file order; empty means usable."""
    try:
        load_policies(path)
    except SourceError as error:
        return error.problems
    return []


def load_policies(path: str | PathLike[str]) -> SlaPolicies:
    """The policies in ``path``; raises SourceError listing all problems."""
    return compile_policies(read_source(path), Path(path))


def compile_policies(text: bytes, path: Path) -> SlaPolicies:
    """Check and build the policies from the bytes of the file at ``path``."""
    reader = _PolicyReader(str(path))
    policies = reader.policy_file(compose(text, reader.file))
    if reader.problems or policies is None:
        raise SourceError(reader.sorted_problems())
    return policies


class _PolicyReader(NodeReader):
    """Builds calendars and policies from the composed file, collecting problems on the way."""

    def policy_file(self, root: Node) -> SlaPolicies | None:
        top = self.fields(
            root,
            "the policy file",
            ("version", "calendars", "policies"),
            ("default_calendar",),
        )
        if top is None:
            return None
        if "version" in top:
            version = self.text(top["version"], "version")
            if version is not None and version != str(FORMAT_VERSION):
                self.problem(top["version"], f"version must be {FORMAT_VERSION}, got {version!r}")
        calendars = self.calendars(top["calendars"]) if "calendars" in top else {}
        default = self.default_calendar(top.get("default_calendar"), calendars)
        if "policies" not in top:
            return None
        policies = self.policies(top.key_nodes["policies"], top["policies"], calendars, default)
        if policies is None or self.problems:
            return None
        return SlaPolicies(policies, calendars, self.file)

    def calendars(self, node: Node) -> dict[str, BusinessCalendar]:
        entries = self.mapping(node, "calendars")
        if entries is None:
            return {}
        if not entries:
            self.problem(node, "calendars: define at least one business calendar")
        calendars: dict[str, BusinessCalendar] = {}
        for name, value in entries.items():
            calendar = self.calendar(name, entries.key_nodes[name], value)
            if calendar is not None:
                calendars[name] = calendar
        return calendars

    def calendar(self, name: str, key: Node, node: Node) -> BusinessCalendar | None:
        what = f"calendar {name!r}"
        optional = ("timezone", "weekdays", "opens", "closes", "holidays", "state", "closed_days")
        fields = self.fields(node, what, (), optional, anchor=key)
        if fields is None:
            return None
        problems_before = len(self.problems)
        timezone = (
            self.optional_text(fields.get("timezone"), f"{what}: timezone") or "Europe/Berlin"
        )
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.problem(fields["timezone"], f"{what}: unknown timezone {timezone!r}")
        weekdays = self.weekdays(fields["weekdays"], what) if "weekdays" in fields else range(5)
        opens = self.clock_time(fields.get("opens"), f"{what}: opens", time(8))
        closes = self.clock_time(fields.get("closes"), f"{what}: closes", time(17))
        if opens is not None and closes is not None and opens >= closes:
            self.problem(fields.get("closes", node), f"{what}: closes must be later than opens")
        country = self.holiday_country(fields.get("holidays"), what)
        state = self.optional_text(fields.get("state"), f"{what}: state")
        if state is not None and country is None:
            self.problem(fields["state"], f"{what}: a state needs holidays (a country, e.g. DE)")
        elif state is not None and country is not None:
            states = holidays.list_supported_countries()[country]
            if state not in states:
                self.problem(
                    fields["state"],
                    f"{what}: {country} has no state {state!r}; use {', '.join(states)}",
                )
        closed_days = self.closed_days(fields.get("closed_days"), what)
        if len(self.problems) > problems_before or opens is None or closes is None:
            return None
        return BusinessCalendar(
            name,
            timezone=timezone,
            weekdays=weekdays,
            opens=opens,
            closes=closes,
            country=country,
            subdivision=state,
            closed_days=closed_days,
        )

    def holiday_country(self, node: Node | None, what: str) -> str | None:
        """The country whose public holidays close the calendar; DE unless set (null: none)."""
        if node is None:
            return "DE"
        country = self.optional_text(node, f"{what}: holidays")
        if country is not None and country not in holidays.list_supported_countries():
            self.problem(node, f"{what}: no public holidays known for country {country!r}")
            return None
        return country

    def weekdays(self, node: Node, what: str) -> list[int]:
        days: list[int] = []
        for item in self.sequence(node, f"{what}: weekdays", allow_empty=True):
            day = self.text(item, f"{what}: weekday")
            if day is None:
                continue
            if day.lower() not in WEEKDAY_NAMES:
                self.problem(
                    item, f"{what}: unknown weekday {day!r}; use {', '.join(WEEKDAY_NAMES)}"
                )
                continue
            days.append(WEEKDAY_NAMES.index(day.lower()))
        if not days:
            self.problem(node, f"{what}: weekdays must name at least one day")
        return days

    def clock_time(self, node: Node | None, what: str, default: time) -> time | None:
        if node is None:
            return default
        value = self.text(node, what)
        if value is None:
            return None
        match = _TIME.fullmatch(value)
        if match is None:
            self.problem(node, f"{what}: {value!r} is not a time of day such as 08:00")
            return None
        return time(int(match[1]), int(match[2]))

    def closed_days(self, node: Node | None, what: str) -> list[date | MonthDay]:
        days: list[date | MonthDay] = []
        for item in (
            [] if node is None else self.sequence(node, f"{what}: closed_days", allow_empty=True)
        ):
            value = self.text(item, f"{what}: closed day")
            if value is None:
                continue
            try:
                if _MONTH_DAY.fullmatch(value):
                    days.append(MonthDay(int(value[:2]), int(value[3:])))
                else:
                    days.append(date.fromisoformat(value))
            except ValueError:
                self.problem(
                    item, f"{what}: {value!r} is not a date (2026-06-19) or a yearly day (12-24)"
                )
        return days

    def default_calendar(
        self, node: Node | None, calendars: dict[str, BusinessCalendar]
    ) -> BusinessCalendar | None:
        if node is None:
            return next(iter(calendars.values())) if len(calendars) == 1 else None
        name = self.text(node, "default_calendar")
        if name is not None and name not in calendars:
            self.problem(node, f"default_calendar: no calendar named {name!r}")
            return None
        return calendars.get(name or "")

    def policies(
        self,
        key: Node,
        node: Node,
        calendars: dict[str, BusinessCalendar],
        default: BusinessCalendar | None,
    ) -> dict[tuple[str, str], Policy] | None:
        levels = self.mapping(node, "policies")
        if levels is None:
            return None
        policies: dict[tuple[str, str], Policy] = {}
        for level, value in levels.items():
            level_key = levels.key_nodes[level]
            if level not in SUPPORT_LEVELS:
                expected = ", ".join(SUPPORT_LEVELS)
                self.problem(
                    level_key, f"unknown support level {level!r}; expected one of {expected}"
                )
                continue
            self.level(level, level_key, value, calendars, default, policies)
        for level in SUPPORT_LEVELS:
            if level not in levels:
                self.problem(key, f"policies: missing support level {level!r}")
        return policies

    def level(
        self,
        level: str,
        key: Node,
        node: Node,
        calendars: dict[str, BusinessCalendar],
        default: BusinessCalendar | None,
        policies: dict[tuple[str, str], Policy],
    ) -> None:
        fields = self.fields(node, f"policies for {level}", PRIORITIES, ("calendar",), anchor=key)
        if fields is None:
            return
        level_calendar = default
        if "calendar" in fields:
            level_calendar = self.named_calendar(fields["calendar"], level, calendars)
        for priority in PRIORITIES:
            if priority in fields:
                policy = self.policy(
                    level,
                    priority,
                    fields.key_nodes[priority],
                    fields[priority],
                    calendars,
                    level_calendar,
                )
                if policy is not None:
                    policies[(level, priority)] = policy

    def named_calendar(
        self, node: Node, what: str, calendars: dict[str, BusinessCalendar]
    ) -> BusinessCalendar | None:
        name = self.text(node, f"{what}: calendar")
        if name is not None and name not in calendars:
            self.problem(node, f"{what}: no calendar named {name!r}")
        return calendars.get(name or "")

    def policy(
        self,
        level: str,
        priority: str,
        key: Node,
        node: Node,
        calendars: dict[str, BusinessCalendar],
        level_calendar: BusinessCalendar | None,
    ) -> Policy | None:
        what = f"{level}/{priority}"
        required = ("clock", *TARGET_KINDS)
        fields = self.fields(node, what, required, ("calendar", "escalation"), anchor=key)
        if fields is None or "clock" not in fields:
            return None
        clock_name = self.text(fields["clock"], f"{what}: clock")
        clock: Clock | None = None
        if clock_name == "around_the_clock":
            if "calendar" in fields:
                self.problem(
                    fields["calendar"], f"{what}: an around-the-clock policy uses no calendar"
                )
            clock = AroundTheClock()
        elif clock_name == "business":
            if priority == "critical":
                self.problem(
                    fields["clock"],
                    f"{what}: critical tickets are worked at any hour; use clock: around_the_clock",
                )
            clock = level_calendar
            if "calendar" in fields:
                clock = self.named_calendar(fields["calendar"], what, calendars)
            elif clock is None and calendars:
                self.problem(fields["clock"], f"{what}: name a calendar or set default_calendar")
        elif clock_name is not None:
            self.problem(fields["clock"], f"{what}: clock must be one of {', '.join(CLOCKS)}")
        if clock is None:
            return None
        day = clock.day_minutes if isinstance(clock, BusinessCalendar) else 24 * 60
        targets = {
            kind: self.duration(fields[kind], f"{what}: {kind}", day)
            for kind in TARGET_KINDS
            if kind in fields
        }
        first, following, resolution = (targets.get(kind) for kind in TARGET_KINDS)
        if first is None or following is None or resolution is None:
            return None
        if resolution < max(first, following):
            self.problem(
                fields["resolution"],
                f"{what}: resolution ({resolution} min) is shorter than a response target",
            )
        shortest = min(first, following)
        ladder = self.ladder(fields.get("escalation"), key, what, priority, day, shortest)
        if ladder is None:
            return None
        return Policy(level, priority, clock, first, following, resolution, ladder)

    def ladder(
        self,
        node: Node | None,
        policy_node: Node,
        what: str,
        priority: str,
        day_minutes: int,
        shortest_target: int,
    ) -> Ladder | None:
        if node is None:
            if priority == "critical":
                self.problem(policy_node, f"{what}: critical tickets page on-call; set escalation")
                return None
            return Ladder(warn_before=None, notify_supervisors=True, page_every=None)
        where = f"{what}: escalation"
        optional = ("warn_before", "notify_supervisors", "page_every")
        fields = self.fields(node, where, (), optional)
        if fields is None:
            return None
        problems_before = len(self.problems)
        warn_before = None
        if "warn_before" in fields:
            warn_before = self.duration(fields["warn_before"], f"{where}: warn_before", day_minutes)
            if warn_before is not None and warn_before >= shortest_target:
                self.problem(
                    fields["warn_before"],
                    f"{where}: warn_before ({warn_before} min) must be shorter than the "
                    f"shortest response target ({shortest_target} min)",
                )
        notify: bool | None = True
        if "notify_supervisors" in fields:
            notify = self.boolean(fields["notify_supervisors"], f"{where}: notify_supervisors")
        page_every = None
        if "page_every" in fields:
            if priority != "critical":
                self.problem(
                    fields["page_every"], f"{where}: page_every is for critical tickets only"
                )
            page_every = self.duration(fields["page_every"], f"{where}: page_every", 24 * 60)
        elif priority == "critical":
            self.problem(node, f"{where}: critical tickets page on-call; set page_every (minutes)")
        if len(self.problems) > problems_before or notify is None:
            return None
        return Ladder(warn_before=warn_before, notify_supervisors=notify, page_every=page_every)
