"""Alembic, driven from the `helpdesk db` commands with the configured database."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from helpdesk.config import PROJECT_ROOT, Settings
from helpdesk.db import Base


def model_metadata() -> MetaData:
    """The metadata of every domain's tables; the migrations must cover all of them.

    Part of the composition root: the core names the domain model modules here, and only here,
    when a process first needs the schema.
    """
    import accounts.models  # noqa: F401  (imported for its tables)
    import notifications.mailings.models
    import notifications.outbox.models  # noqa: F401
    import tickets.inbound.models
    import tickets.models
    import tickets.sla.models  # noqa: F401

    return Base.metadata


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "heads") -> None:
    if settings.database_url.startswith("sqlite:///"):
        (settings.var_dir).mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.database_url), revision)


def revision(settings: Settings, message: str, autogenerate: bool) -> None:
    config = alembic_config(settings.database_url)
    ruff = Path(sys.executable).parent / "ruff"
    if ruff.exists():  # new migrations come out formatted like the rest of the code
        hooks = {"lint": "check --fix --quiet", "format": "format --quiet"}
        config.set_section_option("post_write_hooks", "hooks", ", ".join(hooks))
        for name, arguments in hooks.items():
            config.set_section_option("post_write_hooks", f"{name}.type", "exec")
            config.set_section_option("post_write_hooks", f"{name}.executable", str(ruff))
            config.set_section_option(
                "post_write_hooks", f"{name}.options", f"{arguments} REVISION_SCRIPT_FILENAME"
            )
    command.revision(config, message=message, autogenerate=autogenerate)
