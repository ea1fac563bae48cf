"""Splitting a reply into what the customer wrote now and the history their client quoted.

German and English clients mark the history differently: Outlook with a "-----Ursprüngliche
Nachricht-----" line or a "Von: ... Gesendet: ..." header block, Thunderbird, Apple Mail and
Gmail with an attribution line ("Am 3. Nov. 2026 um 10:00 schrieb Max <max@x.de>:",
"On ... wrote:"), plain-text clients with "> " prefixes. The history is cut at the first
marker and kept, never thrown away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(ursprüngliche nachricht|original message|weitergeleitete nachricht|"
    r"forwarded message|nachricht weitergeleitet)\s*-{2,}\s*$",
    re.IGNORECASE,
)
UNDERSCORE_RULE = re.compile(r"^\s*_{10,}\s*$")
HEADER_FROM = re.compile(r"^\s*\*?(von|from)\s*:\*?\s+\S", re.IGNORECASE)
HEADER_OTHER = re.compile(
    r"^\s*\*?(gesendet|sent|datum|date|an|to|betreff|subject|cc)\s*:\*?", re.IGNORECASE
)
ATTRIBUTION_START = re.compile(r"^\s*(am|on|le|el)\s", re.IGNORECASE)
ATTRIBUTION = re.compile(
    r"^\s*(am|on)\s.{4,300}?\b(schrieb|wrote|hat geschrieben|has written)\b[^:]{0,200}:\s*$",
    re.IGNORECASE | re.DOTALL,
)
QUOTED_LINE = re.compile(r"^\s*>")
HEADER_BLOCK_SPAN = 6  # an Outlook header block has From and Sent/Date within a few lines


@dataclass(frozen=True)
class SplitText:
    visible: str
    quoted: str | None


def split_quoted(text: str) -> SplitText:
    """The new text and the quoted history; all text stays visible if nothing new precedes it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    start = _history_start(lines)
    if start is None:
        return SplitText(text.strip("\n").rstrip(), None)
    visible = "\n".join(lines[:start]).strip("\n").rstrip()
    quoted = "\n".join(lines[start:]).strip("\n").rstrip()
    if not visible.strip():
        # A bare forward or a reply written below the quote: the whole text is the message.
        return SplitText(text.strip("\n").rstrip(), None)
    return SplitText(visible, quoted or None)


def _history_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if SEPARATOR.match(line):
            return index
        if UNDERSCORE_RULE.match(line) and _header_block_at(lines, index + 1):
            return index
        if HEADER_FROM.match(line) and _header_block_at(lines, index):
            return index
        if ATTRIBUTION_START.match(line) and _attribution_at(lines, index):
            return index
        if QUOTED_LINE.match(line) and _only_quotes_from(lines, index):
            return index
    return None


def _header_block_at(lines: list[str], index: int) -> bool:
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines) or not HEADER_FROM.match(lines[index]):
        return False
    following = lines[index + 1 : index + HEADER_BLOCK_SPAN]
    return sum(1 for line in following if HEADER_OTHER.match(line)) >= 2


def _attribution_at(lines: list[str], index: int) -> bool:
    # Gmail and Apple Mail wrap a long attribution over two or three lines.
    for length in (1, 2, 3):
        candidate = " ".join(line.strip() for line in lines[index : index + length])
        if ATTRIBUTION.match(candidate):
            return True
    return False


def _only_quotes_from(lines: list[str], index: int) -> bool:
    """True when every non-blank line from ``index`` on is quoted (no inline answers below)."""
    return all(QUOTED_LINE.match(line) or not line.strip() for line in lines[index:])
