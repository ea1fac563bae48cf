"""Soak: ten minutes of mixed traffic at about 50 requests/s while a mandatory mailing runs.

The real processes on loopback: gunicorn (the web app), two RQ workers, the LMTP mail-in
server and a redis-server; mail goes to a counting SMTP sink in this process. Traffic: customers
file, list and read tickets through the API, an accounting agent answers in the console (session
and CSRF token), ops poll the mailing, and customers' mails arrive over LMTP. At the end the
traffic stops, the queues drain, and the run prints errors, latencies, the resident memory of
every process over time, and the outbox rows and delivery records by state. It fails (exit 1)
on any error, on a row left ``sending``, or on a service process whose memory grew by more
than 10% over the second half of the traffic (Redis's memory is data: shown, not judged).

    .venv/bin/python bench/soak.py                        # SQLite file, 600 s, 50 req/s
    SOAK_SECONDS=120 DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/soak.py

``DATABASE_URL`` names a database the soak may empty: it drops every table first.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import queue
import random
import re
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
RATE = float(os.environ.get("SOAK_RATE", "50"))
ACCOUNTS = int(os.environ.get("SOAK_ACCOUNTS", "2000"))  # 3 recipients each
MAILING_RATE = os.environ.get("SOAK_MAILING_RATE", "10")  # messages/s: the mailing spans the run
CLIENT_THREADS = 12
SAMPLE_EVERY = 30.0
DRAIN_SECONDS = 900
# Memory counts as flat when, over the second half of the traffic, it grew less than this.
RSS_GROWTH_LIMIT = 0.10
PASSWORD = "Demo-Passwort-2026"
CUSTOMER = "kunde@mueller-handel.example"
AGENT = "agent-accounting@support.example.com"
OPS = "ops@support.example.com"
TICKET = {
    "reply_to": "buchhaltung@mueller-handel.example",
    "product_family": "JTL-Kundenkonto",
    "component": "Fragen zu Firmendaten/Kundenkonto",
    "subject": "Zugang gesperrt",
    "text": "Unsere Wawi-Lizenz wird als gesperrt angezeigt. Bitte prüfen Sie die Sperrung.",
    "priority": "normal",
}
# Share of each kind of request in the traffic.
MIX = {
    "list": 35,
    "file": 20,
    "read": 15,
    "answer": 12,
    "mail_in": 10,
    "mailing": 8,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class CountingSink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += len(envelope.rcpt_tos)
        return "250 OK"

    count = 0


def start_processes(
    env: dict[str, str], web_port: int, logs: Path
) -> dict[str, subprocess.Popen[bytes]]:
    """The processes under test; each one's output goes to ``logs/<name>.log``."""

    def spawn(name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (logs / f"{name}.log").open("wb")
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)

    web = [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{web_port}",
        "--workers",
        "2",
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--keep-alive",
        "30",
        "helpdesk.wsgi:app",
    ]
    return {
        "web": spawn("web", web),
        "worker-1": spawn("worker-1", [str(BIN / "helpdesk"), "worker"]),
        "worker-2": spawn("worker-2", [str(BIN / "helpdesk"), "worker"]),
        "mail-in": spawn("mail-in", [str(BIN / "helpdesk"), "mail-in", "serve"]),
    }


