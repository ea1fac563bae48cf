"""What a person sees on a page or in a mail, and the words a person must never see there."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from accounts.models import STAFF_ROLES
from notifications.mailings.models import (
    AUDIENCE_KINDS,
    DELIVERY_STATES,
    MAILING_STATES,
    PURPOSES,
    REASONS,
)
from tickets.models import CHANNELS, MESSAGE_KINDS, PRIORITIES, STATUSES

# Stored values that are also words of German pages ("Normal"), or product names.
GERMAN_TOO = {"normal"}
IDENTIFIERS = {
    value
    for values in (
        PRIORITIES,
        STATUSES,
        CHANNELS,
        MESSAGE_KINDS,
        PURPOSES,
        AUDIENCE_KINDS,
        MAILING_STATES,
        DELIVERY_STATES,
        REASONS,
        STAFF_ROLES,
    )
    for value in values
} - GERMAN_TOO
ENGLISH_WORDS = {
    "None", "True", "False", "null", "Submit", "Save", "Cancel", "Delete", "Edit", "Search",
    "Back", "Next", "Previous", "Login", "Logout", "Password", "Settings", "Dashboard", "Error",
    "Not Found", "Forbidden", "Bad Request", "unverified", "assignee", "requester",
}  # fmt: skip
SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
# Addresses and links carry identifiers by design (agent-support@…, /konsole/tickets/…).
ADDRESSES = re.compile(r"\S+@\S+|https?://\S+|(?<!\w)/[\w./?=&%-]+")


class _Text(HTMLParser):
    HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        # <code class="reference"> is an id an agent looks up on purpose (a routing rule's).
        if tag in self.HIDDEN or (tag == "code" and attributes.get("class") == "reference"):
            self._hidden.append(tag)
        if tag in ("br", "p", "li", "td", "dd", "dt", "th", "tr", "div", "option"):
            self.parts.append("\n")
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()
        self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def read_html(html: str) -> tuple[str, list[str]]:
    """(visible text, link targets) of an HTML page or mail part."""
    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts), parser.links


def raw_words(text: str) -> set[str]:
    """Internal identifiers and English UI words in ``text``, each with the line it stands in
    (addresses and links set aside)."""
    found = set()
    for line in text.splitlines():
        line = " ".join(line.split())
        plain = ADDRESSES.sub(" ", line)
        words = set(SNAKE_CASE.findall(plain)) | (
            set(re.findall(r"[A-Za-z]+", plain)) & IDENTIFIERS
        )
        words |= {word for word in ENGLISH_WORDS if re.search(rf"\b{word}\b", plain)}
        found |= {f"{word!r} in {line[:120]!r}" for word in words}
    return found
