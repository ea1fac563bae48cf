"""`helpdesk failed`: the failed-work page on the command line."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable

import click

from helpdesk.commands import runtime_or_exit
from helpdesk.runtime import Runtime
from notifications.failed_work import services


def _actor(value: str | None) -> str:
    return value or f"cli:{getpass.getuser()}"


@click.group("failed")
def failed() -> None:
    """Failed and stuck work: RQ jobs, outbox messages, delivery records, quarantined mail."""


@failed.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_items(as_json: bool) -> None:
    """Everything that failed or waits, with its key for retry and discard."""
    for item in services.collect(runtime_or_exit()):
        if as_json:
            click.echo(json.dumps(item.as_dict(), ensure_ascii=False))
            continue
        since = f"{item.since:%Y-%m-%d %H:%M}" if item.since else "-"
        click.echo(f"{item.key}  {item.state}  {since}  {item.subject}")
        if item.reason:
            click.echo(f"    {item.reason}")


def _run(action: Callable[[Runtime, str, str], str], key: str, actor: str | None) -> None:
    try:
        result = action(runtime_or_exit(), key, _actor(actor))
    except services.UnknownItem:
        raise click.ClickException(f"{key}: no such item (any more)") from None
    except services.NotDone as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{key}: {result}")


@failed.command("retry")
@click.argument("key")
@click.option("--as", "actor", help="Who acts (for the audit log); default cli:<login name>.")
def retry(key: str, actor: str | None) -> None:
    """Retry KEY (job:ID, outbox:ID, delivery:ID) or release quarantine:NAME into intake."""
    _run(services.retry, key, actor)


@failed.command("discard")
@click.argument("key")
@click.option("--as", "actor", help="Who acts (for the audit log); default cli:<login name>.")
def discard(key: str, actor: str | None) -> None:
    """Give KEY up for good."""
    _run(services.discard, key, actor)
