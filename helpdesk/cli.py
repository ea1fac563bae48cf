"""The one command-line door, `helpdesk ...`: the core's commands and every domain's group."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from helpdesk.commands import runtime_or_exit, settings_or_exit

# The domain packages' command groups, imported only when named: `helpdesk mail-in deliver`
# runs once per message and must not pay for importing every other command (and its
# dependencies) first.
DOMAIN_COMMANDS = {
    "accounts": "accounts.cli:accounts",
    "failed": "notifications.failed_work.cli:failed",
    "keys": "tickets.cli:keys",
    "mail-in": "tickets.inbound.cli:mail_in",
    "mailings": "notifications.mailings.cli:mailings",
    "routes": "tickets.routing.cli:routes",
    "sla": "tickets.sla.cli:sla",
}


class CommandLine(click.Group):
    """The `helpdesk` group: its own commands plus the domain groups, loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *DOMAIN_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in DOMAIN_COMMANDS:
            module, _, name = DOMAIN_COMMANDS[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=CommandLine)
def main() -> None:
    """Support tickets and mandatory mailings."""
    # Alembic announces each plugin it loads at INFO; those lines are noise on `db upgrade`.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Apply migrations (default: all)."""
    settings = settings_or_exit()
    from helpdesk.migrate import upgrade

    upgrade(settings, revision)


@db.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration, by default compared against the models."""
    settings = settings_or_exit()
    from helpdesk.migrate import revision

    revision(settings, message, autogenerate)


@main.command()
@click.option("--burst", is_flag=True, help="Drain the queues and exit.")
@click.option("--queue", "queues", multiple=True, default=("mail", "default"), show_default=True)
def worker(burst: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker (with its scheduler) on the given queues."""
    from helpdesk.worker import run_worker
    from workers.schedule import PERIODIC

    sys.exit(0 if run_worker(runtime_or_exit(), queues, PERIODIC, burst=burst) else 1)


@main.group()
def dkim() -> None:
    """DKIM keys."""


@dkim.command("dns-record")
def dkim_dns_record() -> None:
    """Print the DNS TXT records for both selectors (keys are generated on first use)."""
    from helpdesk.dkimkeys import dns_records

    for name, value in dns_records(settings_or_exit()):
        click.echo(f'{name}. IN TXT "{value}"')


@main.command()
@click.option("--port", type=int, envvar="PORT", default=8000, show_default=True)
def stack(port: int) -> None:
    """Start web app, worker and local SMTP server in the foreground (what `make run` runs)."""
    from accounts.demo import announcement
    from helpdesk.stack import run_stack

    settings = settings_or_exit()
    notes = announcement() if settings.development else []
    sys.exit(run_stack(settings, port, notes))


@main.group()
def seed() -> None:
    """Demo data."""


@seed.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no data yet.")
@click.option("--json", "as_json", is_flag=True, help="Print logins and fresh API tokens as JSON.")
def seed_demo(if_empty: bool, as_json: bool) -> None:
    """Create demo accounts, users and tickets and print how to sign in."""
    import json

    from accounts.demo import seed_accounts
    from tickets.demo import seed_demo as seed_tickets
    from tickets.routing import routing_rules

    runtime = runtime_or_exit()
    queue_ids = [queue.id for queue in routing_rules(runtime).queues]
    people = seed_accounts(runtime, queue_ids, if_empty=if_empty, issue_tokens=as_json)
    created = seed_tickets(runtime, if_empty=if_empty)
    if as_json:
        click.echo(json.dumps(people.as_json() | {"tickets_created": created}, indent=2))
        return
    click.echo(f"demo data: accounts {'created' if people.created else 'kept'}, {created} tickets")
    for login in people.logins:
        click.echo(f"  {login.email:<45} {login.password}  {login.what}")
