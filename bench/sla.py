"""Due-time computations per second: whole open intervals vs a naive minute-by-minute walk.

Random start instants over 2026 (seeded), business-hours targets of the shipped policies, the
office calendar (Mon-Fri 08:00-17:00 Europe/Berlin, holidays, 24/31 Dec). Both methods run in
this process on the same instants, and their answers are compared; a mismatch exits 1. Beside
each rate, the CPU milliseconds per computation (this process's CPU time).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _cpu import CpuMeter, ms_per

from tickets.sla import BusinessCalendar, load_policies

POLICY_FILE = Path(__file__).resolve().parent.parent / "sla_policies.yaml"
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def random_instants(rng: random.Random, count: int) -> list[datetime]:
    """Minute-aligned instants spread over the year, so the minute walk can be exact."""
    minutes_in_year = 365 * 24 * 60
    return [YEAR_START + rng.randrange(minutes_in_year) * MINUTE for _ in range(count)]


def minute_walk(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """The naive way: one step per minute, asking the local wall clock whether it is open."""
    instant, remaining = start, minutes
    while remaining:
        local = instant.astimezone(calendar.timezone)
        if (
            local.weekday() in calendar.weekdays
            and local.date() not in calendar.closed_days_in(local.year)
            and calendar.opens <= local.time() < calendar.closes
        ):
            remaining -= 1
        instant += MINUTE
    return instant


def rate(work: Callable[[], object], count: int) -> tuple[float, object, str]:
    """(computations per second, what ``work`` returned, CPU milliseconds per computation)."""
    meter = CpuMeter.this_process().start()
    began = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - began
    meter.stop()
    return count / elapsed, result, ms_per(meter.total, count)


def row(label: str, figure: str, cpu: str = "", note: str = "") -> None:
    print(f"  {label:<38} {figure:>14} {cpu:>13}  {note}".rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", type=int, default=50_000, help="computations, interval walk")
    parser.add_argument("--naive", type=int, default=400, help="computations, minute walk")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    policies = load_policies(POLICY_FILE)
    calendar = policies.calendars["office"]
    business = [p for p in policies if not p.around_the_clock]
    rng = random.Random(args.seed)
    cases = [
        (start, rng.choice([p.first_response, p.next_response, p.resolution]))
        for start, p in zip(
            random_instants(rng, args.fast),
            (rng.choice(business) for _ in range(args.fast)),
            strict=True,
        )
    ]
    naive_cases = cases[: args.naive]
    mean_target = sum(minutes for _, minutes in cases) / len(cases)

    fast_rate, fast_due, fast_cpu = rate(lambda: [calendar.add(s, m) for s, m in cases], len(cases))
    naive_rate, naive_due, naive_cpu = rate(
        lambda: [minute_walk(calendar, s, m) for s, m in naive_cases], len(naive_cases)
    )
    measure_rate, _, measure_cpu = rate(
        lambda: [
            calendar.business_minutes(s, d) for (s, _), d in zip(cases, fast_due, strict=True)
        ],
        len(cases),
    )
    every_policy = [(p, kind) for p in policies for kind in ("first_response", "resolution")]
    mixed = [(start, rng.choice(every_policy)) for start, _ in cases]
    mixed_rate, _, mixed_cpu = rate(
        lambda: [
            policies.due(p.support_level, p.priority, start, kind) for start, (p, kind) in mixed
        ],
        len(mixed),
    )

    agree = sum(a == b for a, b in zip(fast_due, naive_due, strict=False))
    print(f"SLA due times: random instants over 2026, calendar {calendar.name!r},")
    print(f"business targets of the shipped policies (mean {mean_target:,.0f} business minutes)")
    row("", "rate", "CPU each")
    row(
        "interval walk, BusinessCalendar.add", f"{fast_rate:,.0f} /s", fast_cpu, f"n={len(cases):,}"
    )
    row(
        "naive minute-by-minute walk", f"{naive_rate:,.0f} /s", naive_cpu, f"n={len(naive_cases):,}"
    )
    row("ratio", f"{fast_rate / naive_rate:,.0f} x")
    row("business_minutes(start, due)", f"{measure_rate:,.0f} /s", measure_cpu)
    row("SlaPolicies.due, all 16 policies", f"{mixed_rate:,.0f} /s", mixed_cpu)
    print(f"  answers agree on {agree}/{len(naive_cases)} shared instants")
    return 0 if agree == len(naive_cases) else 1


if __name__ == "__main__":
    sys.exit(main())
