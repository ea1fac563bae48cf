"""``helpdesk routes ...``: check a rules file, explain a decision, preview or apply a change."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO

import click

from helpdesk.commands import runtime_or_exit, settings_or_exit
from helpdesk.yamlsource import SourceError
from tickets.routing.engine import RuleSet
from tickets.routing.facts import Decision, TicketFacts
from tickets.routing.rules import check_rules, load_rules
from vocabulary import CHANNELS, PRIORITIES, SUPPORT_LEVELS, edition_for


def _default_rules_path() -> Path:
    return settings_or_exit().routing_rules_path


def _load_or_exit(path: Path) -> RuleSet:
    try:
        return load_rules(path)
    except SourceError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


@click.group()
def routes() -> None:
    """Routing rules: check, explain, diff."""


@routes.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
def check(file: Path | None) -> None:
    """Check a rules file (default: the configured one); print FILE:LINE:COLUMN: problems."""
    path = file or _default_rules_path()
    problems = check_rules(path)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        sys.exit(1)
    rules = load_rules(path)
    click.echo(
        f"{path}: ok, {len(rules.rules)} rules, {len(rules.queues)} queues, "
        f"{len(rules.catalog.families)} product families, version {rules.version}"
    )


@routes.command()
@click.option("--rules", "rules_file", type=click.Path(path_type=Path), help="Rules file.")
@click.option("--product-family", "-f", help="Produktfamilie, e.g. JTL-Kundenkonto.")
@click.option("--component", "-c", help="Komponente, e.g. 'Fragen zu Firmendaten/Kundenkonto'.")
@click.option("--subject", "-s", default="", help="Betreff.")
@click.option("--department", "-d", help="Abteilung.")
@click.option("--priority", "-p", type=click.Choice(PRIORITIES), default="normal")
@click.option("--channel", type=click.Choice(CHANNELS), default="web", show_default=True)
@click.option("--mailbox", help="Recipient address of an e-mail (with --channel email).")
@click.option("--edition", help="The account's edition, e.g. 'JTL Pro' or pro.")
@click.option(
    "--support-level",
    type=click.Choice(SUPPORT_LEVELS),
    help="The account's support level (default: the edition's).",
)
@click.option("--license-locked", is_flag=True, help="The account has a locked license.")
@click.option(
    "--body-file", type=click.File("r", encoding="utf-8"), help="Ticket text ('-': stdin)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def explain(
    rules_file: Path | None,
    product_family: str | None,
    component: str | None,
    subject: str,
    department: str | None,
    priority: str,
    channel: str,
    mailbox: str | None,
    edition: str | None,
    support_level: str | None,
    license_locked: bool,
    body_file: IO[str] | None,
    as_json: bool,
) -> None:
    """Show where a ticket would go, and why each rule did or did not match."""
    rules = _load_or_exit(rules_file or _default_rules_path())
    if edition is not None:
        known = edition_for(edition)
        if known is None:
            raise click.BadParameter(f"unknown edition {edition!r}", param_hint="--edition")
        edition, support_level = known.name, support_level or known.support_level
    facts = TicketFacts(
        product_family=product_family,
        component=component,
        department=department,
        subject=subject,
        body=body_file.read() if body_file is not None else "",
        channel=channel,
        requested_priority=priority,
        mailbox=mailbox,
        edition=edition,
        support_level=support_level,
        license_locked=license_locked,
    )
    decision = rules.route(facts, explain=True)
    if as_json:
        click.echo(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(_decision_table(rules, decision))


def _decision_table(rules: RuleSet, decision: Decision) -> str:
    queue = rules.queue(decision.queue)
    lines = [
        f"queue              {queue.id} ({queue.name}, team {queue.team})",
        f"priority           {decision.priority} (requested: {decision.requested_priority})",
        f"rule               {decision.rule_id} (line {decision.rule_line})",
        f"tags               {', '.join(decision.tags) or '-'}",
        f"sla policy         {decision.sla_policy or '-'}",
        f"emergency review   {'yes' if decision.emergency_review else 'no'}",
        f"rules version      {decision.rules_version}",
        "",
        f"{'line':>5}  {'rule':<36} {'result':<8} why",
    ]
    for step in decision.trace:
        result = "MATCH" if step.matched else "-"
        lines.append(f"{step.line:>5}  {step.rule_id:<36} {result:<8} {step.reason}")
    return "\n".join(lines)


@routes.command()
@click.argument("old_file", type=click.Path(path_type=Path))
@click.argument("new_file", type=click.Path(path_type=Path))
@click.option(
    "--tickets",
    "which",
    type=click.Choice(["open"]),
    default="open",
    show_default=True,
    help="Which tickets to compare.",
)
@click.option("--apply", "apply_", is_flag=True, help="Move them, with a history entry each.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def diff(old_file: Path, new_file: Path, which: str, apply_: bool, as_json: bool) -> None:
    """Show which open tickets would move under NEW_FILE (dry run unless --apply)."""
    from tickets.routing.reroute import apply_moves, planned_moves

    old, new = _load_or_exit(old_file), _load_or_exit(new_file)
    runtime = runtime_or_exit()
    with runtime.db.session() as session:
        moves = planned_moves(session, old, new)
        applied = apply_moves(session, moves, actor="helpdesk routes diff") if apply_ else []
    if as_json:
        report = {
            "old_version": old.version,
            "new_version": new.version,
            "tickets": which,
            "applied": apply_,
            "moves": [move.to_dict() for move in moves],
            "moved": [move.number for move in applied],
        }
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for move in moves:
        note = "  (moved by hand: left alone)" if move.moved_by_hand else ""
        click.echo(
            f"{move.number}  {move.current_queue} -> {move.new.queue}  "
            f"{move.current_priority} -> {move.new.priority}  "
            f"rule {move.old.rule_id} -> {move.new.rule_id}{note}"
        )
    verb = "moved" if apply_ else "would move"
    movable = len(applied) if apply_ else sum(not move.moved_by_hand for move in moves)
    click.echo(
        f"{which} tickets: {movable} {verb}, {len(moves) - movable} left alone "
        f"(rules {old.version} -> {new.version})"
    )
