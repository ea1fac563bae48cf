"""`helpdesk sla ...`: check the policy file, compute a due time."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from helpdesk.config import PROJECT_ROOT
from helpdesk.yamlsource import SourceError
from tickets.sla.calendar import BusinessCalendar, Pause
from tickets.sla.policies import check_policies, load_policies
from tickets.sla.targets import TARGET_KINDS, SlaPolicies, UnknownPolicy
from vocabulary import PRIORITIES, SUPPORT_LEVELS

DISPLAY_TIMEZONE = ZoneInfo("Europe/Berlin")

_file_option = click.option(
    "--file",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SLA_POLICIES",
    default=PROJECT_ROOT / "sla_policies.yaml",
    show_default="SLA_POLICIES or sla_policies.yaml",
    help="The policy file.",
)


@click.group()
def sla() -> None:
    """SLA policies and due times."""


@sla.command("check")
@click.argument("policy_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--routing-rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ROUTING_RULES",
    default=PROJECT_ROOT / "routing_rules.yaml",
    show_default="ROUTING_RULES or routing_rules.yaml",
    help="Routing rules whose `sla` overrides must name a policy of this file.",
)
def check(policy_file: Path | None, rules_file: Path) -> None:
    """Check a policy file (default: SLA_POLICIES or sla_policies.yaml); exit 1 on problems.

    Problems are printed as FILE:LINE:COLUMN: message. The routing rules' ``sla`` overrides
    are checked against the policies too (a broken rules file is `helpdesk routes check`'s).
    """
    path = policy_file or _default_policy_file()
    problems = check_policies(path)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        sys.exit(1)
    policies = load_policies(path)
    overrides = _override_problems(rules_file, policies)
    for override in overrides:
        click.echo(f"{rules_file}: {override}")
    if overrides:
        sys.exit(1)
    around = sum(1 for policy in policies if policy.around_the_clock)
    click.echo(
        f"{path}: ok, {len(policies)} policies ({len(SUPPORT_LEVELS)} support levels x "
        f"{len(PRIORITIES)} priorities, {around} around the clock), "
        f"{len(policies.calendars)} calendars ({', '.join(policies.calendars)})"
    )


def _override_problems(rules_file: Path, policies: SlaPolicies) -> list[str]:
    from tickets.routing import load_rules
    from tickets.sla.clock import unknown_overrides

    try:
        rules = load_rules(rules_file)
    except SourceError:
        return []  # reported by `helpdesk routes check`, with line and column
    return unknown_overrides(rules, policies)


@sla.command("due")
@click.option(
    "--support-level", required=True, type=click.Choice(SUPPORT_LEVELS, case_sensitive=False)
)
@click.option("--priority", required=True, type=click.Choice(PRIORITIES, case_sensitive=False))
@click.option("--at", "start", required=True, help="When the clock starts, ISO-8601 with offset.")
@click.option("--target", default="first_response", type=click.Choice(TARGET_KINDS))
@click.option("--calendar", help="Use this calendar instead of the policy's (business hours only).")
@click.option(
    "--paused",
    multiple=True,
    metavar="START/END",
    help="An interval waiting for the customer (ISO-8601/ISO-8601); repeatable.",
)
@_file_option
def due(
    support_level: str,
    priority: str,
    start: str,
    target: str,
    calendar: str | None,
    paused: tuple[str, ...],
    policy_file: Path,
) -> None:
    """Print the due time of a target as JSON: due (Europe/Berlin), due_utc, business_minutes."""
    at = _instant(start, "--at")
    pauses = [_pause(text) for text in paused]
    policies = _load_or_exit(policy_file)
    try:
        chosen = policies.target(support_level, priority, target, calendar)
    except UnknownPolicy as error:
        raise click.BadParameter(str(error), param_hint="--calendar") from None
    due_at = chosen.due(at, pauses)
    clock = chosen.clock
    result = {
        "support_level": support_level,
        "priority": priority,
        "target": target,
        "start": at.astimezone(DISPLAY_TIMEZONE).isoformat(),
        "due": due_at.astimezone(DISPLAY_TIMEZONE).isoformat(),
        "due_utc": due_at.isoformat(),
        "business_minutes": _number(clock.business_minutes(at, due_at, pauses)),
        "wall_minutes": _number((due_at - at).total_seconds() / 60),
        "target_minutes": chosen.minutes,
        "clock": clock.name if isinstance(clock, BusinessCalendar) else "around_the_clock",
    }
    click.echo(json.dumps(result, indent=2))


def _default_policy_file() -> Path:
    """The file the service loads: SLA_POLICIES, else sla_policies.yaml in the project."""
    return Path(os.environ.get("SLA_POLICIES") or PROJECT_ROOT / "sla_policies.yaml")


def _load_or_exit(path: Path) -> SlaPolicies:
    try:
        return load_policies(path)
    except SourceError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


def _instant(text: str, option: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        message = f"{text!r} is not an ISO-8601 date and time"
        raise click.BadParameter(message, param_hint=option) from None
    if instant.tzinfo is None:
        raise click.BadParameter(
            f"{text!r} has no UTC offset; add one, e.g. +01:00 or Z", param_hint=option
        )
    return instant


def _pause(text: str) -> Pause:
    begin, slash, end = text.partition("/")
    if not slash:
        raise click.BadParameter(f"{text!r} is not START/END", param_hint="--paused")
    pause = _instant(begin, "--paused"), _instant(end, "--paused")
    if pause[1] < pause[0]:
        raise click.BadParameter(f"{text!r} ends before it starts", param_hint="--paused")
    return pause


def _number(minutes: float) -> int | float:
    return int(minutes) if minutes == int(minutes) else round(minutes, 3)
