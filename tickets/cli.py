"""`helpdesk keys ...`: the master keys that wrap the data keys of sensitive ticket data."""

from __future__ import annotations

import base64
import os

import click

from helpdesk.commands import runtime_or_exit
from tickets import sensitive


@click.group()
def keys() -> None:
    """Master keys for sensitive data (SENSITIVE_MASTER_KEY, SENSITIVE_RETIRED_KEYS)."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new random master key (urlsafe base64) for SENSITIVE_MASTER_KEY."""
    click.echo(base64.urlsafe_b64encode(os.urandom(32)).decode("ascii"))


@keys.command("status")
def keys_status() -> None:
    """Show the active key's id and how many data keys each master key wraps."""
    runtime = runtime_or_exit()
    keyring = sensitive.Keyring.from_settings(runtime.settings)
    click.echo(f"active master key: {keyring.active.id}")
    for key_id, count in sorted(sensitive.key_usage(runtime).items()):
        state = "active" if key_id == keyring.active.id else "needs rotation"
        click.echo(f"{key_id}: {count} data keys ({state})")


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every data key with the active master key (old keys in SENSITIVE_RETIRED_KEYS)."""
    runtime = runtime_or_exit()
    try:
        count = sensitive.rotate(runtime)
    except sensitive.MissingMasterKey as error:
        raise click.ClickException(
            f"{error}: add the old key to SENSITIVE_RETIRED_KEYS and run again"
        ) from None
    finally:
        runtime.db.dispose()
    keyring = sensitive.Keyring.from_settings(runtime.settings)
    click.echo(f"re-wrapped {count} data keys with master key {keyring.active.id}")
