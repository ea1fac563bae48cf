"""Side by side with Request Tracker 5: tickets over REST, and mail through a pipe and LMTP.

Both services run on this machine's PostgreSQL and are driven by the same keep-alive client
at the same concurrency, one after the other in this run:

- tickets: RT's REST 2.0 (``POST /REST/2.0/ticket``, basic auth) and our ``POST
  /api/v1/tickets`` (bearer token), each with its acknowledgement (RT's autoreply scrip, our
  DKIM-signed mail through the worker);
- mail through a pipe, one process per message: RT's ``rt-mailgate`` and our
  ``helpdesk-mail-in`` console script (and, for comparison, ``helpdesk mail-in deliver``
  with and without ``--via-lmtp``);
- mail over LMTP (ours only: RT has no LMTP door).

It prints tickets or messages per second, p50/p99 latency and the CPU milliseconds per ticket
of the serving processes (web, worker, mail-in; RT's server and what it forks). PostgreSQL's
own CPU is not counted on either side.

The bench installs nothing. Request Tracker comes from Debian::

    apt-get install --no-install-recommends request-tracker5 rt5-db-postgresql \\
        rt5-standalone rt5-clients      # dbconfig-common creates RT's database
    rt-passwd root                      # then RT_PASSWORD=... for this bench

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/h_scale \\
    REDIS_URL=redis://127.0.0.1:6379/5 RT_PASSWORD=... .venv/bin/python bench/peer_rt.py

Without RT (or without a PostgreSQL DATABASE_URL) it says so and exits 0.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from tests.support import SmtpSink, free_port  # noqa: E402

RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
RT_MAILGATE = shutil.which("rt-mailgate")
RT_PACKAGES = "request-tracker5 rt5-db-postgresql rt5-standalone rt5-clients"
TICKETS = int(os.environ.get("PEER_TICKETS", "120"))
MAILS = int(os.environ.get("PEER_MAILS", "40"))
CONCURRENCY = 4
WORKERS = 4  # web processes on both sides
SCHEMA = "bench_peer"
MAILBOX = "support@support.example.com"


class Meter:
    """CPU seconds of process trees (and their waited-for children) between two readings."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.start = self.total()

    def total(self) -> float:
        seconds = 0.0
        for pid in self.pids():
            try:
                process = psutil.Process(pid)
                for member in [process, *process.children(recursive=True)]:
                    times = member.cpu_times()
                    seconds += times.user + times.system + times.children_user
                    seconds += times.children_system
            except psutil.NoSuchProcess:
                continue
        return seconds

    def used(self) -> float:
        return self.total() - self.start


