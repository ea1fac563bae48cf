"""tickets full-text search: FTS5 on SQLite, a German tsvector GIN index on PostgreSQL

Revision ID: 5e2f8a7c1d90
Revises: 5eca6e231ad0, c4e1d2a9b7f3
Create Date: 2026-11-23 12:20:00.000000

Hand-written: Alembic does not know FTS5 tables or expression indexes. On SQLite the triggers
keep the external-content table in step with ``tickets``; a later migration that makes batch
mode recreate ``tickets`` drops them and must create them again (see docs/tickets.md).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5e2f8a7c1d90"
# Also a merge: after every migration that makes SQLite batch mode recreate ``tickets``
# (which drops the table's triggers).
down_revision: str | Sequence[str] | None = ("5eca6e231ad0", "c4e1d2a9b7f3")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE tickets_fts USING fts5(subject, body, content='tickets', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN "
    "INSERT INTO tickets_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body); END",
    "CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, subject, body) "
    "VALUES ('delete', old.id, old.subject, old.body); END",
    "CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, body ON tickets BEGIN "
    "INSERT INTO tickets_fts(tickets_fts, rowid, subject, body) "
    "VALUES ('delete', old.id, old.subject, old.body); "
    "INSERT INTO tickets_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body); END",
    "INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS tickets_fts_update",
    "DROP TRIGGER IF EXISTS tickets_fts_delete",
    "DROP TRIGGER IF EXISTS tickets_fts_insert",
    "DROP TABLE IF EXISTS tickets_fts",
)
POSTGRESQL_UP = (
    "CREATE INDEX ix_tickets_fulltext ON tickets USING gin "
    "(to_tsvector('german', coalesce(subject, '') || ' ' || coalesce(body, '')))",
)
POSTGRESQL_DOWN = ("DROP INDEX IF EXISTS ix_tickets_fulltext",)


def upgrade() -> None:
    for statement in SQLITE_UP if _dialect() == "sqlite" else POSTGRESQL_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if _dialect() == "sqlite" else POSTGRESQL_DOWN:
        op.execute(statement)


def _dialect() -> str:
    name = op.get_bind().dialect.name
    if name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"full-text search for {name}")
    return name
