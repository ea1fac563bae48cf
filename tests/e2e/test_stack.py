"""`make run`'s stack on embedded defaults: healthy, files and signs a ticket, stops cleanly."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from helpdesk.config import load_settings
from tests.dkimcheck import verify_all_signatures
from tests.support import free_port, wait_until

BIN = Path(sys.executable).parent


def _processes_using(var_dir: Path) -> list[int]:
    marker = f"HELPDESK_VAR_DIR={var_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)
    except OSError:
        return 0, {}


def _assert_keeps_connection_alive(port: int) -> None:
    """Two requests travel over one TCP connection (gunicorn's sync workers close each one)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        first = connection.getresponse()
        first.read()
        socket_used = connection.sock
        assert first.getheader("Connection", "").lower() != "close"
        connection.request("GET", "/healthz")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert socket_used is not None and connection.sock is socket_used
    finally:
        connection.close()


def test_stack_runs_on_embedded_defaults_and_stops_leaving_nothing_behind(tmp_path):
    var_dir = tmp_path / "var"
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY")
    }
    env.update(HELPDESK_VAR_DIR=str(var_dir), PORT=str(port), HELPDESK_ENV="development")
    subprocess.run([BIN / "helpdesk", "db", "upgrade"], env=env, check=True, capture_output=True)
    demo = json.loads(
        subprocess.run(
            [BIN / "helpdesk", "seed", "demo", "--json"], env=env, check=True, capture_output=True
        ).stdout
    )
    customer = next(user for user in demo["users"] if user["kind"] == "customer")
    stack = subprocess.Popen(
        [BIN / "helpdesk", "stack"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _get(f"{base}/healthz")[0] == 200, timeout=60, what="healthy stack")
        _assert_keeps_connection_alive(port)

        request = urllib.request.Request(
            f"{base}/api/v1/tickets",
            data=json.dumps(
                {
                    "reply_to": "kunde@example.com",
                    "product_family": "JTL-Kundenkonto",
                    "component": "Fragen zu Firmendaten/Kundenkonto",
                    "subject": "AW: Zugang gesperrt",
                    "text": "Bitte entsperren.",
                }
            ).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {customer['token']}",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            number = json.load(response)["number"]
        mail_dir = var_dir / "mail"
        wait_until(
            lambda: any(number.encode() in path.read_bytes() for path in mail_dir.glob("*.eml")),
            timeout=30,
            what="the acknowledgement of the posted ticket",
        )
        settings = load_settings({"HELPDESK_VAR_DIR": str(var_dir)})
        for path in mail_dir.glob("*.eml"):  # the demo tickets' acknowledgements and this one
            assert len(verify_all_signatures(path.read_bytes(), settings)) == 2
        assert _processes_using(var_dir), "the stack's processes carry its var dir"
    except Exception as error:
        stack.send_signal(signal.SIGINT)
        output = stack.communicate(timeout=60)[0].decode()
        raise AssertionError(f"{error}\n--- stack output ---\n{output}") from error
    stack.send_signal(signal.SIGINT)
    output = stack.communicate(timeout=60)[0].decode()

    assert stack.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
    deadline = time.monotonic() + 5
    while _processes_using(var_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_using(var_dir) == []


@pytest.mark.parametrize("variable", ["PORT", "MAIL_IN_PORT"])
def test_a_taken_port_is_one_clear_line_and_nothing_starts(tmp_path, variable):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY")
    }
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        taken = other_program.getsockname()[1]
        env.update(HELPDESK_VAR_DIR=str(tmp_path), HELPDESK_ENV="development")
        env.update({"PORT": str(free_port()), variable: str(taken)})

        result = subprocess.run(
            [BIN / "helpdesk", "stack"], env=env, capture_output=True, text=True, timeout=60
        )

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"stack: port {taken} is taken (Address already in use); start with {variable}=<free port>"
    ]
    assert _processes_using(tmp_path) == []