def drive(port: int, path: str, headers: dict[str, str], bodies: list[bytes]) -> list[float]:
    """POST every body over CONCURRENCY keep-alive connections; the latencies in seconds."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    queue = list(bodies)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue or failures:
                    break
                body = queue.pop()
            started = time.perf_counter()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status != 201:
                failures.append(f"{response.status} {answer[:300]!r}")
                break
            with lock:
                latencies.append(time.perf_counter() - started)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{path}: {failures[0]}")
    return latencies


def summary(name: str, latencies: list[float], seconds: float, cpu: float, count: int) -> str:
    ordered = sorted(latencies) or [0.0]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"| {name:<44} | {count / seconds:7.1f} | {statistics.median(ordered) * 1000:7.0f} "
        f"| {p99 * 1000:7.0f} | {cpu / count * 1000:7.1f} |"
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def mail(n: int, to: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"kunde{n}@peer{n}.example"
    message["To"] = to
    message["Subject"] = f"Abgleich hängt seit dem Update ({n})"
    message["Message-ID"] = make_msgid(domain=f"peer{n}.example")
    message.set_content("Seit dem Update hängt der Abgleich mit dem Marktplatz. Bitte prüfen.")
    return bytes(message)


def ticket_bodies(kind: str) -> list[bytes]:
    bodies = []
    for n in range(TICKETS):
        if kind == "rt":
            fields = {
                "Queue": "General",
                "Requestor": f"kunde{n}@peer{n}.example",
                "Subject": f"Abgleich hängt ({n})",
                "Content": "Seit dem Update hängt der Abgleich mit dem Marktplatz.",
            }
        else:
            fields = {
                "reply_to": f"kunde{n}@peer{n}.example",
                "product_family": "JTL-Wawi",
                "component": "JTL-Wawi",
                "subject": f"Abgleich hängt ({n})",
                "text": "Seit dem Update hängt der Abgleich mit dem Marktplatz.",
                "priority": "normal",
            }
        bodies.append(json.dumps(fields).encode())
    return bodies


# -- Request Tracker ------------------------------------------------------------------------


def run_rt(rows: list[str]) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            str(RT_SERVER),
            *("--port", str(port), "--server", "Starlet", "--max-workers", str(WORKERS)),
            *("--max-keepalive-reqs", "1000"),  # Starlet closes each connection otherwise
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: _answers(port, "/rt/"), 120, "RT's standalone server")
        user = os.environ.get("RT_USER", "root")
        secret = base64.b64encode(f"{user}:{os.environ.get('RT_PASSWORD', '')}".encode()).decode()
        headers = {"Content-Type": "application/json", "Authorization": f"Basic {secret}"}
        drive(port, "/REST/2.0/ticket", headers, ticket_bodies("rt")[:4])  # warm the workers
        meter = Meter(lambda: [server.pid])
        started = time.perf_counter()
        latencies = drive(port, "/REST/2.0/ticket", headers, ticket_bodies("rt"))
        seconds = time.perf_counter() - started
        rows.append(summary("RT 5: REST 2.0 tickets", latencies, seconds, meter.used(), TICKETS))

        meter = Meter(lambda: [server.pid])
        latencies = []
        before = _children_cpu()
        started = time.perf_counter()
        for n in range(MAILS):
            began = time.perf_counter()
            gate = subprocess.run(
                [
                    str(RT_MAILGATE),
                    "--queue",
                    "General",
                    "--action",
                    "correspond",
                    "--url",
                    f"http://127.0.0.1:{port}/",
                ],
                input=mail(n, "rt@peer.example"),
                capture_output=True,
                check=False,
            )
            if gate.returncode != 0:
                raise SystemExit(f"rt-mailgate: {gate.stderr.decode()[-500:]}")
            latencies.append(time.perf_counter() - began)
        seconds = time.perf_counter() - started
        gate_cpu = _children_cpu() - before
        rows.append(
            summary(
                "RT 5: rt-mailgate, a process per message",
                latencies,
                seconds,
                meter.used() + gate_cpu,
                MAILS,
            )
        )
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the per-message pipe processes)."""
    times = psutil.Process().cpu_times()
    return times.children_user + times.children_system


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path)
        connection.getresponse().read()
        return True
    except OSError:
        return False


# -- this service ---------------------------------------------------------------------------


