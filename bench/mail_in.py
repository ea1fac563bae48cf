"""Messages taken per second over LMTP, against the same LMTP server that takes nothing.

Both servers run in this process on the same messages, sent over one persistent connection
with smtplib's LMTP client. The ceiling is aiosmtpd's LMTP answering 250 without work (the
service's protocol part alone, so an upper bound for it); the service parses, classifies,
identifies the sender, routes, stores in SQLite (one transaction per message) and queues an
acknowledgement in Redis (embedded). The mix: 70 % new mail from distinct senders (each one a
ticket and an acknowledgement), 20 % replies threading by the ticket number, 10 %
out-of-office replies. Best of 3 runs, each on a fresh database. Beside each rate, the CPU
milliseconds per message over the 3 runs: this process (client and server) and the embedded
redis-server.

The service runs twice: without sender checks, and with ``MAIL_IN_SENDER_CHECK=dns`` against
a DNS server on loopback (dnslib, in this process) that publishes SPF, an Ed25519 DKIM key and
a DMARC policy for every sender domain; each message carries our MTA's Received header and a
DKIM signature. Each run starts with an empty resolver cache (the 20 % replies come from one
domain and hit it). The difference is what SPF, DKIM and DMARC cost without network latency;
a real resolver adds its round trips for each domain not yet in the cache.

    .venv/bin/python bench/mail_in.py
    .venv/bin/python bench/mail_in.py --profile  # CPU per message taken, and where it goes
"""

from __future__ import annotations

import base64
import os
import smtplib
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dkim
import nacl.signing
from _cpu import CpuMeter, ms_per
from aiosmtpd.controller import Controller

from helpdesk.config import load_settings
from helpdesk.listeners import listen
from helpdesk.migrate import upgrade
from helpdesk.runtime import Runtime
from tests.integration.inbound.dns_server import Zone, dns_server
from tests.support import EmbeddedRedis, free_port
from tickets.inbound.authentication import make_resolver
from tickets.inbound.lmtp import LMTPController, start_server

MESSAGES = 300
RUNS = 3
MAILBOX = "support@support.example.com"
SELECTOR = "bench"
CLIENT_IP = "198.51.100.7"


def messages(count: int, key: nacl.signing.SigningKey) -> list[bytes]:
    found = []
    for n in range(count):
        kind = n % 10
        if kind < 7:
            sender, subject, extra = f"kunde{n}@firma{n}.example", f"Frage {n} zu JTL-Wawi", ""
        elif kind < 9:
            sender, subject, extra = "kunde0@firma0.example", "AW: [HD-000001] Frage", ""
        else:
            sender, subject, extra = (
                "kunde1@firma1.example",
                "Abwesenheitsnotiz",
                ("Auto-Submitted: auto-replied\r\n"),
            )
        unsigned = (
            f"From: Kunde {n} <{sender}>\r\nTo: {MAILBOX}\r\nSubject: {subject}\r\n"
            f"Message-ID: <bench-{n}@firma.example>\r\n{extra}MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Guten Tag,\r\n\r\nin JTL-Wawi lässt sich der Auftrag nicht buchen.\r\n\r\n"
            "Am 02.11.2026 um 09:15 schrieb Support:\r\n> Vielen Dank.\r\n"
        ).encode()
        signature = dkim.sign(
            unsigned,
            SELECTOR.encode(),
            sender.rpartition("@")[2].encode(),
            base64.b64encode(bytes(key)),
            signature_algorithm=b"ed25519-sha256",
            include_headers=[b"from", b"to", b"subject", b"message-id"],
        )
        received = (
            f"Received: from mail.{sender.rpartition('@')[2]} (mail [{CLIENT_IP}])\r\n"
            "\tby mx.support.example.com (Postfix) with ESMTPS id B3NCH\r\n"
        ).encode()
        found.append(received + signature + unsigned)
    return found


def publish(zone: Zone, count: int, key: nacl.signing.SigningKey) -> None:
    """SPF, the DKIM key and a DMARC reject policy for every sender domain of the batch."""
    public = base64.b64encode(bytes(key.verify_key)).decode()
    for n in range(count):
        domain = f"firma{n}.example"
        zone.txt(domain, f"v=spf1 ip4:{CLIENT_IP} -all")
        zone.txt(f"{SELECTOR}._domainkey.{domain}", f"v=DKIM1; k=ed25519; p={public}")
        zone.txt(f"_dmarc.{domain}", "v=DMARC1; p=reject")


def send_all(port: int, batch: list[bytes], meter: CpuMeter) -> tuple[float, float]:
    """(messages per second, CPU seconds of the metered processes) for sending ``batch``."""
    meter.start()
    started = time.perf_counter()
    with smtplib.LMTP("127.0.0.1", port, timeout=60) as client:
        for raw in batch:
            client.sendmail("bench@firma.example", [MAILBOX], raw)
    elapsed = time.perf_counter() - started
    meter.stop()
    return len(batch) / elapsed, meter.total


