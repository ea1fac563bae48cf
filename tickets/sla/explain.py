"""Why is it due then? A ticket's due times taken apart: the policy, the calendar, the start,
each pause, each closed day skipped, each DST change, and the business minutes left.

The explanation walks the stretches of ``Clock.walk``, the same walk ``Clock.add`` takes to
compute a due time, with the pauses ``apply_sla`` uses; so it cannot tell another story than
the due times stored on the ticket (unless the policy file changed since, which it says).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import Ticket
from tickets.sla.calendar import BusinessCalendar, ClosedDay, Pause, merge_pauses
from tickets.sla.clock import DONE_STATUSES, PAUSED_STATUSES, policy_for
from tickets.sla.labels import BERLIN
from tickets.sla.live import current_policies
from tickets.sla.models import SlaPause
from tickets.sla.targets import Policy, SlaPolicies
from vocabulary import support_level_for_edition

_ONE_DAY = timedelta(days=1)


class Skipped(NamedTuple):
    """A local day inside the walk on which the calendar is closed."""

    day: date
    reason: ClosedDay


@dataclass(frozen=True)
class OffsetChange:
    """The calendar's local time changes its UTC offset on ``day`` (DST begins or ends)."""

    day: date
    before: timedelta
    after: timedelta

    @property
    def summer_time_begins(self) -> bool:
        return self.after > self.before


@dataclass(frozen=True)
class TargetExplanation:
    """How one target's due time follows from its start and the clock."""

    kind: str  # first_response, next_response, resolution
    start: datetime
    started_by: str  # filed (the ticket's filing time) or customer_reply
    minutes: int
    due: datetime
    stored_due: datetime | None
    stretches: list[Pause]  # open, unpaused time counted, in order; lengths add up to minutes
    pauses: list[Pause]  # waiting for the customer (or resolved) inside the walk
    skipped: list[Skipped]
    offset_changes: list[OffsetChange]
    met_at: datetime | None  # answered or resolved
    minutes_left: float | None  # business minutes from now to the due time; negative: overdue

    @property
    def agrees(self) -> bool:
        """Whether the ticket's stored due time is the one this walk reaches."""
        return self.stored_due is None or self.stored_due == self.due


@dataclass(frozen=True)
class DueExplanation:
    """A ticket's policy, its clock and every target still meaningful."""

    policy: Policy
    chosen_by_routing: bool  # a routing rule named the policy (``sla`` override)
    calendar: BusinessCalendar | None  # None: around the clock
    paused_since: datetime | None  # the clock stands still now (waiting, resolved)
    targets: list[TargetExplanation]

    def as_json(self) -> dict[str, Any]:
        calendar = self.calendar
        return {
            "policy": self.policy.name,
            "support_level": self.policy.support_level,
            "priority": self.policy.priority,
            "chosen_by_routing": self.chosen_by_routing,
            "clock": "business" if calendar is not None else "around_the_clock",
            "calendar": None
            if calendar is None
            else {
                "name": calendar.name,
                "timezone": calendar.timezone.key,
                "opens": f"{calendar.opens:%H:%M}",
                "closes": f"{calendar.closes:%H:%M}",
            },
            "paused_since": _iso(self.paused_since),
            "targets": [_target_json(target) for target in self.targets],
        }


def explain_ticket(
    session: Session, ticket: Ticket, now: datetime, policies: SlaPolicies | None = None
) -> DueExplanation:
    """The explanation of ``ticket``'s due times as of ``now``, reading its pauses."""
    rows = session.execute(
        select(SlaPause.started_at, SlaPause.ended_at)
        .where(SlaPause.ticket_id == ticket.id)
        .order_by(SlaPause.started_at, SlaPause.id)
    )
    return explain(ticket, [(begin, end or now) for begin, end in rows], now, policies)


def explain(
    ticket: Ticket,
    pauses: list[Pause],
    now: datetime,
    policies: SlaPolicies | None = None,
) -> DueExplanation:
    """The explanation for ``ticket`` with its pauses (a running one ending ``now``)."""
    policies = policies or current_policies()
    policy = policy_for(policies, ticket.support_level or support_level_for_edition(None), ticket)
    start = ticket.created_at
    paused_since = None
    if ticket.status in PAUSED_STATUSES:
        paused_since = max((begin for begin, end in pauses if end >= now), default=None)
    targets = [
        _explain_target(
            policy,
            "first_response",
            start,
            "filed",
            pauses,
            now,
            ticket.first_response_due_at,
            ticket.first_responded_at,
        )
    ]
    if ticket.awaiting_reply_since is not None:
        targets.append(
            _explain_target(
                policy,
                "next_response",
                ticket.awaiting_reply_since,
                "customer_reply",
                pauses,
                now,
                ticket.next_response_due_at,
                None,
            )
        )
    resolved_at = ticket.resolved_at if ticket.status in DONE_STATUSES else None
    targets.append(
        _explain_target(
            policy, "resolution", start, "filed", pauses, now, ticket.resolution_due_at, resolved_at
        )
    )
    calendar = policy.clock if isinstance(policy.clock, BusinessCalendar) else None
    chosen = bool(ticket.sla_policy) and ticket.sla_policy == policy.name
    return DueExplanation(policy, chosen, calendar, paused_since, targets)


