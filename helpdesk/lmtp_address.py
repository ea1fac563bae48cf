"""Where the LMTP server listens, read from the environment with the standard library only.

The settings read it, and so does the pipe door's console script, which starts without the
settings: importing them costs more CPU than the rest of its start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8024


def mail_in_address(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """(MAIL_IN_HOST, MAIL_IN_PORT); ValueError naming the variable when the port is not one."""
    env = os.environ if environ is None else environ
    raw = env.get("MAIL_IN_PORT") or str(DEFAULT_PORT)
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ValueError(f"MAIL_IN_PORT: {raw!r} is not a TCP port")
    return env.get("MAIL_IN_HOST") or DEFAULT_HOST, int(raw)
