"""`helpdesk mailings ...`: compose, approve, send and watch mandatory mailings."""

from __future__ import annotations

import getpass
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from helpdesk.commands import ID, runtime_or_exit
from helpdesk.runtime import Runtime
from notifications.mailings import proof, repair, services
from notifications.mailings.composing import DraftError, MailingDraft
from notifications.mailings.models import PURPOSES
from vocabulary import EDITIONS

POLL_SECONDS = 0.5
T = TypeVar("T")


def _actor(value: str | None) -> str:
    return value or f"cli:{getpass.getuser()}"


actor_option = click.option(
    "--as", "actor", help="Who acts (for the four-eyes rule); default cli:<login name>."
)


@click.group()
def mailings() -> None:
    """Mandatory mailings (Pflichtmailings)."""


@mailings.command("create")
@click.option("--family", required=True, help="Product family (banner colour).")
@click.option(
    "--purpose",
    required=True,
    type=click.Choice(PURPOSES),
)
@click.option("--subject", required=True, help="The matter in one short sentence.")
@click.option("--body-file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format", "body_format", type=click.Choice(["markdown", "text"]), default="markdown"
)
@click.option("--audience", type=click.Choice(["all"]), default=None, help="Every active account.")
@click.option(
    "--accounts-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Customer numbers, one a line.",
)
@click.option("--editions", help=f"Comma-separated editions ({', '.join(EDITIONS)}).")
@click.option(
    "--products",
    help="Comma-separated products, as the product families in routing_rules.yaml (JTL-Wawi).",
)
@click.option("--follows", type=ID, help="Id of the mailing this one follows up.")
@actor_option
def create(
    family: str,
    purpose: str,
    subject: str,
    body_file: str,
    body_format: str,
    audience: str | None,
    accounts_file: str | None,
    editions: str | None,
    products: str | None,
    follows: int | None,
    actor: str | None,
) -> None:
    """Compose a mailing; prints its id."""
    chosen = [
        name
        for name, value in (
            ("audience", audience),
            ("accounts-file", accounts_file),
            ("editions", editions),
            ("products", products),
        )
        if value
    ]
    if len(chosen) > 1:
        raise click.UsageError(
            "choose one of --audience all, --accounts-file, --editions, --products"
        )
    kind, values = "all", tuple[str, ...]()
    if accounts_file:
        lines = Path(accounts_file).read_text(encoding="utf-8").splitlines()
        kind, values = "accounts", tuple(line.strip() for line in lines if line.strip())
    elif editions:
        kind, values = "editions", tuple(e.strip() for e in editions.split(",") if e.strip())
    elif products:
        kind, values = "products", tuple(p.strip() for p in products.split(",") if p.strip())
    draft = MailingDraft(
        product_family=family,
        purpose=purpose,
        subject=subject,
        body=Path(body_file).read_text(encoding="utf-8"),
        body_format=body_format,
        audience_kind=kind,
        audience_values=values,
        follows_id=follows,
    )
    try:
        mailing = services.create_mailing(runtime_or_exit(), draft, _actor(actor))
    except DraftError as error:
        problems = "; ".join(f"{k}: {v}" for k, v in error.errors.items())
        raise click.ClickException(problems) from None
    click.echo(mailing.id)


def _guarded(action: Callable[..., T], *args: Any) -> T:
    try:
        return action(*args)
    except services.MailingNotFound:
        raise click.ClickException(f"no mailing {args[1]}") from None
    except services.MailingRefused as error:
        raise click.ClickException(str(error)) from None
    except DraftError as error:
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in error.errors.items())
        ) from None


@mailings.command("approve")
@click.argument("mailing_id", type=ID)
@actor_option
def approve(mailing_id: int, actor: str | None) -> None:
    """Approve a mailing (a different person than its author)."""
    mailing = _guarded(services.approve, runtime_or_exit(), mailing_id, _actor(actor))
    click.echo(f"mailing {mailing.id} approved by {mailing.approved_by}")


@mailings.command("send")
@click.argument("mailing_id", type=ID)
@click.option("--wait", is_flag=True, help="Show progress until every record is finished.")
@actor_option
def send(mailing_id: int, wait: bool, actor: str | None) -> None:
    """Resolve the audience and start sending."""
    runtime = runtime_or_exit()
    mailing = _guarded(services.start_sending, runtime, mailing_id, _actor(actor))
    click.echo(f"mailing {mailing.id}: {mailing.recipients} recipients queued")
    if wait:
        sys.exit(_wait(runtime, mailing_id))


def _wait(runtime: Runtime, mailing_id: int) -> int:
    status = services.progress(runtime, mailing_id, domains=0)
    with click.progressbar(length=max(status.total, 1), label="sending") as bar:
        shown = 0
        while True:
            status = services.progress(runtime, mailing_id, domains=0)
            done = status.total - status.open
            bar.update(done - shown)
            shown = done
            if status.finished:
                break
            time.sleep(POLL_SECONDS)
    click.echo(json.dumps(status.counts))
    return 1 if status.mailing["state"] == "cancelled" else 0


