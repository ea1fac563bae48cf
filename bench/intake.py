"""Tickets filed per second over HTTP, next to a bare Flask endpoint parsing the same JSON.

Both run on gunicorn (the production WSGI server; gthread workers, so that connections stay
open) on loopback, driven by keep-alive clients, one after the other in this run. The intake
side is the real app: bearer-token sign-in, validation, routing, one transaction with the
ticket, its history entry and the acknowledgement in the outbox, then the Redis enqueue. The
bare side only parses the JSON and answers 201; it does a part of the intake's work on the
same server, so its rate is a ceiling for the intake's. The ratio is what to watch (aim: >=
1/3). Beside each rate, the CPU milliseconds per request of gunicorn (master and workers), the
clients in this process and the embedded redis-server (a PostgreSQL server's is not counted).

    .venv/bin/python bench/intake.py            # embedded SQLite and Redis
    DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/intake.py
    .venv/bin/python bench/intake.py --profile  # CPU per ticket in one process, and where
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, request

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _cpu import CpuMeter, ms_per  # noqa: E402

CLIENTS = 4
WARMUP_SECONDS = 1.0
SECONDS = 6.0
WORKERS = 2
THREADS = 2
TICKET = {
    "reply_to": "buchhaltung@mueller-handel.example",
    "product_family": "JTL-Kundenkonto",
    "component": "Fragen zu Firmendaten/Kundenkonto",
    "subject": "Zugang gesperrt",
    "text": "Unsere Wawi-Lizenz wird als gesperrt angezeigt. Bitte prüfen Sie die Sperrung.",
    "priority": "normal",
}

bare_app = Flask("bare")


@bare_app.post("/api/v1/tickets")
def bare_intake() -> Any:
    """The ceiling: parse the JSON like the real endpoint, store nothing."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return {"detail": "JSON expected"}, 400
    return {"number": "HD-000000", "subject": data.get("subject")}, 201


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(app_path: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "gthread",
        "--threads",
        str(THREADS),
        "--keep-alive",
        "30",
        # Each worker its own listening socket (SO_REUSEPORT), so that the kernel spreads the
        # keep-alive connections over the workers: on one shared socket the first worker up
        # took all of them and the other one idled. The spread is by hash, not guaranteed even.
        "--reuse-port",
        "--log-level",
        "warning",
        "--pythonpath",
        f"{ROOT},{ROOT / 'bench'}",
        app_path,
    ]
    return wait_live(subprocess.Popen(command, env=env), port, 30, app_path)


def wait_live(
    process: subprocess.Popen[bytes], port: int, seconds: float, what: str
) -> subprocess.Popen[bytes]:
    """``process`` once it answers /healthz/live; else it is stopped and the bench ends."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz/live")
            connection.getresponse().read()
            return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"{what} did not start")


def drive(port: int, headers: dict[str, str], meter: CpuMeter) -> tuple[float, str]:
    """(requests per second answered 201 by CLIENTS keep-alive connections over SECONDS, CPU
    milliseconds per request of the metered processes over the same SECONDS)."""
    body = json.dumps(TICKET).encode()
    headers = {"Content-Type": "application/json", **headers}
    counts = [0] * CLIENTS
    failures: list[str] = []
    start = time.monotonic() + WARMUP_SECONDS
    stop = start + SECONDS

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while (now := time.monotonic()) < stop:
            connection.request("POST", "/api/v1/tickets", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 201:
                failures.append(f"{response.status}")
                return
            if now >= start:
                counts[index] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, start - time.monotonic()))
    meter.start()
    time.sleep(max(0.0, stop - time.monotonic()))
    meter.stop()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"requests failed with HTTP {failures[0]}")
    return sum(counts) / SECONDS, ms_per(meter.total, sum(counts))


def prepare(env: dict[str, str]) -> str:
    """Migrate, and create an account with a customer user; return the user's API token."""
    os.environ.update(env)
    from accounts import tokens, users
    from accounts.models import Account
    from helpdesk.config import load_settings
    from helpdesk.migrate import upgrade
    from helpdesk.runtime import Runtime

    settings = load_settings()
    upgrade(settings)
    runtime = Runtime(settings)
    with runtime.db.session() as session:
        account = Account(customer_number="100001", company="Müller Handel GmbH")
        session.add(account)
    user = users.create_customer_user(
        runtime,
        account_id=account.id,
        email="bench@mueller-handel.example",
        password="Bench-Passwort-12345",
        permissions=("customer.tickets",),
        owner=False,
    )
    _token, plain = tokens.issue(runtime, user.id, "bench", ("customer.tickets",))
    runtime.db.dispose()
    return plain


