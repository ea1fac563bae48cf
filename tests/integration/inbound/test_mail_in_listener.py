"""`helpdesk mail-in serve` serves the socket it is handed, or binds its own port once."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
from pathlib import Path

from helpdesk.listeners import listen
from tests.support import wait_until

BIN = Path(sys.executable).parent


def _lhlo(port: int) -> int:
    try:
        with smtplib.LMTP("127.0.0.1", port, timeout=5) as client:
            return client.ehlo()[0]
    except OSError:
        return 0


def test_serves_the_handed_socket_and_never_binds_the_configured_port(cli_env):
    """The parent keeps the port from bind to serve; the child binds nothing itself, so a
    program that took the configured port in between cannot make it fail."""
    with socket.socket() as other_program, listen("127.0.0.1", 0, "port") as handed:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        env = dict(cli_env, MAIL_IN_PORT=str(other_program.getsockname()[1]))
        port = handed.getsockname()[1]
        server = subprocess.Popen(
            [BIN / "helpdesk", "mail-in", "serve", "--fd", str(handed.fileno())],
            env=env,
            pass_fds=(handed.fileno(),),
            stderr=subprocess.PIPE,
            text=True,
        )
        handed.close()  # only the server's copy is left
        try:
            wait_until(lambda: _lhlo(port) == 250, timeout=30, what="LMTP on the handed socket")
        finally:
            server.terminate()
            errors = server.communicate(timeout=30)[1]
    assert server.returncode == 0, errors
    assert f"mail-in: LMTP on 127.0.0.1:{port} for" in errors


def test_a_taken_port_is_one_clear_line(cli_env):
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        taken = other_program.getsockname()[1]
        result = subprocess.run(
            [BIN / "helpdesk", "mail-in", "serve", "--port", str(taken)],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"mail-in: port {taken} is taken (Address already in use); "
        "start with MAIL_IN_PORT=<free port>"
    ]
