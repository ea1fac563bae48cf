"""Without REDIS_URL, commands started at once share one embedded redis-server, and none stays.

The commands run as real processes on a fresh var directory; the database and the SMTP server
are the test's own, so the mailing they send can be checked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from notifications.mailings import services as mailing_services
from tests.integration.notifications.factories import make_account, make_mailing
from tests.support import wait_until

HELPDESK = Path(sys.executable).parent / "helpdesk"


def _processes_with(var_dir: Path) -> dict[int, str]:
    """pid -> command line of every process started for ``var_dir``.

    That is every process with ``var_dir`` in its environment, and every redis-server working
    in ``var_dir`` (it overwrites its environment with its process title).
    """
    marker = f"HELPDESK_VAR_DIR={var_dir}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            ours = marker in (entry / "environ").read_bytes().split(b"\0")
            if ours or Path(os.readlink(entry / "cwd")).is_relative_to(var_dir):
                found[int(entry.name)] = command
        except OSError:
            continue
    return found


def _redis_servers(var_dir: Path) -> list[int]:
    return [pid for pid, command in _processes_with(var_dir).items() if "redis-server" in command]


@pytest.fixture
def embedded_env(cli_env, tmp_path):
    """The test's database and SMTP server, but no REDIS_URL and a var directory of its own."""
    var_dir = tmp_path / "var"
    environ = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    environ.update(cli_env)
    del environ["REDIS_URL"]
    environ["HELPDESK_VAR_DIR"] = str(var_dir)
    yield environ, var_dir
    for pid in _processes_with(var_dir):  # only what a failed test left behind
        os.kill(pid, signal.SIGKILL)


def test_commands_started_at_once_share_one_embedded_redis_and_leave_no_process(
    runtime, smtp_sink, embedded_env, tmp_path
):
    environ, var_dir = embedded_env
    addresses = {f"info@gemeinsam{n}.example" for n in range(3)}
    for address in sorted(addresses):
        make_account(runtime, first_contact=address)
    mailing_id = make_mailing(runtime)
    commands = {
        "send": ["mailings", "send", str(mailing_id), "--wait"],
        "worker": ["worker"],
        "second worker": ["worker", "--queue", "mail"],
        "burst worker": ["worker", "--burst"],
    }
    log = tmp_path / "commands.log"
    with log.open("ab") as output:
        started = {
            name: subprocess.Popen(
                [HELPDESK, *arguments], env=environ, stdout=output, stderr=output
            )
            for name, arguments in commands.items()
        }
    try:
        assert started["send"].wait(timeout=90) == 0, log.read_text()
        started["burst worker"].wait(timeout=30)  # exits 1 if the queues were empty already
        servers = _redis_servers(var_dir)
        log_of_server = (var_dir / "redis" / "redis.log").read_text()
    finally:
        for name in ("worker", "second worker"):
            started[name].terminate()
        for process in started.values():
            process.wait(timeout=30)

    assert "Traceback" not in log.read_text(), log.read_text()
    assert len(servers) == 1, _processes_with(var_dir)
    assert log_of_server.count("Redis is starting") == 1, "one server ever started"
    assert mailing_services.progress(runtime, mailing_id).counts["sent"] == len(addresses)
    received = [rcpt for mail in smtp_sink.received for rcpt in mail.rcpt_tos]
    assert sorted(received) == sorted(addresses)
    wait_until(lambda: _processes_with(var_dir) == {}, timeout=15, what="no process left")