PROFILED_TICKETS = 200


def profile(env: dict[str, str]) -> None:
    """CPU per ticket in this process: the request, then its acknowledgement, each profiled.

    The request goes through Flask's test client (no HTTP parsing, no gunicorn), the
    acknowledgement through the real RQ job in a burst worker to an SMTP sink, so the sums
    are the service's own CPU; the database server's CPU is not in them.
    """
    import cProfile
    import pstats

    from rq import SimpleWorker

    from helpdesk.app import create_app
    from helpdesk.config import load_settings
    from helpdesk.runtime import current
    from tests.support import SmtpSink

    sink = SmtpSink().start()
    env["SMTP_URL"] = sink.url
    token = prepare(env)
    app = create_app(load_settings(env))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(10):  # warm: first requests compile templates, open connections
        client.post("/api/v1/tickets", json=TICKET, headers=headers)
    runtime = current()
    worker = SimpleWorker([runtime.queue("mail")], connection=runtime.redis)
    worker.work(burst=True, with_scheduler=False)

    def requests() -> None:
        for _ in range(PROFILED_TICKETS):
            client.post("/api/v1/tickets", json=TICKET, headers=headers)

    def acknowledgements() -> None:
        worker.work(burst=True, with_scheduler=False)

    phases = {}
    # Measured without the profiler first (it doubles the cost of every call), then again
    # under it to see where the time goes; each round files and acknowledges its tickets.
    for profiled in (False, True):
        for name, work in (("request", requests), ("acknowledgement", acknowledgements)):
            profiler = cProfile.Profile(time.process_time)
            started = time.process_time()
            if profiled:
                profiler.enable()
            work()
            profiler.disable()
            if not profiled:
                phases[name] = (time.process_time() - started) / PROFILED_TICKETS * 1000
                continue
            print(f"\n== {name}: {phases[name]:.1f} ms CPU per ticket; where it goes ==")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(28)
    sink.stop()
    print(f"per ticket: {' + '.join(f'{v:.1f} ms {k}' for k, v in phases.items())}")


def main() -> None:
    from tests.support import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="bench-intake-") as directory:
        redis_server = None
        env = dict(os.environ)
        env.update(HELPDESK_VAR_DIR=directory, HELPDESK_ENV="production", LOG_LEVEL="WARNING")
        if "REDIS_URL" not in env:
            redis_server = EmbeddedRedis(Path(directory) / "redis").start()
            env["REDIS_URL"] = redis_server.url
        try:
            if "--profile" in sys.argv:
                profile(env)
                return
            token = prepare(env)
            results = {}
            for name, app_path, headers in (
                ("bare Flask endpoint (parse JSON only)", "intake:bare_app", {}),
                (
                    "ticket intake (sign-in, route, store)",
                    "helpdesk.wsgi:app",
                    {"Authorization": f"Bearer {token}"},
                ),
            ):
                port = free_port()
                process = serve(app_path, port, env)
                pids = {"bench": os.getpid()}
                if redis_server is not None and redis_server.process is not None:
                    pids["redis"] = redis_server.process.pid
                try:
                    results[name] = drive(port, headers, CpuMeter(pids, {"gunicorn": process.pid}))
                finally:
                    process.terminate()
                    process.wait(timeout=30)
        finally:
            if redis_server is not None:
                redis_server.stop()
    database = "PostgreSQL" if "postgresql" in env.get("DATABASE_URL", "") else "SQLite"
    print(
        f"gunicorn {WORKERS} gthread workers x {THREADS} threads, {CLIENTS} keep-alive clients, "
        f"{SECONDS:.0f} s each, {database}"
    )
    for name, (rate, cpu) in results.items():
        print(f"{name:<42} {rate:8.0f} req/s  {cpu:>9} CPU per request")
    (bare, _), (intake, _) = results.values()
    print(f"{'intake / ceiling':<42} {intake / bare:8.2f}   (aim: >= 0.33)")


if __name__ == "__main__":
    main()
