"""German words and local times for SLA pages and mails."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_DE = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")


def format_berlin(instant: datetime) -> str:
    """``Mo, 30.03. 08:30`` in German local time."""
    local = instant.astimezone(BERLIN)
    return f"{WEEKDAYS_DE[local.weekday()]}, {local:%d.%m. %H:%M}"
