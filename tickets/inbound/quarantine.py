"""The quarantine folder: incoming mail we could not take, kept byte for byte with the reason.

Nothing that arrives is dropped silently. A malformed message is refused at the door and kept
here; a message whose attachments could not all be stored is kept here too, beside the
ticket it became, so that no file is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from helpdesk.config import Settings
from helpdesk.db import utcnow


def keep(
    settings: Settings,
    raw: bytes,
    reason: str,
    *,
    mailbox: str | None = None,
    envelope_sender: str | None = None,
) -> str:
    """Write ``raw`` and its reason to the quarantine folder; return the entry's name."""
    directory = settings.quarantine_dir
    directory.mkdir(parents=True, exist_ok=True)
    received = utcnow()
    name = f"{received:%Y%m%dT%H%M%S%f}-{hashlib.sha256(raw).hexdigest()[:12]}"
    record = {
        "reason": reason,
        "mailbox": mailbox,
        "envelope_sender": envelope_sender,
        "size": len(raw),
        "received_at": received.isoformat(),
    }
    (directory / f"{name}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1))
    temporary = directory / f".{name}.eml.part"
    temporary.write_bytes(raw)
    os.replace(temporary, directory / f"{name}.eml")  # last: its presence means complete
    return name


def entries(settings: Settings) -> list[tuple[str, dict[str, object]]]:
    """Every complete entry, newest first, with its recorded reason."""
    directory: Path = settings.quarantine_dir
    if not directory.exists():
        return []
    names = sorted((path.stem for path in directory.glob("*.eml")), reverse=True)
    return [(name, json.loads((directory / f"{name}.json").read_text())) for name in names]


def count(settings: Settings) -> int:
    """How many messages are kept."""
    directory: Path = settings.quarantine_dir
    return sum(1 for _ in directory.glob("*.eml")) if directory.exists() else 0


NAME = re.compile(r"[0-9]{8}T[0-9]{12}-[0-9a-f]{12}")


def load(settings: Settings, name: str) -> tuple[dict[str, Any], bytes]:
    """An entry's record and bytes; KeyError when there is no such entry."""
    path = settings.quarantine_dir / f"{name}.eml"
    if not NAME.fullmatch(name) or not path.exists():
        raise KeyError(name)
    return json.loads(path.with_suffix(".json").read_text()), path.read_bytes()


def discard(settings: Settings, name: str) -> None:
    """Delete an entry (the message first: without it the entry no longer exists)."""
    load(settings, name)
    (settings.quarantine_dir / f"{name}.eml").unlink()
    (settings.quarantine_dir / f"{name}.json").unlink(missing_ok=True)
