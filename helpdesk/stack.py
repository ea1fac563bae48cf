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
from helpdesk.listeners import PortTaken, listen, listen_preferring

STOP_TIMEOUT = 15
DEV_SMTP_PORT = 8025
KEEP_ALIVE_SECONDS = 5


def run_stack(settings: Settings, port: int, notes: Sequence[str] = ()) -> int:
    # Every port is bound here and served as bound (the web and LMTP ports by the children
    # they are handed to): no other program can take one between a probe and a bind.
    try:
        listener = listen("127.0.0.1", port, "PORT")
        with listener, _mail_in_listener(settings) as lmtp:
            return _run(settings, port, listener, lmtp, notes)
    except PortTaken as error:
        print(f"stack: {error}", flush=True)
        return 1


def _mail_in_listener(settings: Settings) -> socket.socket:
    """The LMTP port: the one asked for in MAIL_IN_PORT, else the default or any free one."""
    if "MAIL_IN_PORT" in os.environ:
        return listen(settings.mail_in_host, settings.mail_in_port, "MAIL_IN_PORT")
    return listen_preferring(settings.mail_in_host, settings.mail_in_port)


def _run(
    settings: Settings,
    port: int,
    listener: socket.socket,
    lmtp: socket.socket,
    notes: Sequence[str] = (),
) -> int:
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
        lmtp_port = lmtp.getsockname()[1]
        env["MAIL_IN_PORT"] = str(lmtp_port)
        commands = process_commands(
            bin_dir,
            port,
            settings.web_workers,
            settings.web_threads,
            bind=f"fd://{listener.fileno()}",
        )
        mail_in = [*commands["mail-in"], "--fd", str(lmtp.fileno())]
        children.append(("mail-in", _spawn(mail_in, env, pass_fds=(lmtp.fileno(),))))
        lmtp.close()  # the child serves its own copy
        if "SMTP_URL" not in os.environ:
            smtp = listen_preferring("127.0.0.1", DEV_SMTP_PORT)
            smtp_port = smtp.getsockname()[1]
            relay = LmtpRelay(
                settings.mail_in_host,
                lmtp_port,
                settings.support_mailboxes,
                settings.mail_domain,
            )
            mail_server = serve(MailStore(settings.mail_store_dir), smtp, relay)
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
