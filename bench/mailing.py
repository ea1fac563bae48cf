"""Mandatory mailing end to end, against the naive way, with the SMTP server as a reference.

Builds N synthetic accounts (about three recipients each after de-duplication), sends one
mailing through real `helpdesk worker` processes into a local aiosmtpd server in its own
process, and prints in one run:

- end to end: recipients per second from `start_sending` (audience resolution included) until
  every delivery record is finished;
- naive: one RQ job per message, a new SMTP connection per message, Jinja rendering and CSS
  inlining per message, and both DKIM signatures (Ed25519 and RSA, relaxed/relaxed, the same
  headers) computed by dkimpy, which is what most Flask apps do; on a sample;
- reference: unsigned messages per second the SMTP server takes on one connection from this
  process (not an upper bound: the workers send over one connection each, in parallel);
- CPU milliseconds per message of every process involved (workers, Redis, the bench process
  that resolves the audience and enqueues, the SMTP server), the machine-independent figure;
- peak RSS of the worker processes for two values of N (memory must be flat in N);
- proof of delivery: seconds and peak Python memory to stream the signed CSV export of a
  mailing with 100,000 recipients (each with an attempt), which must not grow with N.

The workers of both ways are started, and idle, before the clock and the CPU meter start, so
neither figure contains their start-up.

Usage: python bench/mailing.py [--accounts 20000] [--workers 2] [--naive 400] [--reference 3000]
       [--proof-recipients 100000]
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _cpu import CpuMeter, ms_per  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from accounts.models import Account, ContactPerson, DistributionListEntry  # noqa: E402
from helpdesk.config import load_settings  # noqa: E402
from helpdesk.migrate import upgrade  # noqa: E402
from helpdesk.runtime import Runtime, install  # noqa: E402
from tests.support import EmbeddedRedis, free_port, wait_until  # noqa: E402

SUBJECT = "DRINGEND: Update des Deutsche Fiskal Connectors bis 01.08.22"
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


# -- the workers ---------------------------------------------------------------------------------


class Workers:
    """``count`` `helpdesk worker` processes on the mail queue, up and idle once entered."""

    def __init__(self, env: dict[str, str], count: int, runtime: Runtime) -> None:
        self.env, self.count, self.runtime = env, count, runtime
        self.processes: list[subprocess.Popen[bytes]] = []
        self.peak_rss = 0

    def __enter__(self) -> Workers:
        from rq import Worker

        command = [str(ROOT / ".venv" / "bin" / "helpdesk"), "worker", "--queue", "mail"]
        self.processes = [
            subprocess.Popen(command, env=self.env, cwd=ROOT, stderr=subprocess.DEVNULL)
            for _ in range(self.count)
        ]

        def ready() -> bool:
            workers = Worker.all(self.runtime.redis)
            return len(workers) == self.count and all(w.state == "idle" for w in workers)

        wait_until(ready, timeout=60, what="the workers to be up and idle")
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)

    @property
    def pids(self) -> dict[str, int]:
        return {f"worker{n}": process.pid for n, process in enumerate(self.processes)}

    def wait(self, done: Callable[[], bool]) -> None:
        """Until ``done()``, sampling the workers' peak RSS; a worker that dies stops the run."""
        handles = [psutil.Process(process.pid) for process in self.processes]
        while not done():
            for handle in handles:
                self.peak_rss = max(self.peak_rss, handle.memory_info().rss)
            if any(process.poll() is not None for process in self.processes):
                raise SystemExit("a worker exited before its work was done")
            time.sleep(0.5)


