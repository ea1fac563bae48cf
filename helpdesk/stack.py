"""`make run`: the whole stack in the foreground, and nothing left behind when it stops.

Starts what the environment does not provide (the embedded Redis, the local mail store), then
one RQ worker and the web app on gunicorn (threaded workers, keep-alive), each in its own
session so that Ctrl-C reaches only this supervisor, which stops them in order. The children
get the embedded Redis as a plain ``REDIS_URL``; the server stops once the stack (and any other
command using it) has exited.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from helpdesk import broker
from helpdesk.config import Settings
from helpdesk.devmail import LmtpRelay, MailStore, serve

STOP_TIMEOUT = 15
DEV_SMTP_PORT = 8025
KEEP_ALIVE_SECONDS = 5


class PortTaken(Exception):
    """The port the service should listen on is in use by another program."""


def listen(port: int) -> socket.socket:
    """The web port, bound here and handed to gunicorn: no other program can take it between
    a probe and gunicorn's own bind, and a taken port is one clear line, not a child's crash."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as error:
        listener.close()
        raise PortTaken(
            f"port {port} is taken ({error.strerror}); start with PORT=<free port>"
        ) from None
    listener.listen(128)
    listener.set_inheritable(True)
    return listener


def run_stack(settings: Settings, port: int, notes: Sequence[str] = ()) -> int:
    try:
        listener = listen(port)
    except PortTaken as error:
        print(f"stack: {error}", flush=True)
        return 1
    with listener:
        return _run(settings, port, listener, notes)


def _run(settings: Settings, port: int, listener: socket.socket, notes: Sequence[str] = ()) -> int:
    env = dict(os.environ, PORT=str(port))
    bin_dir = Path(sys.executable).parent
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    mail_server = None
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        env["REDIS_URL"] = broker.url(settings)
        lmtp_port = settings.mail_in_port
        if "MAIL_IN_PORT" not in os.environ:
            lmtp_port = _free_port(settings.mail_in_port)
            env["MAIL_IN_PORT"] = str(lmtp_port)
        commands = process_commands(
            bin_dir,
            port,
            settings.web_workers,
            settings.web_threads,
            bind=f"fd://{listener.fileno()}",
        )
        children.append(("mail-in", _spawn(commands["mail-in"], env)))
        if "SMTP_URL" not in os.environ:
            smtp_port = _free_port(DEV_SMTP_PORT)
            relay = LmtpRelay(
                settings.mail_in_host,
                lmtp_port,
                settings.support_mailboxes,
                settings.mail_domain,
            )
            mail_server = serve(MailStore(settings.mail_store_dir), "127.0.0.1", smtp_port, relay)
            env["SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
        children.append(("worker", _spawn(commands["worker"], env)))
        children.append(("web", _spawn(commands["web"], env, pass_fds=(listener.fileno(),))))
        _announce(settings, port, env, notes)
        while not stopping:
            for name, process in children:
                if process.poll() is not None:
                    print(f"stack: {name} exited with {process.returncode}; stopping", flush=True)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for _name, process in reversed(children):  # web first
            _stop(process)
        if mail_server is not None:
            mail_server.stop()
        print("stack: stopped", flush=True)


def process_commands(
    bin_dir: Path, port: int, web_workers: int, web_threads: int, bind: str | None = None
) -> dict[str, list[str]]:
    """The service's own processes; deploy/ starts the same ones in production. ``bind``
    overrides gunicorn's address (``make run`` hands over a socket it bound: ``fd://N``)."""
    return {
        "mail-in": [str(bin_dir / "helpdesk"), "mail-in", "serve"],
        "worker": [str(bin_dir / "helpdesk"), "worker"],
        "web": [
            str(bin_dir / "gunicorn"),
            "--bind",
            bind or f"127.0.0.1:{port}",
            # Threaded workers keep connections alive between requests (sync workers close
            # each one), so API clients and browsers do not pay a TCP handshake per request.
            "--worker-class",
            "gthread",
            "--workers",
            str(web_workers),
            "--threads",
            str(web_threads),
            "--keep-alive",
            str(KEEP_ALIVE_SECONDS),
            # No gunicorn access log: it would show the paths of reset and invitation links.
            # The app logs each request with its route pattern instead.
            "helpdesk.wsgi:app",
        ],
    }


def _spawn(
    command: list[str], env: dict[str, str], pass_fds: Sequence[int] = ()
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, start_new_session=True, pass_fds=pass_fds)  # noqa: S603


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _announce(settings: Settings, port: int, env: dict[str, str], notes: Sequence[str]) -> None:
    lines = [
        "",
        f"  Support service running: http://127.0.0.1:{port}/",
        f"  Health:                  http://127.0.0.1:{port}/healthz",
    ]
    if settings.development and "SMTP_URL" not in os.environ:
        lines.append(f"  Local mail store:        http://127.0.0.1:{port}/dev/mail")
        lines.append(f"  SMTP (mail store):       {env['SMTP_URL']}")
        lines.append(f"  Support mail in:         send to {', '.join(settings.support_mailboxes)}")
    lines.append(f"  LMTP (mail-in):          {settings.mail_in_host}:{env['MAIL_IN_PORT']}")
    lines.extend(notes)
    lines.append("  Stop with Ctrl-C.")
    print("\n".join(lines) + "\n", flush=True)
