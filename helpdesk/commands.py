"""What every `helpdesk ...` command shares: settings and runtime, or one line and exit 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from helpdesk.config import ConfigError, Settings, load_settings
from helpdesk.text import MAX_ID, parse_id

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
