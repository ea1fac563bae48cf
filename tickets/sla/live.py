"""The policies each process (web or RQ worker) uses, picked up again when the file changes.

The process-wide registry of policy files; how a changed file is picked up, and what happens
to a broken one, is the core's one hot-reload policy (``helpdesk/livefile.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpdesk.livefile import LiveFiles
from helpdesk.runtime import Runtime, current
from tickets.sla.policies import compile_policies
from tickets.sla.targets import SlaPolicies

_live_policies: LiveFiles[SlaPolicies] = LiveFiles(compile_policies, what="SLA policies")


def current_policies(path: Path | None = None) -> SlaPolicies:
    """The live policies in ``path`` (default: the configured file)."""
    return _live_policies.get(path or current().settings.sla_policies_path).current()


def sla_status(runtime: Runtime) -> dict[str, Any]:
    """For /healthz: the live policies' version, and the error when a changed file was refused."""
    return _live_policies.get(runtime.settings.sla_policies_path).status()
