"""The migrations build exactly the schema the models describe, and keep the data they find."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from helpdesk.config import load_settings
from helpdesk.migrate import alembic_config, model_metadata, upgrade
from tickets.search import include_object


def test_migrated_database_matches_the_models(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, model_metadata())
    engine.dispose()

    assert differences == []


def test_upgrading_a_database_with_tickets_keeps_their_history(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    settings = load_settings({"HELPDESK_VAR_DIR": str(tmp_path), "DATABASE_URL": url})
    upgrade(settings, "9c183b3a1354")  # the first schema, before tickets were rebuilt
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO tickets (id, reply_to, product_family, component, subject, body,"
                " channel, requested_priority, effective_priority, queue, status, tags,"
                " emergency_review, routing_rule, routing_rule_line, rules_version,"
                " created_at, updated_at) VALUES (1, 'k@example.com', 'JTL-Wawi', 'JTL-Wawi',"
                " 'Frage', 'Text', 'api', 'normal', 'normal', 'wawi', 'new', '[]', 0, 'default',"
                " 1, 'v1', '2026-01-05 09:00:00', '2026-01-05 09:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO ticket_events (ticket_id, actor, action, changes, created_at)"
                " VALUES (1, 'seed', 'created', '{}', '2026-01-05 09:00:00')"
            )
        )

    upgrade(settings)

    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ticket_events")).scalar() == 1
        assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []
    engine.dispose()


def test_the_migrations_form_one_line_with_one_head(database_url):
    # Two branches merged without re-pointing one migration give two heads: "heads" would
    # apply both in an order nobody chose, and `helpdesk db revision` would refuse to run.
    scripts = ScriptDirectory.from_config(alembic_config(database_url))

    assert len(scripts.get_heads()) == 1
