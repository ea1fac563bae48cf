"""SLA policies as loaded: targets and escalation ladder per support level and priority."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tickets.sla.calendar import BusinessCalendar, Clock, Pause
from vocabulary import PRIORITIES, SUPPORT_LEVELS

TARGET_KINDS = ("first_response", "next_response", "resolution")


class UnknownPolicy(ValueError):
    """A support level, priority, target kind or calendar the policies do not define."""


@dataclass(frozen=True)
class Target:
    """How long a ticket may take for one step, counted on ``clock``."""

    minutes: int
    clock: Clock

    def due(self, start: datetime, paused: Sequence[Pause] = ()) -> datetime:
        return self.clock.add(start, self.minutes, paused)


@dataclass(frozen=True)
class Ladder:
    """Who hears about a ticket as its due time nears and passes.

    ``warn_before``: minutes on the policy's clock before the due time at which the assignee is
    warned (None: no warning). ``notify_supervisors``: the queue's supervisors get a notice at
    breach. ``page_every``: critical tickets page the on-call distribution at once and again
    every so many wall-clock minutes until someone acknowledges (None: no paging).
    """

    warn_before: int | None
    notify_supervisors: bool
    page_every: int | None

    @property
    def pages_on_call(self) -> bool:
        return self.page_every is not None


@dataclass(frozen=True)
class Policy:
    """The targets for one support level and priority; ``name`` is what a ticket records."""

    support_level: str
    priority: str
    clock: Clock
    first_response: int
    next_response: int
    resolution: int
    ladder: Ladder

    @property
    def name(self) -> str:
        return f"{self.support_level}/{self.priority}"

    @property
    def around_the_clock(self) -> bool:
        return not isinstance(self.clock, BusinessCalendar)

    def target(self, kind: str = "first_response", clock: Clock | None = None) -> Target:
        if kind not in TARGET_KINDS:
            raise UnknownPolicy(
                f"unknown target {kind!r}; expected one of {', '.join(TARGET_KINDS)}"
            )
        return Target(getattr(self, kind), clock or self.clock)


class SlaPolicies:
    """All policies of one file, one per support level and priority, and its calendars."""

    def __init__(
        self,
        policies: Mapping[tuple[str, str], Policy],
        calendars: Mapping[str, BusinessCalendar],
        source: str = "",
    ) -> None:
        self._policies = dict(policies)
        self.calendars = dict(calendars)
        self.source = source

    def __len__(self) -> int:
        return len(self._policies)

    def __iter__(self) -> Iterator[Policy]:
        return iter(self._policies.values())

    def policy(self, support_level: str, priority: str) -> Policy:
        try:
            return self._policies[(support_level, priority)]
        except KeyError:
            if support_level not in SUPPORT_LEVELS:
                expected = ", ".join(SUPPORT_LEVELS)
                message = f"unknown support level {support_level!r}; expected one of {expected}"
            else:
                expected = ", ".join(PRIORITIES)
                message = f"unknown priority {priority!r}; expected one of {expected}"
            raise UnknownPolicy(message) from None

    def target(
        self,
        support_level: str,
        priority: str,
        kind: str = "first_response",
        calendar: str | None = None,
    ) -> Target:
        """The target minutes and clock; ``calendar`` replaces a business-hours policy's calendar.

        Around-the-clock policies (critical) ignore ``calendar``: they never wait for opening.
        """
        policy = self.policy(support_level, priority)
        clock = None
        if calendar is not None and not policy.around_the_clock:
            try:
                clock = self.calendars[calendar]
            except KeyError:
                known = ", ".join(self.calendars)
                raise UnknownPolicy(
                    f"unknown calendar {calendar!r}; expected one of {known}"
                ) from None
        return policy.target(kind, clock)

    def due(
        self,
        support_level: str,
        priority: str,
        start: datetime,
        target: str = "first_response",
        paused: Sequence[Pause] = (),
        calendar: str | None = None,
    ) -> datetime:
        """When ``target`` falls due (UTC) for a ticket whose clock started at ``start``.

        ``paused`` lists intervals in which the ticket waited for the customer; the clock stops
        during them. A pause still running has no end yet: pass ``now`` as its end to get the
        earliest possible due time.
        """
        return self.target(support_level, priority, target, calendar).due(start, paused)

    def ladder(self, support_level: str, priority: str) -> Ladder:
        return self.policy(support_level, priority).ladder
