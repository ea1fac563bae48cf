"""`helpdesk mail-in`: the LMTP server, and the pipe command for MTAs and tests."""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading

import click

from helpdesk.commands import runtime_or_exit, settings_or_exit
from tickets.inbound.handoff import EX_TEMPFAIL


@click.group("mail-in")
def mail_in() -> None:
    """Incoming e-mail: support mail becomes tickets and replies, bounces delivery records."""


@mail_in.command("serve")
@click.option("--host", default=None, help="Default: MAIL_IN_HOST.")
@click.option("--port", type=int, default=None, help="Default: MAIL_IN_PORT.")
@click.option(
    "--fd",
    "listener_fd",
    type=int,
    default=None,
    help="Serve this listening socket, bound and handed over by the parent (make run).",
)
def serve(host: str | None, port: int | None, listener_fd: int | None) -> None:
    """Run the LMTP server in the foreground until SIGINT or SIGTERM."""
    from helpdesk.listeners import PortTaken
    from helpdesk.runtime import Runtime, install
    from tickets.inbound.lmtp import start_server

    settings = settings_or_exit()
    host = host or settings.mail_in_host
    port = settings.mail_in_port if port is None else port
    listener = None if listener_fd is None else socket.socket(fileno=listener_fd)
    runtime = install(Runtime(settings))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        controller = start_server(runtime, host, port, listener)
    except PortTaken as error:
        runtime.db.dispose()
        click.echo(f"mail-in: {error}", err=True)
        sys.exit(1)
    host, port = controller.hostname, controller.port
    click.echo(
        f"mail-in: LMTP on {host}:{port} for {', '.join(settings.support_mailboxes)}", err=True
    )
    try:
        stop.wait()
    finally:
        controller.stop()
        runtime.db.dispose()
        click.echo("mail-in: stopped", err=True)


@mail_in.command("deliver")
@click.option("--to", "mailbox", default=None, help="Envelope recipient (default: from headers).")
@click.option("--from", "sender", default=None, help="Envelope sender; empty for a bounce (<>).")
@click.option(
    "--via-lmtp",
    is_flag=True,
    help="Hand the message to the running LMTP server (MAIL_IN_HOST:MAIL_IN_PORT) instead of "
    "taking it in this process: starts in milliseconds. Needs --to and --from.",
)
def deliver(mailbox: str | None, sender: str | None, via_lmtp: bool) -> None:
    """Take one message from standard input and print its outcome as one JSON line.

    Exit 0 when the message was taken (created, appended, ignored, bounce), 1 when it cannot
    be taken (malformed: kept in quarantine; too big; not our mailbox), 75 to try again later.
    """
    if via_lmtp:
        _hand_over(mailbox, sender)
        return
    from tickets.inbound.parsing import envelope_address
    from tickets.inbound.services import MailDeferred, MailRefused, take_message

    runtime = runtime_or_exit()
    raw = sys.stdin.buffer.read()
    try:
        outcome = take_message(
            runtime, raw, mailbox=mailbox, envelope_sender=envelope_address(sender)
        )
    except MailRefused as error:
        click.echo(f"mail-in: refused ({error.smtp}): {error}", err=True)
        sys.exit(1)
    except MailDeferred as error:
        click.echo(f"mail-in: try again later ({error.smtp}): {error}", err=True)
        sys.exit(EX_TEMPFAIL)
    finally:
        runtime.db.dispose()
    click.echo(json.dumps(outcome.as_dict(), ensure_ascii=False))


def _hand_over(mailbox: str | None, sender: str | None) -> None:
    from helpdesk.config import ConfigError, mail_in_address
    from tickets.inbound.handoff import answer, hand_over

    if mailbox is None or sender is None:
        raise click.UsageError("--via-lmtp needs --to and --from (the MTA knows both)")
    try:
        host, port = mail_in_address()
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None
    sys.exit(answer(hand_over(sys.stdin.buffer.read(), host, port, mailbox, sender)))


@mail_in.command("quarantine")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def quarantine_list(as_json: bool) -> None:
    """List the mail kept in quarantine, newest first, with why it was not taken.

    Once the cause is fixed, `helpdesk failed retry quarantine:NAME` takes a message again.
    """
    from tickets.inbound import quarantine

    settings = settings_or_exit()
    for name, record in quarantine.entries(settings):
        path = settings.quarantine_dir / f"{name}.eml"
        if as_json:
            click.echo(json.dumps({"name": name, "file": str(path), **record}, ensure_ascii=False))
        else:
            click.echo(f"{record['received_at']}  {record.get('mailbox') or '-'}  {path}")
            click.echo(f"    {record['reason']}")


@mail_in.command("bounces")
@click.option("--unmatched", is_flag=True, help="Only bounces that matched no delivery record.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def bounces_list(unmatched: bool, limit: int, as_json: bool) -> None:
    """List the bounces and delivery reports that arrived, newest first.

    An unmatched bounce keeps its bytes; `--unmatched --json` names each with its id.
    """
    from tickets.inbound.reports import recent_bounces

    runtime = runtime_or_exit()
    try:
        with runtime.db.session() as session:
            rows = recent_bounces(session, unmatched=unmatched, limit=limit)
    finally:
        runtime.db.dispose()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            target = row["delivery"] or row["ticket_mail"] or "unmatched"
            click.echo(
                f"{row['received_at']}  {row['kind']:7} {row['status']:8} "
                f"{row['severity'] or '-':4}  {row['recipient'] or '-'}  -> {target}"
            )
            click.echo(f"    {row['from']}: {row['subject']}")
