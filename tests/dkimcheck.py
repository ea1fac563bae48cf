"""Verifying DKIM signatures with dkimpy against the service's published keys."""

from __future__ import annotations

import dkim

from helpdesk.config import Settings
from helpdesk.dkimkeys import dns_records


def verify_all_signatures(raw: bytes, settings: Settings) -> list[bytes]:
    """Verify every DKIM-Signature in ``raw`` with dkimpy; return their algorithms.

    The DNS lookups are answered from the service's own key files, as the published TXT
    records would be.
    """
    records = {f"{name}.".encode(): value.encode() for name, value in dns_records(settings)}

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name, b"")

    verifier = dkim.DKIM(raw)
    count = sum(1 for line in raw.split(b"\r\n") if line.lower().startswith(b"dkim-signature:"))
    algorithms = []
    for index in range(count):
        assert verifier.verify(idx=index, dnsfunc=dnsfunc), f"signature {index} does not verify"
        algorithms.append(verifier.signature_fields[b"a"])
    return algorithms
