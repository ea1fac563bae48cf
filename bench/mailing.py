"""Mandatory mailing end to end, against the naive way and the SMTP server's ceiling.

Builds N synthetic accounts (about three recipients each after de-duplication), sends one
mailing through real `helpdesk worker` processes into a local aiosmtpd server in its own
process, and prints in one run:

- end to end: recipients per second from `start_sending` (audience resolution included) until
  every delivery record is finished;
- naive: one RQ job per message, a new SMTP connection per message, Jinja rendering per
  message and dkimpy RSA signing (what most Flask apps do), on a sample;
- ceiling: raw messages per second the SMTP server takes on one connection, unsigned;
- peak RSS of the worker processes for two values of N (memory must be flat in N).

Usage: python bench/mailing.py [--accounts 20000] [--workers 2] [--naive 400]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from email.headerregistry import Address
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from accounts.models import Account, ContactPerson, DistributionListEntry  # noqa: E402
from helpdesk.config import load_settings  # noqa: E402
from helpdesk.migrate import upgrade  # noqa: E402
from helpdesk.runtime import Runtime, install  # noqa: E402
from tests.support import EmbeddedRedis, free_port  # noqa: E402

BODY = """Sehr geehrte Damen und Herren,

bitte aktualisieren Sie den **Deutsche Fiskal Connector** bis zum 01.08.22. Ältere Versionen
können ab diesem Tag keine Belege mehr signieren. Die neue Version und eine Anleitung finden Sie
im [Kundencenter](http://127.0.0.1:8000/downloads/fiskal).

1. Laden Sie das Update herunter.
2. Installieren Sie es auf jedem Kassenarbeitsplatz.
3. Prüfen Sie die Verbindung zur TSE.
"""


# -- the SMTP server, in its own process ---------------------------------------------------------


def _serve(port: int, counter: multiprocessing.Value, ready: multiprocessing.Event) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    ready.set()
    threading.Event().wait()


# -- synthetic accounts --------------------------------------------------------------------------


def build_accounts(runtime: Runtime, count: int) -> None:
    """``count`` accounts: info@ first contact, a critical contact person who is also on the
    emergency list (de-duplicated), a non-critical one, and an admin on the emergency list."""
    chunk = 5000
    with runtime.db.engine.begin() as connection:
        for start in range(0, count, chunk):
            numbers = range(start + 1, min(start + chunk, count) + 1)
            connection.execute(
                insert(Account),
                [
                    {
                        "id": n,
                        "customer_number": f"K{n:07d}",
                        "company": f"Händler {n} GmbH & Co. KG",
                        "edition": ("start", "advanced", "pro", "enterprise")[n % 4],
                        "first_contact": f"info@firma{n}.example",
                        "first_contact_key": f"info@firma{n}.example",
                    }
                    for n in numbers
                ],
            )
            people = []
            for n in numbers:
                for local, critical in (("chef", True), ("vertrieb", False)):
                    email = f"{local}@firma{n}.example"
                    people.append(
                        {
                            "account_id": n,
                            "first_name": "Erika",
                            "last_name": f"Muster {n}",
                            "email": email,
                            "email_key": email,
                            "receives_critical": critical,
                        }
                    )
            connection.execute(insert(ContactPerson), people)
            entries = [
                {
                    "account_id": n,
                    "purpose": "emergency",
                    "email": f"{local}@firma{n}.example",
                    "email_key": f"{local}@firma{n}.example".lower(),
                }
                for n in numbers
                for local in ("admin", "Chef")
            ]
            connection.execute(insert(DistributionListEntry), entries)


# -- the three measurements ----------------------------------------------------------------------


def ceiling(port: int, raw: bytes, messages: int) -> float:
    client = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for n in range(messages):
        client.sendmail("bench@support.example.com", [f"r{n}@firma{n}.example"], raw)
    elapsed = time.perf_counter() - started
    client.quit()
    return messages / elapsed


def naive_job(to: str, company: str, customer_number: str) -> None:
    """One message the naive way: render, dkimpy RSA sign, new connection, send."""
    import dkim

    from helpdesk.runtime import current
    from notifications import messages, rendering

    runtime = current()
    settings = runtime.settings
    rsa_key = runtime.dkim_keys[1]
    text, html = rendering.render(
        "mandatory_mailing",
        {
            "subject": "DRINGEND: Update des Deutsche Fiskal Connectors bis 01.08.22",
            "product_family": "JTL-Wawi",
            "banner_colour": "#2C6FB7",
            "purpose_label": "Sicherheitshinweis",
            "body_text": BODY,
            "body_html": BODY,
            "company": company,
            "customer_number": customer_number,
            "portal_url": settings.public_url,
            "ticket_url": settings.public_url,
            "dkim_domain": settings.dkim_domain,
            "original_subject": None,
        },
    )
    message = messages.build_message(
        sender=Address("Kundencenter", addr_spec=settings.mail_from),
        recipient=to,
        subject="DRINGEND: Update des Deutsche Fiskal Connectors bis 01.08.22",
        text=text,
        html=html,
        message_id=messages.new_message_id(settings.mail_domain),
    )
    raw = message.as_bytes()
    signature = dkim.sign(
        raw,
        rsa_key.selector.encode(),
        settings.dkim_domain.encode(),
        rsa_key.private_key,
        linesep=b"\r\n",
    )
    client = smtplib.SMTP("127.0.0.1", int(settings.smtp_url.rsplit(":", 1)[1]))
    client.sendmail(settings.mail_from, [to], signature + raw)
    client.quit()


def run_workers(
    env: dict[str, str], count: int, done: Callable[[], bool]
) -> tuple[float, int, float]:
    """Start ``count`` burst workers; return (seconds until ``done()``, peak RSS bytes, CPU
    seconds the workers used, as last sampled)."""
    command = [str(ROOT / ".venv" / "bin" / "helpdesk"), "worker", "--burst", "--queue", "mail"]
    started = time.perf_counter()
    workers = [
        subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    peak = 0
    handles = [psutil.Process(worker.pid) for worker in workers]
    cpu = dict.fromkeys(range(count), 0.0)
    while not done():
        for index, handle in enumerate(handles):
            with contextlib.suppress(psutil.NoSuchProcess):
                peak = max(peak, handle.memory_info().rss)
                times = handle.cpu_times()
                cpu[index] = times.user + times.system
        if all(worker.poll() is not None for worker in workers) and not done():
            raise SystemExit("workers exited before the mailing finished")
        time.sleep(0.5)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.wait(timeout=120)
    return elapsed, peak, sum(cpu.values())


def environment(var_dir: Path, redis_url: str, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "HELPDESK_ENV": "production",
        "HELPDESK_VAR_DIR": str(var_dir),
        "SECRET_KEY": "bench-secret",
        "DATABASE_URL": f"sqlite:///{var_dir / 'bench.db'}",
        "REDIS_URL": redis_url,
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "MAILING_BATCH_SIZE": "500",
        # Rates far above what the machine can do: the throttle runs, but does not limit.
        "MAILING_RATE": "100000",
        "MAILING_DOMAIN_RATE": "100000",
        "MAILING_APPROVAL_THRESHOLD": "100000000",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
    }


def end_to_end(base: Path, accounts: int, redis_url: str, port: int, workers: int) -> tuple:
    from notifications.mailings import services as mailing_services
    from notifications.mailings.composing import MailingDraft

    var_dir = base / f"e2e-{accounts}"
    env = environment(var_dir, redis_url, port)
    os.environ.update(env)
    settings = load_settings(env)
    upgrade(settings)
    runtime = install(Runtime(settings))
    runtime.redis.flushdb()
    build_accounts(runtime, accounts)
    mailing = mailing_services.create_mailing(
        runtime,
        MailingDraft(
            product_family="JTL-Wawi",
            purpose="outage",
            subject="DRINGEND: Update des Deutsche Fiskal Connectors bis 01.08.22",
            body=BODY,
        ),
        "bench",
    )
    started = time.perf_counter()
    mailing_services.start_sending(runtime, mailing.id, "bench")
    resolved = time.perf_counter() - started

    def finished() -> bool:
        return mailing_services.progress(runtime, mailing.id, domains=0).finished

    elapsed, peak, cpu = run_workers(env, workers, finished)
    status = mailing_services.progress(runtime, mailing.id, domains=0)
    runtime.db.dispose()
    return status.counts, resolved + elapsed, resolved, peak, cpu


def naive(base: Path, redis_url: str, port: int, workers: int, messages: int) -> float:
    from rq import Queue

    var_dir = base / "naive"
    env = environment(var_dir, redis_url, port)
    settings = load_settings(env)
    runtime = install(Runtime(settings))
    runtime.redis.flushdb()
    runtime.dkim_keys  # noqa: B018 - generate the keys before the workers race for them
    queue = Queue("mail", connection=runtime.redis)
    for n in range(messages):
        queue.enqueue(
            "mailing.naive_job", f"info@firma{n}.example", f"Händler {n} GmbH", f"K{n:07d}"
        )
    elapsed, _, _ = run_workers(env, workers, lambda: queue.count == 0 and _idle(runtime))
    return messages / elapsed


def _cpu_since(pid: int, before: Any) -> float:
    after = psutil.Process(pid).cpu_times()
    return after.user + after.system - before.user - before.system


def _idle(runtime: Runtime) -> bool:
    from rq import Worker

    return all(worker.get_current_job_id() is None for worker in Worker.all(runtime.redis))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--naive", type=int, default=400, help="messages sent the naive way")
    parser.add_argument("--ceiling", type=int, default=3000, help="messages for the ceiling")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-mailing-"))
    redis_server = EmbeddedRedis(base / "redis").start()
    port = free_port()
    context = multiprocessing.get_context("spawn")
    counter, ready = context.Value("l", 0), context.Event()
    server = context.Process(target=_serve, args=(port, counter, ready), daemon=True)
    server.start()
    ready.wait(10)
    try:
        small = max(args.accounts // 4, 100)
        counts_small, _, _, peak_small, _ = end_to_end(
            base, small, redis_server.url, port, args.workers
        )
        server_cpu = psutil.Process(server.pid).cpu_times()
        counts, seconds, resolve_seconds, peak, worker_cpu = end_to_end(
            base, args.accounts, redis_server.url, port, args.workers
        )
        server_cpu = _cpu_since(server.pid, server_cpu)
        recipients = sum(counts.values())
        from helpdesk.runtime import current
        from notifications import dkim_fast

        raw = _sample_message(current())
        signed_size = len(dkim_fast.sign(raw, "support.example.com", current().dkim_keys))
        ceiling_rate = ceiling(port, raw, args.ceiling)
        naive_rate = naive(base, redis_server.url, port, args.workers, args.naive)
    finally:
        server.kill()
        redis_server.stop()
    e2e_rate = recipients / seconds
    print(f"accounts: {args.accounts}, recipients: {recipients}, workers: {args.workers}")
    print(f"delivery states: {counts}")
    print(f"message size: {len(raw)} bytes unsigned, {signed_size} signed")
    print(f"audience resolution: {resolve_seconds:.2f} s")
    print(f"end to end: {e2e_rate:8.1f} recipients/s ({seconds:.1f} s)")
    print(f"naive:      {naive_rate:8.1f} recipients/s ({args.naive} messages)")
    print(f"ceiling:    {ceiling_rate:8.1f} messages/s (one connection, unsigned)")
    print(
        f"CPU per recipient: workers {worker_cpu / recipients * 1000:.2f} ms, "
        f"SMTP server {server_cpu / recipients * 1000:.2f} ms (2 cores for all)"
    )
    print(f"end to end / ceiling: {e2e_rate / ceiling_rate:.2f} (aim >= 0.5)")
    print(f"end to end / naive:   {e2e_rate / naive_rate:.1f}x (aim >= 10)")
    print(
        f"peak worker RSS: {peak_small / 2**20:.0f} MiB at {small} accounts "
        f"({sum(counts_small.values())} recipients), {peak / 2**20:.0f} MiB at "
        f"{args.accounts} accounts ({recipients} recipients)"
    )


def _sample_message(runtime: Runtime) -> bytes:
    from sqlalchemy import select

    from helpdesk.db import utcnow
    from notifications.mailings.messages import MessageFactory
    from notifications.mailings.models import Mailing

    with runtime.db.session() as session:
        mailing = session.scalars(select(Mailing)).first()
    return MessageFactory(runtime.settings, mailing).build(
        delivery_id=1,
        address="info@firma1.example",
        company="Händler 1 GmbH & Co. KG",
        customer_number="K0000001",
        date=utcnow(),
    )


if __name__ == "__main__":
    main()
