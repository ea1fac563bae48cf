"""The `helpdesk` command: DNS records for DKIM, and one clear line for a bad setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    return subprocess.run(
        [str(BIN / "helpdesk"), *args], env=environ, capture_output=True, text=True, timeout=60
    )


def test_dkim_dns_record_prints_a_txt_record_per_selector(tmp_path):
    result = _run("dkim", "dns-record", HELPDESK_VAR_DIR=str(tmp_path), MAIL_DOMAIN="example.net")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith('ed2026._domainkey.example.net. IN TXT "v=DKIM1; k=ed25519; p=')
    assert lines[1].startswith('rsa2026._domainkey.example.net. IN TXT "v=DKIM1; k=rsa; p=')
    assert sorted(path.name for path in (tmp_path / "dkim").iterdir()) == [
        "ed2026.ed25519",
        "rsa2026.rsa.pem",
    ]


def test_malformed_setting_stops_the_command_with_one_line_naming_it(tmp_path):
    result = _run(
        "db", "upgrade", HELPDESK_VAR_DIR=str(tmp_path), DATABASE_URL="mysql://db.example/x"
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: configuration: DATABASE_URL: scheme must be one of sqlite, postgresql, "
        "postgresql+psycopg"
    ]


def test_the_web_app_refuses_a_malformed_setting_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import helpdesk.wsgi"],
        env={**os.environ, "HELPDESK_VAR_DIR": str(tmp_path), "SMTP_URL": "smtp://:25"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == ["configuration: SMTP_URL: a host is required"]
