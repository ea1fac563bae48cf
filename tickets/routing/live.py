"""The rules each process (web or RQ worker) routes with, picked up again when the file changes.

The process-wide registry of routing rules files; how a changed file is picked up, and what
happens to a broken one, is the core's one hot-reload policy (``helpdesk/livefile.py``).
"""

from __future__ import annotations

from typing import Any

from helpdesk.livefile import LiveFiles
from helpdesk.runtime import Runtime
from tickets.routing.engine import RuleSet
from tickets.routing.rules import compile_rules

_live_rules: LiveFiles[RuleSet] = LiveFiles(compile_rules, what="routing rules")


def routing_rules(runtime: Runtime) -> RuleSet:
    """The live rules of this process, reloaded when the file changes."""
    return _live_rules.get(runtime.settings.routing_rules_path).current()


def routing_status(runtime: Runtime) -> dict[str, Any]:
    """For /healthz: the live rules' version, and the error when a changed file was refused."""
    return _live_rules.get(runtime.settings.routing_rules_path).status()
