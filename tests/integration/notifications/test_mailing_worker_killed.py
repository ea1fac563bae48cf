"""A worker killed with SIGKILL mid-mailing: after a restart every recipient has its mail.

The mailing is sent with `helpdesk mailings send ID --wait`, which exits 0 once it is done.

The one message that may arrive twice is the one the server had accepted when the worker died
(its outcome was not committed yet); every other recipient gets exactly one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from notifications.mailings import services as mailing_services
from tests.integration.notifications.factories import make_account, make_mailing
from tests.support import wait_until

HELPDESK = Path(sys.executable).parent / "helpdesk"
KNOBS = {
    "MAILING_RATE": "25",  # slow enough to kill the worker in the middle
    "MAILING_BATCH_SIZE": "10",
    "MAILING_LEASE_SECONDS": "2",
}


def _environment(cli_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **KNOBS, **cli_env}


def _helpdesk(cli_env: dict[str, str], log: Path, *arguments: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [HELPDESK, *arguments], env=_environment(cli_env), stdout=output, stderr=output
        )


def test_worker_killed_mid_mailing_and_restarted_sends_every_recipient_once(
    runtime, smtp_sink, cli_env, tmp_path
):
    addresses = set()
    for n in range(25):
        make_account(
            runtime, first_contact=f"info@kill{n}.example", critical=(f"it@kill{n}.example",)
        )
        addresses |= {f"info@kill{n}.example", f"it@kill{n}.example"}
    mailing_id = make_mailing(runtime)
    waiting = _helpdesk(
        cli_env, tmp_path / "send.log", "mailings", "send", str(mailing_id), "--wait"
    )

    first = _helpdesk(cli_env, tmp_path / "worker.log", "worker", "--queue", "mail")
    try:
        wait_until(lambda: len(smtp_sink.received) >= 12, timeout=60, what="first mails")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert len(smtp_sink.received) < len(addresses), "killed in the middle"

    second = _helpdesk(cli_env, tmp_path / "worker.log", "worker", "--queue", "mail")
    try:
        wait_until(
            lambda: mailing_services.progress(runtime, mailing_id).counts["sent"] == len(addresses),
            timeout=120,
            what="every record sent after the restart",
        )
    finally:
        second.terminate()
        second.wait(timeout=30)

    assert waiting.wait(timeout=30) == 0, (tmp_path / "send.log").read_text()
    received = Counter(rcpt for mail in smtp_sink.received for rcpt in mail.rcpt_tos)
    assert set(received) == addresses
    assert sum(received.values()) - len(addresses) <= 1, received.most_common(2)
