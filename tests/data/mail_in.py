"""The real-world corpus under tests/data/mail-in/ and what each message is (expected.tsv)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "mail-in"
RETURN_PATH = re.compile(rb"^Return-Path:[ \t]*<([^>\r\n]*)>", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class CorpusMessage:
    name: str  # path under tests/data/mail-in/
    kind: str  # failed | delayed | report | automatic | person
    recipients: tuple[str, ...]

    @property
    def raw(self) -> bytes:
        return (CORPUS / self.name).read_bytes()

    @property
    def envelope_sender(self) -> str | None:
        """The Return-Path the message arrived with ("" for a null sender), if it kept one."""
        found = RETURN_PATH.search(self.raw)
        return found.group(1).decode("latin-1").strip() if found else None


def messages() -> list[CorpusMessage]:
    rows = (CORPUS / "expected.tsv").read_text().splitlines()
    found = []
    for row in rows:
        if row.startswith("#") or not row.strip():
            continue
        name, kind, recipients = [*row.split("\t"), "", ""][:3]
        found.append(CorpusMessage(name, kind, tuple(recipients.split())))
    return found
