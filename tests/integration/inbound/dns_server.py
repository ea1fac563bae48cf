"""A real DNS server (dnslib) on an ephemeral loopback port, answering the records a test sets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dnslib import QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from tests.support import free_port


@dataclass
class Zone(BaseResolver):
    """Records by (name, type); every other name is NXDOMAIN. Queries are recorded.

    Answers carry ``ttl``, by default 0, so no resolver cache keeps them from one test to the
    next.
    """

    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    ttl: int = 0
    failing: set[str] = field(default_factory=set)  # names answered with SERVFAIL
    queries: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def txt(self, name: str, *values: str) -> None:
        self.records.setdefault((name.lower().rstrip("."), "TXT"), []).extend(values)

    def a(self, name: str, *addresses: str) -> None:
        self.records.setdefault((name.lower().rstrip("."), "A"), []).extend(addresses)

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).lower().rstrip(".")
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((name, qtype))
        if name in self.failing:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        values = self.records.get((name, qtype))
        if values is None:
            known = any(known_name == name for known_name, _ in self.records)
            if not known:
                reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for value in values:
            if qtype == "TXT":
                chunks = [value[start : start + 250] for start in range(0, len(value), 250)]
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=self.ttl))
            elif qtype == "A":
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(value), ttl=self.ttl))
        return reply


@contextmanager
def dns_server(ttl: int = 0) -> Iterator[tuple[Zone, str]]:
    """A UDP and TCP DNS server on 127.0.0.1; yields its zone and ``host:port``."""
    zone = Zone(ttl=ttl)
    port = free_port()
    servers = [
        DNSServer(zone, address="127.0.0.1", port=port, tcp=tcp, logger=_Quiet())
        for tcp in (False, True)
    ]
    for server in servers:
        server.start_thread()
    try:
        yield zone, f"127.0.0.1:{port}"
    finally:
        for server in servers:
            server.stop()


class _Quiet:
    """dnslib's logger interface, silent (the test asserts on what it needs)."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None
