"""Alembic environment: the metadata of every domain's models."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from helpdesk.db import make_engine
from helpdesk.migrate import model_metadata
from tickets.search import include_object

# helpdesk.migrate.model_metadata names every module that defines tables, in one place.
target_metadata = model_metadata()


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is None:
        url = context.config.get_main_option("sqlalchemy.url")
        engine = make_engine(url)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,  # full-text objects are hand-written, not modelled
    )
    if connection.dialect.name != "sqlite":
        with context.begin_transaction():
            context.run_migrations()
        return
    # Batch migrations on SQLite copy a table and drop the original; with foreign keys on, that
    # drop would cascade-delete every row referring to it (a ticket's history, messages, ...).
    # The pragma only takes effect outside a transaction, so it is set on the raw connection
    # before the migration's transaction begins, and the keys are checked before it commits.
    sqlite = connection.connection.driver_connection
    sqlite.execute("PRAGMA foreign_keys=OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")
    finally:
        sqlite.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
