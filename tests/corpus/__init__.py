"""Hand-written e-mails as German customers' clients send them, for the mail-in tests.

Some files carry placeholders for what only exists at test time: ``{{ACK_ID}}`` (the
Message-ID of an acknowledgement the service sent), ``{{ORIGINAL_ID}}`` (the Message-ID of the
message a bounce or a reply refers to) and ``{{VERP}}`` (a mailing's bounce address).
"""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).parent


def load(name: str, **values: str) -> bytes:
    """The bytes of ``name`` with CRLF line ends, placeholders replaced by ``values``."""
    text = (CORPUS / name).read_bytes()
    for key, value in values.items():
        text = text.replace(b"{{" + key.encode() + b"}}", value.encode())
    if b"{{" in text:
        raise ValueError(f"{name}: placeholder left unreplaced")
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def names() -> list[str]:
    return sorted(path.name for path in CORPUS.glob("*.eml"))
