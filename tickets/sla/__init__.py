"""SLA targets: business calendars, policies per support level and priority, due times."""

from tickets.sla.calendar import AroundTheClock, BusinessCalendar, Clock, MonthDay, Pause
from tickets.sla.policies import check_policies, load_policies
from tickets.sla.targets import TARGET_KINDS, Ladder, Policy, SlaPolicies, Target, UnknownPolicy

__all__ = [
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
    "UnknownPolicy",
    "check_policies",
    "load_policies",
]
