"""The policy file this process uses, loaded once and reloaded when the file changes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from helpdesk.runtime import current
from tickets.sla.policies import load_policies
from tickets.sla.targets import SlaPolicies

_lock = threading.Lock()
_loaded: dict[Path, tuple[int, SlaPolicies]] = {}


def current_policies(path: Path | None = None) -> SlaPolicies:
    """The policies in ``path`` (default: the configured file); raises SlaPolicyError.

    A changed file is read again on the next call. A broken file raises instead of silently
    keeping stale targets: ``helpdesk sla check`` tells what is wrong.
    """
    path = path or current().settings.sla_policies_path
    mtime = os.stat(path).st_mtime_ns
    with _lock:
        loaded = _loaded.get(path)
        if loaded is None or loaded[0] != mtime:
            loaded = _loaded[path] = (mtime, load_policies(path))
        return loaded[1]
