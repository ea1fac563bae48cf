"""`helpdesk mail-in deliver --via-lmtp`: the pipe door hands the message to the LMTP server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from tests.corpus import load
from tests.support import free_port
from tickets.models import Ticket

NEW = "outlook_new_request_de.eml"
SENDER = "j.mueller@mueller-handel.example"
SUPPORT = "support@support.example.com"


def handed_over(deliver, lmtp, raw: bytes, *args: str):
    return deliver(
        raw, "--via-lmtp", *args, env={"MAIL_IN_HOST": lmtp.host, "MAIL_IN_PORT": str(lmtp.port)}
    )


def ticket_count(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(Ticket))


def test_a_message_handed_to_the_lmtp_server_becomes_a_ticket_and_prints_its_number(
    deliver, lmtp, runtime
):
    result = handed_over(deliver, lmtp, load(NEW), "--to", SUPPORT, "--from", SENDER)

    assert result.exit_code == 0
    assert result.outcome["action"] == "created"
    assert result.outcome["ticket"] == "HD-000001"
    assert "unknown sender" in result.outcome["reason"]
    assert ticket_count(runtime) == 1


def test_the_same_message_handed_over_twice_is_one_ticket(deliver, lmtp, runtime):
    handed_over(deliver, lmtp, load(NEW), "--to", SUPPORT, "--from", SENDER)

    again = handed_over(deliver, lmtp, load(NEW), "--to", SUPPORT, "--from", SENDER)

    assert again.exit_code == 0
    assert again.outcome["action"] == "ignored"
    assert ticket_count(runtime) == 1


def test_a_mailbox_that_is_not_ours_is_refused_for_good(deliver, lmtp, runtime):
    result = handed_over(deliver, lmtp, load(NEW), "--to", "someone@else.example", "--from", SENDER)

    assert result.exit_code == 1
    assert "refused (550)" in result.stderr
    assert ticket_count(runtime) == 0


def test_without_a_running_lmtp_server_the_mta_is_told_to_try_again_later(deliver, runtime):
    port = free_port()  # nothing listens here

    result = deliver(
        load(NEW),
        "--via-lmtp",
        "--to",
        SUPPORT,
        "--from",
        SENDER,
        env={"MAIL_IN_HOST": "127.0.0.1", "MAIL_IN_PORT": str(port)},
    )

    assert result.exit_code == 75
    assert "not reachable" in result.stderr
    assert ticket_count(runtime) == 0


def test_handing_over_needs_both_envelope_addresses(deliver, lmtp):
    result = handed_over(deliver, lmtp, load(NEW), "--to", SUPPORT)

    assert result.exit_code == 2
    assert "--via-lmtp needs --to and --from" in result.stderr


def test_the_handing_over_command_imports_neither_the_database_layer_nor_the_domain(cli_env, lmtp):
    """What keeps it fast: one process per message must not import the service first."""
    command = [sys.executable, "-X", "importtime", "-c", "from helpdesk.cli import main; main()"]
    finished = subprocess.run(
        [*command, "mail-in", "deliver", "--via-lmtp", "--to", SUPPORT, "--from", SENDER],
        input=load(NEW),
        env={**cli_env, "MAIL_IN_HOST": lmtp.host, "MAIL_IN_PORT": str(lmtp.port)},
        capture_output=True,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr.decode()[-2000:]
    imported = {line.split("|")[-1].strip() for line in finished.stderr.decode().splitlines()}
    assert "tickets.inbound.handoff" in imported
    assert not {"sqlalchemy", "flask", "tickets.models", "email_validator"} & imported


def pipe(lmtp, raw: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    """The console script an MTA runs per message, as a real process."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "helpdesk-mail-in"), *args],
        input=raw,
        env={"MAIL_IN_HOST": lmtp.host, "MAIL_IN_PORT": str(lmtp.port)},
        capture_output=True,
        check=False,
        timeout=60,
    )


def test_the_console_script_hands_a_message_over_and_prints_its_ticket(lmtp, runtime):
    finished = pipe(lmtp, load(NEW), "--to", SUPPORT, "--from", SENDER)

    assert finished.returncode == 0, finished.stderr
    outcome = json.loads(finished.stdout)
    assert (outcome["action"], outcome["ticket"]) == ("created", "HD-000001")
    assert ticket_count(runtime) == 1


def test_the_console_script_keeps_lines_that_start_with_a_dot(lmtp, runtime):
    raw = (
        f"From: {SENDER}\nTo: {SUPPORT}\nSubject: Punkte\nMessage-ID: <punkte@example.com>\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Erste Zeile\n.Punkt am Zeilenanfang\n.\n..zwei Punkte\nLetzte Zeile\n"
    ).encode()  # bare LF, as a pipe brings it; a lone dot would end the DATA unstuffed

    finished = pipe(lmtp, raw, "--to", SUPPORT, "--from", SENDER)

    assert finished.returncode == 0, finished.stderr
    with runtime.db.session() as session:
        body = session.scalars(select(Ticket.body)).one()
    assert body == "Erste Zeile\n.Punkt am Zeilenanfang\n.\n..zwei Punkte\nLetzte Zeile"


def test_the_console_script_without_both_addresses_prints_its_usage(lmtp):
    finished = pipe(lmtp, load(NEW), "--to", SUPPORT)

    assert finished.returncode == 2
    assert b"usage: helpdesk-mail-in --to MAILBOX --from SENDER" in finished.stderr


def test_the_console_script_imports_only_a_few_standard_modules():
    """Its CPU per message is the interpreter's start: nothing of the service, no click, no
    settings, not even smtplib (which brings ssl and the email package)."""
    command = [sys.executable, "-X", "importtime", "-c", "import tickets.inbound.handoff"]
    finished = subprocess.run(command, capture_output=True, check=True)

    imported = {line.split("|")[-1].strip() for line in finished.stderr.decode().splitlines()}
    assert "tickets.inbound.handoff" in imported
    heavy = {"click", "helpdesk.config", "smtplib", "ssl", "email", "sqlalchemy", "redis"}
    assert not heavy & imported