@dataclass
class Run:
    """What one measured run did: units of work, wall seconds, CPU seconds per process."""

    units: int
    seconds: float
    cpu: dict[str, float]
    peak_rss: int = 0

    @property
    def rate(self) -> float:
        return self.units / self.seconds

    def cpu_of(self, prefix: str = "") -> float:
        """CPU seconds of the processes whose name starts with ``prefix`` (all for "")."""
        return sum(seconds for name, seconds in self.cpu.items() if name.startswith(prefix))

    def ms_per_unit(self, prefix: str = "") -> float:
        return self.cpu_of(prefix) / self.units * 1000

    def cpu_line(self) -> str:
        labels = {"worker": "workers", "redis": "Redis", "bench": "bench process", "smtp": "SMTP"}
        shown = ", ".join(
            f"{label} {ms_per(self.cpu_of(prefix), self.units)}"
            for prefix, label in labels.items()
            if any(name.startswith(prefix) for name in self.cpu)
        )
        return f"{ms_per(self.cpu_of(), self.units)} ({shown})"


# -- the measurements ----------------------------------------------------------------------------


def reference(port: int, raw: bytes, messages: int, server_pid: int) -> Run:
    """Unsigned messages over one connection from this process: what SMTP alone costs."""
    client = smtplib.SMTP("127.0.0.1", port)
    meter = CpuMeter({"bench": os.getpid(), "smtp": server_pid}).start()
    started = time.perf_counter()
    for n in range(messages):
        client.sendmail("bench@support.example.com", [f"r{n}@firma{n}.example"], raw)
    elapsed = time.perf_counter() - started
    cpu = meter.stop()
    client.quit()
    return Run(messages, elapsed, cpu)


def naive_job(to: str, company: str, customer_number: str) -> None:
    """One message the naive way: render the templates and inline the CSS for this recipient,
    build it with the email package, sign it with dkimpy exactly as the real path signs (Ed25519
    and RSA-SHA256, relaxed/relaxed, the same headers), open a new connection, send."""
    import css_inline
    import dkim

    from helpdesk.labels import label
    from helpdesk.runtime import current
    from notifications import dkim_fast, messages, rendering
    from notifications.mailings import composing

    runtime = current()
    settings = runtime.settings
    text, html = rendering.render(
        composing.TEMPLATE,
        {
            "subject": SUBJECT,
            "product_family": "JTL-Wawi",
            "banner_colour": "#2C6FB7",
            "purpose_label": label("outage", "purpose"),
            "body_text": BODY.strip(),
            "body_html": _body_html(),
            "company": company,
            "customer_number": customer_number,
            "portal_url": settings.public_url,
            "ticket_url": f"{settings.public_url}/support/tickets/new",
            "dkim_domain": settings.dkim_domain,
            "original_subject": None,
        },
    )
    message = messages.build_message(
        sender=Address("Kundencenter – Wichtiger Hinweis", addr_spec=settings.mail_from),
        recipient=to,
        subject=SUBJECT,
        text=text,
        html=css_inline.inline(html),
        message_id=messages.new_message_id(settings.mail_domain),
    )
    raw = message.as_bytes()
    signatures = b"".join(
        dkim.sign(
            raw,
            key.selector.encode(),
            settings.dkim_domain.encode(),
            key.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(dkim_fast.SIGNED_HEADERS),
            signature_algorithm=key.algorithm.encode(),
            linesep=b"\r\n",
        )
        for key in runtime.dkim_keys
    )
    client = smtplib.SMTP("127.0.0.1", int(settings.smtp_url.rsplit(":", 1)[1]))
    client.sendmail(settings.mail_from, [to], signatures + raw)
    client.quit()


@functools.cache
def _body_html() -> Any:
    """The body's HTML is the same for every recipient: even the naive way renders it once."""
    from notifications.mailings.composing import body_html

    return body_html(BODY, "markdown")


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


def prepared_runtime(var_dir: Path, redis: EmbeddedRedis, port: int) -> tuple[dict, Runtime]:
    env = environment(var_dir, redis.url, port)
    os.environ.update(env)
    settings = load_settings(env)
    upgrade(settings)
    runtime = install(Runtime(settings))
    runtime.redis.flushdb()
    runtime.dkim_keys  # noqa: B018 - generate the keys before the workers race for them
    return env, runtime


