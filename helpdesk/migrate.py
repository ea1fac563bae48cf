"""Alembic, driven from the `helpdesk db` commands with the configured database."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from helpdesk.config import PROJECT_ROOT, Settings
from helpdesk.db import Base

# Every module that defines tables; the migrations must cover all of them.
MODEL_MODULES = (
    "tickets.models",
    "notifications.outbox.models",
    "accounts.models",
    "notifications.mailings.models",
    "tickets.sla.models",
)


def model_metadata() -> MetaData:
    """The metadata of all domain models (imported here so none is forgotten)."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
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