def run_ours(base_url: str, rows: list[str]) -> None:
    engine = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    sink = SmtpSink().start()
    helpdesk = str(Path(sys.executable).parent / "helpdesk")
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as directory:
        separator = "&" if "?" in base_url else "?"
        lmtp_port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"{base_url}{separator}options=-csearch_path%3D{SCHEMA}",
            "HELPDESK_VAR_DIR": directory,
            "HELPDESK_ENV": "production",
            "LOG_LEVEL": "WARNING",
            "SMTP_URL": sink.url,
            "MAIL_IN_PORT": str(lmtp_port),
            "MAIL_IN_TICKETS_PER_HOUR": "100000",
            "MAIL_IN_ACKS_PER_HOUR": "100000",
        }
        subprocess.run([helpdesk, "db", "upgrade"], env=env, check=True, capture_output=True)
        token = _customer_token(env)
        port = free_port()
        processes = [
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--worker-class",
                    "gthread",
                    "--workers",
                    str(WORKERS),
                    "--threads",
                    "2",
                    "--log-level",
                    "warning",
                    "helpdesk.wsgi:app",
                ],
                env=env,
            ),
            subprocess.Popen([helpdesk, "worker"], env=env, stderr=subprocess.DEVNULL),
            subprocess.Popen([helpdesk, "mail-in", "serve"], env=env, stderr=subprocess.DEVNULL),
        ]
        try:
            wait_for(lambda: _answers(port, "/healthz"), 60, "our web server")
            wait_for(lambda: _lmtp_answers(lmtp_port), 60, "our LMTP server")
            pids = [process.pid for process in processes]
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            drive(port, "/api/v1/tickets", headers, ticket_bodies("ours")[:4])
            wait_for(lambda: len(sink.received) >= 4, 60, "warm-up acknowledgements")
            meter = Meter(lambda: pids)
            sent = len(sink.received)
            started = time.perf_counter()
            latencies = drive(port, "/api/v1/tickets", headers, ticket_bodies("ours"))
            seconds = time.perf_counter() - started
            wait_for(lambda: len(sink.received) >= sent + TICKETS, 120, "acknowledgements")
            rows.append(
                summary(
                    "ours: POST /api/v1/tickets (+ ack)", latencies, seconds, meter.used(), TICKETS
                )
            )
            envelope = ["--to", MAILBOX, "--from", "k@x.example"]
            deliver = [helpdesk, "mail-in", "deliver"]
            via_lmtp = [*deliver, "--via-lmtp"]
            doors = (
                ("ours: helpdesk-mail-in, a process each", [f"{helpdesk}-mail-in"], MAILS),
                ("ours: mail-in deliver --via-lmtp, a process each", via_lmtp, MAILS),
                ("ours: mail-in deliver in-process, a process each", deliver, max(MAILS // 4, 5)),
            )
            for offset, (name, command, count) in enumerate(doors, start=1):
                before = _children_cpu()
                meter = Meter(lambda: pids)
                latencies = []
                started = time.perf_counter()
                for n in range(count):
                    began = time.perf_counter()
                    subprocess.run(
                        [*command, *envelope],
                        input=mail(offset * 10_000 + n, MAILBOX),
                        env=env,
                        capture_output=True,
                        check=True,
                    )
                    latencies.append(time.perf_counter() - began)
                seconds = time.perf_counter() - started
                children = _children_cpu() - before
                rows.append(summary(name, latencies, seconds, meter.used() + children, count))
            meter = Meter(lambda: pids)
            latencies = []
            started = time.perf_counter()
            with smtplib.LMTP("127.0.0.1", lmtp_port, timeout=60) as client:
                for n in range(MAILS * 5):
                    began = time.perf_counter()
                    client.sendmail("k@x.example", [MAILBOX], mail(40_000 + n, MAILBOX))
                    latencies.append(time.perf_counter() - began)
            seconds = time.perf_counter() - started
            rows.append(
                summary("ours: LMTP, one connection", latencies, seconds, meter.used(), MAILS * 5)
            )
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
            sink.stop()


def _lmtp_answers(port: int) -> bool:
    try:
        smtplib.LMTP("127.0.0.1", port, timeout=5).quit()
        return True
    except OSError:
        return False


def _customer_token(env: dict[str, str]) -> str:
    os.environ.update(env)
    from accounts import tokens
    from accounts.models import Account, User
    from helpdesk.config import load_settings
    from helpdesk.runtime import Runtime
    from tests.scale_data import PASSWORD_HASH

    runtime = Runtime(load_settings(env))
    with runtime.db.session() as session:
        account = Account(customer_number="100001", company="Müller Handel GmbH")
        session.add(account)
        session.flush()
        user = User(
            email="bench@peer.example",
            email_key="bench@peer.example",
            password_hash=PASSWORD_HASH,
            kind="customer",
            account_id=account.id,
            permissions=["customer.tickets"],
        )
        session.add(user)
    _, plain = tokens.issue(runtime, user.id, "bench", ["customer.tickets"])
    runtime.db.dispose()
    return plain


def main() -> int:
    base_url = os.environ.get("DATABASE_URL", "")
    if not RT_SERVER.exists() or RT_MAILGATE is None:
        print(f"bench/peer_rt.py: skipped, Request Tracker 5 is not installed ({RT_PACKAGES})")
        return 0
    if not base_url.startswith("postgresql"):
        print("bench/peer_rt.py: skipped, needs DATABASE_URL=postgresql+psycopg://... (its own DB)")
        return 0
    rows: list[str] = []
    run_rt(rows)
    run_ours(base_url, rows)
    print(
        f"{TICKETS} tickets, {MAILS} mails; {CONCURRENCY} keep-alive clients; {WORKERS} web workers"
    )
    print(f"| {'door':<44} | per s   | p50 ms  | p99 ms  | CPU ms  |")
    print(f"|{'-' * 46}|---------|---------|---------|---------|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