def end_to_end(
    base: Path, accounts: int, redis: EmbeddedRedis, port: int, server_pid: int, workers: int
) -> tuple[dict[str, int], Run, float]:
    """(delivery states, the run, seconds of audience resolution) of one mailing."""
    from notifications.mailings import services as mailing_services
    from notifications.mailings.composing import MailingDraft

    env, runtime = prepared_runtime(base / f"e2e-{accounts}", redis, port)
    build_accounts(runtime, accounts)
    mailing = mailing_services.create_mailing(
        runtime,
        MailingDraft(product_family="JTL-Wawi", purpose="outage", subject=SUBJECT, body=BODY),
        "bench",
    )

    def finished() -> bool:
        return mailing_services.progress(runtime, mailing.id, domains=0).finished

    with Workers(env, workers, runtime) as pool:
        assert redis.process is not None
        meter = CpuMeter(
            {**pool.pids, "redis": redis.process.pid, "bench": os.getpid(), "smtp": server_pid}
        ).start()
        started = time.perf_counter()
        mailing_services.start_sending(runtime, mailing.id, "bench")
        resolved = time.perf_counter() - started
        pool.wait(finished)
        elapsed = time.perf_counter() - started
        cpu = meter.stop()
    counts = mailing_services.progress(runtime, mailing.id, domains=0).counts
    runtime.db.dispose()
    return counts, Run(sum(counts.values()), elapsed, cpu, pool.peak_rss), resolved


