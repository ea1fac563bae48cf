"""The periodic jobs every worker process offers to run; one of them enqueues each in turn."""

from __future__ import annotations

from helpdesk.worker import Periodic
from workers import jobs

PERIODIC = (
    Periodic("sweep-outbox", jobs.sweep_outbox, 60, "mail"),
    Periodic("mailing-tick", jobs.mailing_tick, 10, "mail", at_start=True),
    Periodic("purge-sensitive-data", jobs.purge_sensitive_data, 3600),
    Periodic("sla-reconcile", jobs.reconcile_sla, 60, at_start=True),
)