@mailings.command("status")
@click.argument("mailing_id", type=ID)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable counts per state.")
def status(mailing_id: int, as_json: bool) -> None:
    """Counts per delivery state."""
    progress = _guarded(services.progress, runtime_or_exit(), mailing_id)
    if as_json:
        click.echo(json.dumps(progress.as_dict()))
        return
    click.echo(f"mailing {mailing_id} ({progress.mailing['state']}): {progress.total} recipients")
    for state, count in progress.counts.items():
        click.echo(f"  {state:10} {count}")


# Commands that only move a mailing to another state: (service, help, what the line says).
STATE_CHANGES: dict[str, tuple[Callable[[Runtime, int], object], str, str]] = {
    "pause": (
        services.pause,
        "Pause a running mailing (running batches stop within a second).",
        "paused",
    ),
    "resume": (services.resume, "Resume a paused mailing.", "resumed"),
    "cancel": (services.cancel, "Cancel a mailing; nothing more is sent.", "cancelled"),
}


def _state_change(action: Callable[[Runtime, int], object], done: str) -> Callable[[int], None]:
    def change(mailing_id: int) -> None:
        _guarded(action, runtime_or_exit(), mailing_id)
        click.echo(f"mailing {mailing_id} {done}")

    return change


for _name, (_action, _help, _done) in STATE_CHANGES.items():
    mailings.command(_name, help=_help)(
        click.argument("mailing_id", type=ID)(_state_change(_action, _done))
    )


@mailings.command("preview")
@click.argument("mailing_id", type=ID)
@click.option("--account", "customer_number", help="Customer number to personalise for.")
@click.option("--html", is_flag=True, help="Print the HTML part instead of the text part.")
def preview(mailing_id: int, customer_number: str | None, html: bool) -> None:
    """Print the mail as an account would receive it."""
    shown = _guarded(services.preview, runtime_or_exit(), mailing_id, customer_number)
    click.echo(f"Subject: {shown.subject}\n")
    click.echo(shown.html if html else shown.text)


@mailings.command("test-send")
@click.argument("mailing_id", type=ID)
@click.option("--to", "to", required=True, help="Any address to send the test to.")
@click.option("--account", "customer_number", help="Customer number to personalise for.")
def test_send(mailing_id: int, to: str, customer_number: str | None) -> None:
    """Send the mail, marked [TEST], to an address of your choice."""
    result = _guarded(services.test_send, runtime_or_exit(), mailing_id, to, customer_number)
    click.echo(result.reply)
    if not result.sent:
        sys.exit(1)


@mailings.command("proof")
@click.argument("mailing_id", type=ID)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--format", "kind", type=click.Choice(proof.FORMATS), default=None)
def proof_export(mailing_id: int, out: str, kind: str | None) -> None:
    """Write the signed proof of delivery (CSV, or JSON for a .json file)."""
    runtime = runtime_or_exit()
    mailing = _guarded(services.get_mailing, runtime, mailing_id)
    kind = kind or ("json" if out.endswith(".json") else "csv")
    with open(out, "wb") as handle:
        for chunk in proof.export(runtime, mailing, kind):
            handle.write(chunk)
    click.echo(f"proof of mailing {mailing_id} written to {out}")


@mailings.command("verify-proof")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", help="Base64 public key to check against (default: ours).")
def verify_proof(file: str, public_key: str | None) -> None:
    """Check a proof of delivery; exit 1 with one line when it was changed or is not ours."""
    try:
        verified = proof.verify(runtime_or_exit().settings, Path(file).read_bytes(), public_key)
    except proof.ProofInvalid as error:
        click.echo(f"{file}: NOT valid: {error}", err=True)
        sys.exit(1)
    click.echo(
        f"{file}: valid proof of mailing {verified.mailing_id} ({verified.subject!r}), "
        f"{verified.recipients} recipients, exported {verified.exported_at}"
    )


@mailings.command("proof-key")
def proof_key() -> None:
    """Print the public key that proofs of delivery are signed with (Ed25519, base64)."""
    click.echo(proof.public_key_text(runtime_or_exit().settings))


@mailings.command("schedule")
@click.argument("mailing_id", type=ID)
@click.option("--at", "at", required=True, help="German wall-clock time, e.g. 2026-12-01T08:00.")
@actor_option
def schedule(mailing_id: int, at: str, actor: str | None) -> None:
    """Start the mailing at a time (Europe/Berlin); `cancel` withdraws it until then."""
    when = _guarded(services.german_time, at)
    mailing = _guarded(services.schedule, runtime_or_exit(), mailing_id, when, _actor(actor))
    local = when.astimezone(services.GERMANY)
    click.echo(f"mailing {mailing.id} scheduled for {local:%Y-%m-%d %H:%M} German time")


@mailings.command("resend")
@click.argument("mailing_id", type=ID)
def resend(mailing_id: int) -> None:
    """Nachsenden: send the mailing to the corrected addresses of accounts with a hard bounce."""
    added = _guarded(repair.resend, runtime_or_exit(), mailing_id)
    click.echo(f"mailing {mailing_id}: re-sent to {added} repaired addresses")
