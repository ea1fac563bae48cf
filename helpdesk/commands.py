"""What every `helpdesk ...` command shares: settings and runtime, or one line and exit 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from helpdesk.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from helpdesk.runtime import Runtime


def settings_or_exit() -> Settings:
    """The settings from the environment; a malformed one ends the command with one line."""
    try:
        return load_settings()
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None


def runtime_or_exit() -> Runtime:
    """A runtime for this command from the environment, made the process's (jobs use it too)."""
    # Imported here: commands that need no database (the pipe door's thin client) start
    # without SQLAlchemy and the models.
    from helpdesk.runtime import Runtime, install

    return install(Runtime(settings_or_exit()))