def _explain_target(
    policy: Policy,
    kind: str,
    start: datetime,
    started_by: str,
    pauses: list[Pause],
    now: datetime,
    stored_due: datetime | None,
    met_at: datetime | None,
) -> TargetExplanation:
    target = policy.target(kind)
    clock = target.clock
    stretches = list(clock.walk(start, target.minutes, pauses))
    due = stretches[-1][1] if stretches else start
    inside = [
        (max(begin, start), min(end, due))
        for begin, end in merge_pauses(pauses)
        if begin < due and end > start
    ]
    minutes_left = None
    if met_at is None:
        minutes_left = clock.business_minutes(now, due, pauses)
    timezone = clock.timezone if isinstance(clock, BusinessCalendar) else BERLIN
    skipped = []
    if isinstance(clock, BusinessCalendar):
        skipped = [
            Skipped(day, reason)
            for day in _days(start, due, timezone)
            if (reason := clock.closed_reason(day)) is not None
        ]
    return TargetExplanation(
        kind=kind,
        start=start,
        started_by=started_by,
        minutes=target.minutes,
        due=due,
        stored_due=stored_due,
        stretches=stretches,
        pauses=inside,
        skipped=skipped,
        offset_changes=_offset_changes(start, due, timezone),
        met_at=met_at,
        minutes_left=minutes_left,
    )


def _days(start: datetime, end: datetime, timezone: ZoneInfo) -> list[date]:
    """Local days from the one of ``start`` to the one of ``end``, both included."""
    day, last = start.astimezone(timezone).date(), end.astimezone(timezone).date()
    days = []
    while day <= last:
        days.append(day)
        day += _ONE_DAY
    return days


def _offset_changes(start: datetime, end: datetime, timezone: ZoneInfo) -> list[OffsetChange]:
    """Days between ``start`` and ``end`` on which local time changes its UTC offset."""
    changes = []
    before = start.astimezone(timezone).utcoffset()
    for day in _days(start, end, timezone):
        # At the day's end (at most ``end``), so a change in the small hours is seen.
        probe = min(datetime.combine(day + _ONE_DAY, datetime.min.time(), timezone), end)
        after = probe.astimezone(timezone).utcoffset()
        if before is not None and after is not None and after != before:
            changes.append(OffsetChange(day, before, after))
        before = after
    return changes


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


def _target_json(target: TargetExplanation) -> dict[str, Any]:
    return {
        "target": target.kind,
        "start": target.start.isoformat(),
        "started_by": target.started_by,
        "target_minutes": target.minutes,
        "due_utc": target.due.isoformat(),
        "due": target.due.astimezone(BERLIN).isoformat(),
        "stored_due_utc": _iso(target.stored_due),
        "agrees_with_stored": target.agrees,
        "counted": [
            {
                "from": begin.isoformat(),
                "to": end.isoformat(),
                "minutes": _number((end - begin) / timedelta(minutes=1)),
            }
            for begin, end in target.stretches
        ],
        "pauses": [
            {"from": begin.isoformat(), "to": end.isoformat()} for begin, end in target.pauses
        ],
        "closed_days": [
            {"date": skip.day.isoformat(), "kind": skip.reason.kind, "name": skip.reason.name}
            for skip in target.skipped
        ],
        "dst_changes": [
            {
                "date": change.day.isoformat(),
                "utc_offset_before": _offset(change.before),
                "utc_offset_after": _offset(change.after),
            }
            for change in target.offset_changes
        ],
        "met_at": _iso(target.met_at),
        "business_minutes_left": None
        if target.minutes_left is None
        else _number(target.minutes_left),
    }


def _offset(offset: timedelta) -> str:
    minutes = int(offset / timedelta(minutes=1))
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _number(minutes: float) -> int | float:
    return int(minutes) if minutes == int(minutes) else round(minutes, 3)
