"""deploy/backup.sh and deploy/restore.sh: a restored service reads its tickets, sealed
sensitive data, delivery records and DKIM keys."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helpdesk.app import create_app
from helpdesk.config import PROJECT_ROOT, load_settings
from helpdesk.runtime import Runtime
from helpdesk.security import Principal
from notifications.mailings import services as mailing_services
from tests.integration.notifications.factories import make_account as make_mailing_account
from tests.integration.notifications.factories import make_mailing
from tests.integration.tickets.factories import LOCKED_ACCESS, customer_token
from tickets import sensitive
from tickets.models import parse_number

BIN = Path(sys.executable).parent
PASSWORD = "FTP: shop / Geheim-Passwort-4711"
ACCOUNTING_AGENT = Principal("user:7", frozenset({"agent"}), {"queues": ["accounting"]})


@pytest.fixture
def restored_database(settings, tmp_path) -> Iterator[str]:
    """An empty database to restore into, beside the test's own."""
    if settings.database_url.startswith("sqlite:///"):
        if shutil.which("sqlite3") is None:
            pytest.skip("deploy/backup.sh needs the sqlite3 command for a SQLite database")
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    url = make_url(settings.database_url)
    restored = f"{url.database}_restored"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{restored}"'))
        connection.execute(text(f'CREATE DATABASE "{restored}"'))
    yield url.set(database=restored).render_as_string(hide_password=False)
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)'))
    server.dispose()


def _run(command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_restored_backup_serves_tickets_sensitive_data_and_delivery_records(
    client, runtime, work, smtp_sink, cli_env, restored_database, tmp_path
):
    token = customer_token(runtime)
    headers = {"Authorization": f"Bearer {token}"}
    number = client.post("/api/v1/tickets", json=LOCKED_ACCESS, headers=headers).json["number"]
    ticket_id = parse_number(number)
    with runtime.db.session() as session:
        keyring = sensitive.Keyring.from_settings(runtime.settings)
        sensitive.add_item(session, keyring, ticket_id, "FTP-Zugang", PASSWORD, actor="user:1")
    make_mailing_account(
        runtime, first_contact="info@sicherung.example", critical=("it@s.example",)
    )
    mailing_id = make_mailing(runtime)
    mailing_services.start_sending(runtime, mailing_id, "ops-a@example.com")
    work()
    dns_before = _run([str(BIN / "helpdesk"), "dkim", "dns-record"], cli_env)
    backup = tmp_path / "backup"

    _run([str(PROJECT_ROOT / "deploy" / "backup.sh"), str(backup)], cli_env)
    restored_env = cli_env | {
        "DATABASE_URL": restored_database,
        "HELPDESK_VAR_DIR": str(tmp_path / "restored" / "var"),
        "DKIM_KEY_DIR": str(tmp_path / "restored" / "dkim"),
    }
    _run([str(PROJECT_ROOT / "deploy" / "restore.sh"), str(backup)], restored_env)

    restored = create_app(load_settings(restored_env))
    restored_runtime: Runtime = restored.extensions["runtime"]
    try:
        shown = restored.test_client().get(f"/api/v1/tickets/{number}", headers=headers)
        assert shown.status_code == 200, shown.json
        assert shown.json["subject"] == LOCKED_ACCESS["subject"]
        [item] = sensitive.reveal(restored_runtime, ticket_id, ACCOUNTING_AGENT)
        assert item.value == PASSWORD
    finally:
        restored_runtime.db.dispose()
    status = _run(
        [str(BIN / "helpdesk"), "mailings", "status", str(mailing_id), "--json"], restored_env
    )
    assert json.loads(status)["counts"]["sent"] == 2
    assert _run([str(BIN / "helpdesk"), "dkim", "dns-record"], restored_env) == dns_before