class TakeNothing:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 2.0.0 OK"


def ceiling(batch: list[bytes]) -> tuple[float, float]:
    port = free_port()
    controller: Controller = LMTPController(TakeNothing(), listen("127.0.0.1", port, "port"))
    controller.start()
    try:
        return send_all(port, batch, CpuMeter.this_process())
    finally:
        controller.stop()


def service(
    batch: list[bytes], redis: EmbeddedRedis, resolver: str | None = None
) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as directory:
        settings = load_settings(
            {
                "HELPDESK_VAR_DIR": directory,
                "HELPDESK_ENV": "test",
                "SECRET_KEY": "bench",
                "REDIS_URL": redis.url,
            }
        )
        settings = replace(settings, mail_in_tickets_per_hour=10_000)
        if resolver is not None:
            settings = replace(
                settings, mail_in_sender_check="dns", mail_in_dns_resolvers=(resolver,)
            )
            make_resolver(settings).cache.flush()  # every run starts with a cold cache
        upgrade(settings)
        runtime = Runtime(settings)
        runtime.redis.flushdb()
        port = free_port()
        controller = start_server(runtime, "127.0.0.1", port)
        assert redis.process is not None
        meter = CpuMeter({"bench": os.getpid(), "redis": redis.process.pid})
        try:
            return send_all(port, batch, meter)
        finally:
            controller.stop()
            runtime.db.dispose()


def best_and_cpu(runs: list[tuple[float, float]]) -> tuple[float, str]:
    """The best rate, and CPU milliseconds per message over all runs."""
    return max(rate for rate, _ in runs), ms_per(sum(cpu for _, cpu in runs), RUNS * MESSAGES)


def profile() -> None:
    """CPU per message of taking it (``take_message``, what the LMTP handler calls), measured,
    then profiled; the LMTP protocol and the acknowledgement's sending are not in it."""
    import cProfile
    import pstats

    from tickets.inbound.services import take_message

    key = nacl.signing.SigningKey.generate()
    batch = messages(MESSAGES, key)
    with tempfile.TemporaryDirectory() as directory:
        redis = EmbeddedRedis(Path(directory) / "redis").start()
        try:
            for profiled in (False, True):
                settings = load_settings(
                    {
                        "HELPDESK_VAR_DIR": f"{directory}/{profiled}",
                        "HELPDESK_ENV": "test",
                        "SECRET_KEY": "bench",
                        "REDIS_URL": redis.url,
                        **{k: v for k, v in os.environ.items() if k == "DATABASE_URL"},
                    }
                )
                settings = replace(settings, mail_in_tickets_per_hour=10_000)
                upgrade(settings)
                runtime = Runtime(settings)
                runtime.redis.flushdb()
                profiler = cProfile.Profile(time.process_time)
                started = time.process_time()
                if profiled:
                    profiler.enable()
                for raw in batch:
                    take_message(runtime, raw, mailbox=MAILBOX, envelope_sender=None)
                profiler.disable()
                cpu = (time.process_time() - started) / MESSAGES * 1000
                runtime.db.dispose()
                if not profiled:
                    print(f"taking a message: {cpu:.1f} ms CPU per message")
                    continue
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(40)
                stats.sort_stats("tottime").print_stats(25)
        finally:
            redis.stop()


def main() -> None:
    if "--profile" in sys.argv:
        profile()
        return
    key = nacl.signing.SigningKey.generate()
    batch = messages(MESSAGES, key)
    with tempfile.TemporaryDirectory() as directory, dns_server(ttl=300) as (zone, resolver):
        publish(zone, MESSAGES, key)
        redis = EmbeddedRedis(Path(directory) / "redis").start()
        try:
            taken, taken_cpu = best_and_cpu([service(batch, redis) for _ in range(RUNS)])
            checked, checked_cpu = best_and_cpu(
                [service(batch, redis, resolver) for _ in range(RUNS)]
            )
            lookups = len(zone.queries)
        finally:
            redis.stop()
    top, top_cpu = best_and_cpu([ceiling(batch) for _ in range(RUNS)])
    print(f"messages: {MESSAGES} over one LMTP connection, best of {RUNS}; CPU per message")
    print(f"  LMTP server taking nothing (ceiling):   {top:8.0f} msg/s  {top_cpu}")
    print(
        f"  mail-in service, no sender checks:      {taken:8.0f} msg/s  {taken_cpu}"
        f"  ({taken / top:.0%} of the ceiling)"
    )
    print(
        f"  mail-in service, SPF+DKIM+DMARC (DNS):  {checked:8.0f} msg/s  {checked_cpu}"
        f"  ({checked / taken:.0%} of unchecked, {lookups / RUNS:.0f} DNS queries per run)"
    )


if __name__ == "__main__":
    main()