def tracebacks(logs: Path) -> list[str]:
    """The last lines of every traceback the processes logged."""
    found = []
    for log in sorted(logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        for index, line in enumerate(lines):
            if line.startswith("Traceback"):
                end = next(
                    (i for i in range(index + 1, len(lines)) if not lines[i].startswith(" ")),
                    len(lines) - 1,
                )
                found.append(f"{log.name}: {lines[end][:300]}")
    return found


def wait_for_http(port: int, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the web app did not start")


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class Client:
    """One keep-alive HTTP connection, optionally carrying a session cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed meanwhile: open a new one once.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        for value in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(value)
            self.cookie = "; ".join(f"{k}={m.value}" for k, m in cookie.items())
        return response.status, data


def csrf(page: bytes) -> str:
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1).decode()


class Traffic:
    def __init__(self, port: int, lmtp_port: int, tokens: dict[str, str], mailing_id: int) -> None:
        self.port, self.lmtp_port, self.mailing_id = port, lmtp_port, mailing_id
        self.customer = {"Authorization": f"Bearer {tokens[CUSTOMER]}"}
        self.ops = {"Authorization": f"Bearer {tokens[OPS]}"}
        self.numbers: list[str] = []
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.done: Counter[str] = Counter()
        self.mail_ids = itertools.count(1)
        self.local = threading.local()

    def clients(self) -> tuple[Client, Client]:
        if not hasattr(self.local, "api"):
            self.local.api = Client(self.port)
            self.local.agent = Client(self.port)
            self.local.agent_csrf = self._sign_in(self.local.agent)
        return self.local.api, self.local.agent

    def _sign_in(self, agent: Client) -> str:
        _status, page = agent.request("GET", "/anmelden")
        body = urlencode({"csrf_token": csrf(page), "email": AGENT, "password": PASSWORD})
        status, _ = agent.request(
            "POST",
            "/anmelden",
            body.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302, f"agent sign-in answered {status}"
        _status, page = agent.request("GET", "/konsole")
        return csrf(page)

    def run(self, kind: str) -> None:
        started = time.perf_counter()
        try:
            outcome = getattr(self, kind)()
        except Exception as error:  # every failure is counted and reported, none ends the run
            outcome = f"{type(error).__name__}: {error}"
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[kind].append(elapsed)
            self.done[kind] += 1
            if outcome:
                self.errors.append(f"{kind}: {outcome}")

    def _expect(self, status: int, wanted: int, data: bytes) -> str | None:
        return None if status == wanted else f"HTTP {status}: {data[:200]!r}"

    def list(self) -> str | None:
        api, _ = self.clients()
        status, data = api.request("GET", "/api/v1/tickets?limit=20", headers=self.customer)
        return self._expect(status, 200, data)

    def file(self) -> str | None:
        api, _ = self.clients()
        body = json.dumps({**TICKET, "text": f"{TICKET['text']} ({uuid.uuid4().hex[:8]})"})
        headers = {**self.customer, "Content-Type": "application/json"}
        status, data = api.request("POST", "/api/v1/tickets", body.encode(), headers)
        if status == 201:
            with self.lock:
                self.numbers.append(json.loads(data)["number"])
        return self._expect(status, 201, data)

    def _some_number(self) -> str | None:
        with self.lock:
            return random.choice(self.numbers[-200:]) if self.numbers else None

    def read(self) -> str | None:
        api, _ = self.clients()
        number = self._some_number()
        if number is None:
            return self.list()
        status, data = api.request("GET", f"/api/v1/tickets/{number}", headers=self.customer)
        return self._expect(status, 200, data)

    def answer(self) -> str | None:
        _, agent = self.clients()
        number = self._some_number()
        if number is None:
            return self.list()
        body = urlencode(
            {"csrf_token": self.local.agent_csrf, "text": "Die Sperre ist aufgehoben."}
        )
        status, data = agent.request(
            "POST",
            f"/konsole/tickets/{number}/antwort",
            body.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        return self._expect(status, 302, data)

    def mailing(self) -> str | None:
        api, _ = self.clients()
        status, data = api.request("GET", f"/api/v1/mailings/{self.mailing_id}", headers=self.ops)
        return self._expect(status, 200, data)

    def mail_in(self) -> str | None:
        n = next(self.mail_ids)
        sender = f"kunde{n}@haendler{n % 97}.example"
        number = self._some_number() if n % 3 == 0 else None
        subject = f"Re: [{number}] Zugang gesperrt" if number else f"Frage {n} zur Wawi"
        message = (
            f"From: Kunde {n} <{sender}>\r\nTo: support@support.example.com\r\n"
            f"Subject: {subject}\r\nMessage-ID: <soak-{n}-{uuid.uuid4().hex}@haendler.example>\r\n"
            "Date: Mon, 02 Mar 2026 09:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"\r\nBitte melden Sie sich. Nachricht {n}.\r\n"
        )
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=60) as lmtp:
            refused = lmtp.sendmail(sender, ["support@support.example.com"], message.encode())
        return f"refused {refused}" if refused else None


def drive(traffic: Traffic, seconds: float) -> float:
    kinds = [kind for kind, share in MIX.items() for _ in range(share)]
    work: queue.Queue[str | None] = queue.Queue(maxsize=CLIENT_THREADS * 4)

    def client() -> None:
        while (kind := work.get()) is not None:
            traffic.run(kind)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < seconds:
        # Requests are offered on schedule; when the service falls behind, the queue to the
        # clients fills and the offer waits (never past the end): the achieved rate says so.
        due = int(elapsed * RATE)
        while sent < due and time.monotonic() - start < seconds:
            try:
                work.put(random.choice(kinds), timeout=0.1)
            except queue.Full:
                continue
            sent += 1
        time.sleep(0.005)
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()
    return sent / (time.monotonic() - start)


def prepare(env: dict[str, str]) -> tuple[dict[str, str], int]:
    """Empty the database and migrate it, seed the demo data, add ACCOUNTS accounts; a mailing
    to all of them, approved."""
    from sqlalchemy import create_engine, text

    from helpdesk.migrate import model_metadata

    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as connection:
        model_metadata().drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    subprocess.run([str(BIN / "helpdesk"), "db", "upgrade"], env=env, check=True)
    seeded = subprocess.run(
        [str(BIN / "helpdesk"), "seed", "demo", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    tokens = {user["email"]: user["token"] for user in json.loads(seeded.stdout)["users"]}
    os.environ.update(env)
    from helpdesk.runtime import current

    add_accounts(current(), ACCOUNTS)
    body = Path(tempfile.mkstemp(suffix=".md")[1])
    body.write_text("Am 4. Mai ist die Cloud von 6 bis 8 Uhr nicht erreichbar.\n")
    created = subprocess.run(
        [
            *(str(BIN / "helpdesk"), "mailings", "create", "--family", "JTL-Wawi"),
            *("--purpose", "maintenance", "--subject", "Wartungsfenster 4. Mai"),
            *("--body-file", str(body), "--audience", "all", "--as", "ops-a@support.example.com"),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    mailing_id = int(created.stdout.strip().splitlines()[-1])
    subprocess.run(
        [str(BIN / "helpdesk"), "mailings", "approve", str(mailing_id), "--as", "ops-b@x.example"],
        env=env,
        check=True,
        capture_output=True,
    )
    return tokens, mailing_id


def add_accounts(runtime: Any, count: int) -> None:
    """``count`` accounts beside the demo ones: an info@ first contact, a critical contact
    person and an emergency list entry each (three recipients of a mailing to all)."""
    from sqlalchemy import insert, select

    from accounts.models import Account, ContactPerson, DistributionListEntry

    with runtime.db.engine.begin() as connection:
        connection.execute(
            insert(Account),
            [
                {
                    "customer_number": f"S{n:07d}",
                    "company": f"Händler {n} GmbH & Co. KG",
                    "edition": ("start", "advanced", "pro", "enterprise")[n % 4],
                    "first_contact": f"info@firma{n}.example",
                    "first_contact_key": f"info@firma{n}.example",
                }
                for n in range(1, count + 1)
            ],
        )
        ids = connection.execute(
            select(Account.id, Account.customer_number).where(Account.customer_number.like("S%"))
        ).all()
        connection.execute(
            insert(ContactPerson),
            [
                {
                    "account_id": account_id,
                    "first_name": "Erika",
                    "last_name": f"Muster {number}",
                    "email": f"chef@{number.lower()}.example",
                    "email_key": f"chef@{number.lower()}.example",
                    "receives_critical": True,
                }
                for account_id, number in ids
            ],
        )
        connection.execute(
            insert(DistributionListEntry),
            [
                {
                    "account_id": account_id,
                    "purpose": "emergency",
                    "email": f"admin@{number.lower()}.example",
                    "email_key": f"admin@{number.lower()}.example",
                }
                for account_id, number in ids
            ],
        )


def states(runtime: Any) -> tuple[dict[str, int], dict[str, int]]:
    with runtime.db.engine.connect() as connection:
        outbox = dict(
            connection.exec_driver_sql(
                "SELECT state, count(*) FROM outbound_messages GROUP BY state"
            ).all()
        )
        deliveries = dict(
            connection.exec_driver_sql(
                "SELECT state, count(*) FROM mailing_deliveries GROUP BY state"
            ).all()
        )
    return outbox, deliveries


def main() -> int:
    var_dir = Path(tempfile.mkdtemp(prefix="soak-"))
    from tests.support import EmbeddedRedis

    redis_server = EmbeddedRedis(var_dir / "redis").start()
    sink = CountingSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    web_port, lmtp_port = free_port(), free_port()
    env = {
        **os.environ,
        "HELPDESK_ENV": "production",
        "HELPDESK_VAR_DIR": str(var_dir),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{var_dir / 'soak.db'}"),
        "REDIS_URL": redis_server.url,
        "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "MAIL_IN_PORT": str(lmtp_port),
        "MAILING_RATE": MAILING_RATE,
        "MAILING_BATCH_SIZE": "200",
        "MAIL_IN_TICKETS_PER_HOUR": "100000",
        "LOG_LEVEL": "WARNING",
    }
    tokens, mailing_id = prepare(env)
    logs = var_dir / "logs"
    logs.mkdir()
    processes = start_processes(env, web_port, logs)
    samples: list[tuple[float, dict[str, int]]] = []
    sampling = threading.Event()
    try:
        wait_for_http(web_port, "/healthz")
        time.sleep(1)
        started = subprocess.run(
            [str(BIN / "helpdesk"), "mailings", "send", str(mailing_id), "--as", "ops-b@x.example"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        print(started.stdout.strip(), flush=True)
        traffic = Traffic(web_port, lmtp_port, tokens, mailing_id)

        def sample() -> None:
            began = time.monotonic()
            while not sampling.wait(timeout=0 if not samples else SAMPLE_EVERY):
                memory = {}
                for name, process in processes.items():
                    for pid in process_tree(process.pid):
                        memory[f"{name}:{pid}"] = rss_kib(pid)
                memory[f"redis:{redis_server.process.pid}"] = rss_kib(redis_server.process.pid)
                samples.append((time.monotonic() - began, memory))
                print(
                    f"  {samples[-1][0]:6.0f} s  {sum(traffic.done.values()):6d} requests,"
                    f" {len(traffic.errors)} errors, mail sink {sink.count}",
                    flush=True,
                )

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        achieved = drive(traffic, SECONDS)
        from helpdesk.runtime import current

        runtime = current()
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            outbox, deliveries = states(runtime)
            open_rows = sum(outbox.get(s, 0) for s in ("queued", "sending", "deferred"))
            open_records = sum(deliveries.get(s, 0) for s in ("queued", "sending", "deferred"))
            if not open_rows and not open_records:
                break
            time.sleep(2)
        outbox, deliveries = states(runtime)
        sampling.set()
        sampler.join()
        crashed = [name for name, process in processes.items() if process.poll() is not None]
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(timeout=30)
        smtp.stop()
        redis_server.stop()
    for line in tracebacks(logs):
        print(f"  logged: {line}")
    return report(traffic, achieved, samples, outbox, deliveries, sink.count, crashed)


def report(
    traffic: Traffic,
    achieved: float,
    samples: list[tuple[float, dict[str, int]]],
    outbox: dict[str, int],
    deliveries: dict[str, int],
    mailed: int,
    crashed: list[str],
) -> int:
    total = sum(traffic.done.values())
    print(
        f"\nsoak: {SECONDS:.0f} s, {total} requests ({achieved:.1f}/s),"
        f" {len(traffic.errors)} errors"
    )
    for kind, latencies in sorted(traffic.latencies.items()):
        ordered = sorted(latencies)
        p95 = ordered[int(len(ordered) * 0.95) - 1] if ordered else 0
        print(
            f"  {kind:<8} {len(ordered):6d}  median {statistics.median(ordered) * 1000:6.1f} ms"
            f"  p95 {p95 * 1000:6.1f} ms  max {ordered[-1] * 1000:7.1f} ms"
        )
    for error in traffic.errors[:10]:
        print(f"  error: {error}")
    warm = next((memory for elapsed, memory in samples if elapsed >= 60), samples[0][1])
    middle = next((m for elapsed, m in samples if elapsed >= SECONDS / 2), samples[-1][1])
    end = [m for elapsed, m in samples if elapsed <= SECONDS + SAMPLE_EVERY][-1]
    grown = []
    print("resident memory (MiB): at 1 min, half-time, end of traffic, after the drain (max)")
    for process in sorted(end):
        peak = max(memory.get(process, 0) for _elapsed, memory in samples)
        figures = [m.get(process, 0) / 1024 for m in (warm, middle, end, samples[-1][1])]
        print(
            f"  {process:<18} " + " ".join(f"{f:7.1f}" for f in figures) + f" ({peak / 1024:.1f})"
        )
        before, after = middle.get(process, 0), end[process]
        # Redis holds data, not code: its memory follows the queued jobs and the results kept
        # for their TTL, so it is shown but not judged.
        if not process.startswith("redis") and before and after > before * (1 + RSS_GROWTH_LIMIT):
            grown.append(process)
    print(f"outbox rows by state: {outbox}")
    print(f"mailing delivery records by state: {deliveries}; messages received: {mailed}")
    sending = outbox.get("sending", 0) + deliveries.get("sending", 0)
    failed = traffic.errors or sending or grown or crashed
    if crashed:
        print(f"processes that died: {crashed}")
    if grown:
        print(f"memory grew by more than {RSS_GROWTH_LIMIT:.0%}: {grown}")
    print("soak: FAILED" if failed else "soak: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
