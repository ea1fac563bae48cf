"""SLA targets: business calendars, policies per support level and priority, due times."""

from tickets.sla.calendar import AroundTheClock, BusinessCalendar, Clock, MonthDay, Pause
from tickets.sla.levels import (
    EDITION_SUPPORT_LEVELS,
    PRIORITIES,
    SUPPORT_LEVELS,
    TARGET_KINDS,
    UnknownEdition,
    support_level_for_edition,
)
from tickets.sla.policies import check_policies, load_policies
from tickets.sla.targets import Ladder, Policy, SlaPolicies, Target, UnknownPolicy

__all__ = [
    "EDITION_SUPPORT_LEVELS",
    "PRIORITIES",
    "SUPPORT_LEVELS",
    "TARGET_KINDS",
    "AroundTheClock",
    "BusinessCalendar",
    "Clock",
    "Ladder",
    "MonthDay",
    "Pause",
    "Policy",
    "SlaPolicies",
    "Target",
    "UnknownEdition",
    "UnknownPolicy",
    "check_policies",
    "load_policies",
    "support_level_for_edition",
]
