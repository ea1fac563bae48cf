"""`helpdesk accounts ...`: the contract system's import."""

from __future__ import annotations

from pathlib import Path

import click

from accounts import importing
from helpdesk.runtime import Runtime


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
    from helpdesk.cli import settings_or_exit

    runtime = Runtime(settings_or_exit())
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
