"""The burst: tickets at a fixed rate through the API, then every acknowledgement sent.

The real stack on loopback: gunicorn with the app (gthread workers), ``helpdesk worker``
processes on the mail queue, an SMTP sink in this process. Clients send ``RATE`` tickets per
second for ``SECONDS`` seconds on a fixed schedule (open loop: a slow server makes requests
late, it does not lower the offered rate silently; the lag is printed). Then the bench
waits until every acknowledgement is sent, and prints when the last one left relative to
the end of the burst (aim: within ``SECONDS`` more), the CPU of each part per ticket and the
load average.

    DATABASE_URL=postgresql+psycopg://... REDIS_URL=redis://... .venv/bin/python bench/burst.py
    BURST_RATE=150 BURST_SECONDS=20 BURST_WORKERS=3 WEB_WORKERS=2 WEB_THREADS=4  (defaults)
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _cpu import CpuMeter  # noqa: E402
from intake import TICKET, free_port, prepare, wait_live  # noqa: E402

from tests.support import EmbeddedRedis, SmtpSink  # noqa: E402

RATE = int(os.environ.get("BURST_RATE", "150"))
SECONDS = int(os.environ.get("BURST_SECONDS", "20"))
MAIL_WORKERS = int(os.environ.get("BURST_WORKERS", "3"))
WEB_WORKERS = int(os.environ.get("WEB_WORKERS", "2"))
WEB_THREADS = int(os.environ.get("WEB_THREADS", "4"))
CLIENTS = 16
AFTER_SECONDS = 120  # how long to wait for the acknowledgements before giving up


def serve(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [
        str(gunicorn),
        f"--bind=127.0.0.1:{port}",
        f"--workers={WEB_WORKERS}",
        "--worker-class=gthread",
        f"--threads={WEB_THREADS}",
        "--keep-alive=30",
        "--reuse-port",
        "--log-level=warning",
        "helpdesk.wsgi:app",
    ]
    return wait_live(subprocess.Popen(command, env=env, cwd=ROOT), port, 60, "gunicorn")


def burst(port: int, token: str) -> tuple[list[float], list[float], int]:
    """(latencies, lateness of each request against its schedule, failures)."""
    body = json.dumps(TICKET).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    total = RATE * SECONDS
    start = time.monotonic() + 0.5
    latencies: list[float] = []
    lateness: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for number in range(index, total, CLIENTS):
            due = start + number / RATE
            time.sleep(max(0.0, due - time.monotonic()))
            sent = time.monotonic()
            try:
                connection.request("POST", "/api/v1/tickets", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 201
            except OSError:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                ok = False
            with lock:
                latencies.append(time.monotonic() - sent)
                lateness.append(sent - due)
                failures[0] += 0 if ok else 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, lateness, failures[0]


def warm_up(port: int, token: str, redis_url: str, sink: SmtpSink) -> None:
    """Wait for every worker to register, and file a few tickets first: each web and mail
    process imports and connects before the meter starts."""
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(redis_url)
    deadline = time.monotonic() + 120
    while Worker.count(connection=connection) < MAIL_WORKERS:
        if time.monotonic() > deadline:
            raise SystemExit("the mail workers did not start")
        time.sleep(0.2)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    warm = 4 * WEB_WORKERS * WEB_THREADS

    def one() -> None:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        client.request("POST", "/api/v1/tickets", body=json.dumps(TICKET), headers=headers)
        client.getresponse().read()

    threads = [threading.Thread(target=one) for _ in range(warm)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sink.wait_for(warm, timeout=120)
    sink.reset()


def sent_and_filed(database_url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        sent = connection.scalar(
            text("SELECT count(*) FROM outbound_messages WHERE state = 'sent'")
        )
        filed = connection.scalar(text("SELECT count(*) FROM tickets"))
    engine.dispose()
    return int(sent or 0), int(filed or 0)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    sink = SmtpSink().start()
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as directory:
        env = dict(os.environ)
        env.update(
            HELPDESK_VAR_DIR=directory,
            HELPDESK_ENV="production",
            LOG_LEVEL="WARNING",
            SMTP_URL=sink.url,
            PYTHONPATH=str(ROOT),
        )
        redis_server = None
        if "REDIS_URL" not in env:
            redis_server = EmbeddedRedis(Path(directory) / "redis").start()
            env["REDIS_URL"] = redis_server.url
        token = prepare(env)
        database_url = env.get("DATABASE_URL") or f"sqlite:///{directory}/helpdesk.db"
        port = free_port()
        web = serve(port, env)
        helpdesk = str(Path(sys.executable).parent / "helpdesk")
        workers = [
            subprocess.Popen([helpdesk, "worker", "--queue", "mail"], env=env, cwd=ROOT)
            for _ in range(MAIL_WORKERS)
        ]
        pids = {f"worker{n}": worker.pid for n, worker in enumerate(workers)}
        meter = CpuMeter({"bench (clients, SMTP sink)": os.getpid(), **pids}, {"web": web.pid})
        try:
            warm_up(port, token, env["REDIS_URL"], sink)
            load_before = os.getloadavg()
            meter.start()
            began = time.monotonic()
            latencies, lateness, failures = burst(port, token)
            ended = time.monotonic()
            filed = len(latencies) - failures
            last_sent_at = None
            while time.monotonic() < ended + AFTER_SECONDS:
                if len(sink.received) >= filed:
                    last_sent_at = time.monotonic()
                    break
                time.sleep(0.05)
            cpu = meter.stop()
            load_after = os.getloadavg()
            sent, stored = sent_and_filed(database_url)
            sent -= 4 * WEB_WORKERS * WEB_THREADS
            stored -= 4 * WEB_WORKERS * WEB_THREADS
        finally:
            web.terminate()
            for worker in workers:
                worker.terminate()
            web.wait(timeout=30)
            for worker in workers:
                worker.wait(timeout=30)
            if redis_server is not None:
                redis_server.stop()
            sink.stop()
    database = "PostgreSQL" if "postgresql" in database_url else "SQLite"
    print(
        f"burst: {RATE} tickets/s offered for {SECONDS} s through POST /api/v1/tickets; "
        f"{database}; gunicorn {WEB_WORKERS}x{WEB_THREADS} gthread, {MAIL_WORKERS} mail workers"
    )
    print(f"  filed: {filed} of {RATE * SECONDS} in {ended - began:.1f} s ({failures} failed)")
    p50, p99 = statistics.median(latencies) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"  achieved: {filed / (ended - began):.0f} tickets/s; latency p50 {p50:.0f} ms, "
        f"p99 {p99:.0f} ms; requests late against the schedule by up to {max(lateness):.1f} s"
    )
    if last_sent_at is None:
        print(
            f"  acknowledgements: {len(sink.received)} of {filed} sent within "
            f"{AFTER_SECONDS} s after the burst (aim: all within {SECONDS} s)"
        )
    else:
        print(
            f"  acknowledgements: all {filed} sent {last_sent_at - ended:.1f} s after the last "
            f"request (aim: within {SECONDS} s); {sent} rows sent, {stored} tickets stored"
        )
    print(
        "  CPU ms per ticket: "
        + ", ".join(f"{name} {seconds / max(filed, 1) * 1000:.1f}" for name, seconds in cpu.items())
        + f"; total {sum(cpu.values()) / max(filed, 1) * 1000:.1f}"
    )
    print(
        f"  load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
        f"({os.cpu_count()} cores, shared)"
    )


if __name__ == "__main__":
    main()
