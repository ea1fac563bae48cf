"""What every `helpdesk ...` command shares: settings and runtime, or one line and exit 1."""

from __future__ import annotations

import click

from helpdesk.config import ConfigError, Settings, load_settings
from helpdesk.runtime import Runtime, install


def settings_or_exit() -> Settings:
    """The settings from the environment; a malformed one ends the command with one line."""
    try:
        return load_settings()
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None


def runtime_or_exit() -> Runtime:
    """A runtime for this command from the environment, made the process's (jobs use it too)."""
    return install(Runtime(settings_or_exit()))
