"""`helpdesk accounts ...`: the contract system's import and creating staff users."""

from __future__ import annotations

from pathlib import Path

import click

from accounts import importing, users
from accounts.models import STAFF_ROLES
from helpdesk.commands import runtime_or_exit
from helpdesk.errors import ValidationError


@click.group()
def accounts() -> None:
    """Customer accounts."""


@accounts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--skip-invalid", is_flag=True, help="Import the good accounts even if some lines are bad."
)
def import_accounts(file: Path, skip_invalid: bool) -> None:
    """Upsert editions, products and licence locks from FILE (CSV or JSONL); docs/accounts.md."""

    runtime = runtime_or_exit()
    records, problems = importing.read_file(file, importing.catalog_products(runtime))
    for problem in problems:
        click.echo(f"{file}:{problem.line}: {problem.message}", err=True)
    if problems and not skip_invalid:
        raise click.ClickException(
            f"{len(problems)} bad line(s); nothing imported (use --skip-invalid to import the rest)"
        )
    result = importing.apply(runtime, records)
    click.echo(
        f"accounts: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {len(problems)} bad line(s) skipped"
    )


@accounts.command("create-staff")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(STAFF_ROLES))
@click.option("--queue", "queues", multiple=True, help="A queue the agent works (repeatable).")
@click.option("--name", default="", help="Display name.")
@click.option(
    "--require-totp/--no-require-totp",
    default=True,
    show_default=True,
    help="Two-factor sign-in is set up at the first sign-in.",
)
@click.password_option(help="Asked for when not given (also read from standard input).")
def create_staff(
    email: str,
    roles: tuple[str, ...],
    queues: tuple[str, ...],
    name: str,
    require_totp: bool,
    password: str,
) -> None:
    """Create a staff user (agent, supervisor, ops, admin): the door to the first admin."""
    from tickets.routing import routing_rules

    runtime = runtime_or_exit()
    unknown = sorted(set(queues) - set(routing_rules(runtime).queue_ids()))
    if unknown:
        raise click.ClickException(f"unknown queue(s): {', '.join(unknown)}")
    try:
        user = users.create_staff_user(
            runtime,
            email=email,
            password=password,
            roles=roles,
            queues=queues,
            require_totp=require_totp,
            name=name,
        )
    except ValidationError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"staff user {user.email} created: {', '.join(roles)}")
