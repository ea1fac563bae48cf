"""What every `helpdesk ...` command shares: settings and runtime, or one line and exit 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from helpdesk.config import ConfigError, Settings, load_settings
from helpdesk.text import MAX_ID, parse_id

if TYPE_CHECKING:
    from helpdesk.runtime import Runtime


# The long-running commands name their process in log lines; everything else is "cli".
PROCESS_NAMES = {"worker": "worker", "mail-in": "mail-in", "stack": "stack"}


def settings_or_exit() -> Settings:
    """The settings from the environment, with logging and metrics set up for this process.

    A malformed setting ends the command with one line. Commands that need no settings (the
    pipe door's thin client) never pay for importing the log and metrics machinery.
    """
    try:
        settings = load_settings()
    except ConfigError as error:
        raise click.ClickException(f"configuration: {error}") from None
    from helpdesk import logs, metrics

    context = click.get_current_context(silent=True)
    command = context.find_root().invoked_subcommand if context is not None else None
    logs.setup(settings, PROCESS_NAMES.get(command or "", "cli"))
    metrics.configure(settings.metrics_dir)
    return settings


def runtime_or_exit() -> Runtime:
    """A runtime for this command from the environment, made the process's (jobs use it too)."""
    # Imported here: commands that need no database (the pipe door's thin client) start
    # without SQLAlchemy and the models.
    from helpdesk.runtime import Runtime, install

    return install(Runtime(settings_or_exit()))


class IdType(click.ParamType):
    """An id argument: ASCII digits within the database's range (``click.INT`` would take ``٣``
    as 3 and pass 2^64 on to the database)."""

    name = "id"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        number = value if isinstance(value, int) else parse_id(str(value))
        if number is None or number < 1:
            self.fail(f"{value!r} is not an id (ASCII digits, 1 to {MAX_ID})", param, ctx)
        return number


ID = IdType()