def naive(
    base: Path,
    redis: EmbeddedRedis,
    port: int,
    server_pid: int,
    received: Any,
    workers: int,
    messages: int,
) -> Run:
    """``messages`` naive jobs; the clock starts with the first enqueue, the workers idle."""
    from rq import Queue

    env, runtime = prepared_runtime(base / "naive", redis, port)
    queue = Queue("mail", connection=runtime.redis)
    with Workers(env, workers, runtime) as pool:
        assert redis.process is not None
        expected = received.value + messages
        meter = CpuMeter(
            {**pool.pids, "redis": redis.process.pid, "bench": os.getpid(), "smtp": server_pid}
        ).start()
        started = time.perf_counter()
        for n in range(messages):
            # By name: run as a script, this module is __main__, which the workers cannot import.
            queue.enqueue(
                "mailing.naive_job", f"info@firma{n}.example", f"Händler {n} GmbH", f"K{n:07d}"
            )
        pool.wait(lambda: received.value >= expected)
        elapsed = time.perf_counter() - started
        cpu = meter.stop()
    return Run(messages, elapsed, cpu, pool.peak_rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--naive", type=int, default=400, help="messages sent the naive way")
    parser.add_argument("--reference", type=int, default=3000, help="messages for the reference")
    parser.add_argument("--proof-recipients", type=int, default=100_000)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-mailing-"))
    redis = EmbeddedRedis(base / "redis").start()
    port = free_port()
    context = multiprocessing.get_context("spawn")
    received, ready = context.Value("l", 0), context.Event()
    server = context.Process(target=_serve, args=(port, received, ready), daemon=True)
    server.start()
    ready.wait(10)
    try:
        small = max(args.accounts // 4, 100)
        counts_small, run_small, _ = end_to_end(base, small, redis, port, server.pid, args.workers)
        counts, run, resolve_seconds = end_to_end(
            base, args.accounts, redis, port, server.pid, args.workers
        )
        from helpdesk.runtime import current
        from notifications import dkim_fast

        raw = _sample_message(current())
        signed_size = len(dkim_fast.sign(raw, "support.example.com", current().dkim_keys))
        smtp_alone = reference(port, raw, args.reference, server.pid)
        naive_run = naive(base, redis, port, server.pid, received, args.workers, args.naive)
    finally:
        server.kill()
        redis.stop()
    print(f"accounts: {args.accounts}, recipients: {run.units}, workers: {args.workers}")
    print(f"delivery states: {counts}")
    print(f"message size: {len(raw)} bytes unsigned, {signed_size} signed")
    print(f"audience resolution: {resolve_seconds:.2f} s")
    print(f"end to end: {run.rate:8.1f} recipients/s ({run.seconds:.1f} s)")
    print(f"naive:      {naive_run.rate:8.1f} recipients/s ({args.naive} messages)")
    print(f"reference:  {smtp_alone.rate:8.1f} messages/s (SMTP alone: one connection, unsigned)")
    print("CPU per message, all processes (of which):")
    print(f"  end to end: {run.cpu_line()}")
    print(f"  naive:      {naive_run.cpu_line()}")
    print(f"  reference:  {smtp_alone.cpu_line()}")
    worker_ms = run.ms_per_unit("worker")
    print(f"worker CPU per message: {worker_ms:.2f} ms (aim <= 1.5 ms)")
    print(f"worker CPU, naive / end to end: {naive_run.ms_per_unit('worker') / worker_ms:.1f}x")
    print(f"total CPU, naive / end to end:  {naive_run.ms_per_unit() / run.ms_per_unit():.1f}x")
    print(f"end to end / naive, recipients/s: {run.rate / naive_run.rate:.1f}x")
    print(f"end to end / reference, messages/s: {run.rate / smtp_alone.rate:.2f}")
    print(
        f"peak worker RSS: {run_small.peak_rss / 2**20:.0f} MiB at {small} accounts "
        f"({sum(counts_small.values())} recipients), {run.peak_rss / 2**20:.0f} MiB at "
        f"{args.accounts} accounts ({run.units} recipients)"
    )
    report_proof(base, args.proof_recipients)


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


def proof_export(base: Path, recipients: int) -> tuple[int, float, int, int]:
    """Stream the signed CSV proof of a finished mailing with ``recipients`` records.

    Returns (records, seconds, bytes written, peak traced memory in bytes of a second run).
    """
    import tracemalloc

    from sqlalchemy import func, literal, select, update

    from helpdesk.db import utcnow
    from notifications.mailings import audience, proof
    from notifications.mailings import services as mailing_services
    from notifications.mailings.composing import MailingDraft
    from notifications.mailings.models import Mailing, MailingAttempt, MailingDelivery

    var_dir = base / "proof"
    env = environment(var_dir, "redis://127.0.0.1:1/0", 25)
    settings = load_settings(env)
    upgrade(settings)
    runtime = Runtime(settings)
    build_accounts(runtime, -(-recipients // 3))  # three recipients per account
    mailing = mailing_services.create_mailing(
        runtime,
        MailingDraft(product_family="JTL-Wawi", purpose="outage", subject="Proof bench", body=BODY),
        "bench",
    )
    now = utcnow()
    with runtime.db.session() as session:
        stored = session.get(Mailing, mailing.id)
        audience.resolve(session, stored)
        stored.state, stored.started_at, stored.finished_at = "done", now, now
        session.execute(
            update(MailingDelivery).values(
                state="sent", attempts=1, sent_at=now, smtp_reply="250 OK"
            )
        )
        session.execute(
            insert(MailingAttempt).from_select(
                ["delivery_id", "attempted_at", "outcome", "smtp_code", "smtp_text"],
                select(
                    MailingDelivery.id,
                    literal(now, MailingAttempt.attempted_at.type),
                    literal("sent"),
                    literal(250),
                    literal("2.0.0 Ok: queued as 4F2A91C3E"),
                ),
            )
        )
        records = session.scalar(select(func.count()).select_from(MailingDelivery)) or 0
    stored = mailing_services.get_mailing(runtime, mailing.id)
    started = time.perf_counter()
    size = sum(len(chunk) for chunk in proof.export(runtime, stored, "csv"))
    seconds = time.perf_counter() - started
    tracemalloc.start()
    for _chunk in proof.export(runtime, stored, "csv"):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    runtime.db.dispose()
    return records, seconds, size, peak


def report_proof(base: Path, recipients: int) -> None:
    records, seconds, size, peak = proof_export(base, recipients)
    print(
        f"proof of delivery: {records} records exported and signed in {seconds:.1f} s "
        f"({records / seconds:,.0f} records/s, {size / 2**20:.0f} MiB CSV), "
        f"peak Python memory {peak / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
