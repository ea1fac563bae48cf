"""A ticket's tags: what a tag may be, and the condition lists filter by (tickets.handling edits).

Tags are short words such as ``rückruf`` or ``verrechnet`` (routing rules set some, billing
one), stored in lower case with single spaces: ``Rückruf`` added to a ticket tagged
``rückruf`` changes nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from helpdesk.db import json_list_has
from helpdesk.errors import ValidationError
from helpdesk.text import header_text_problem
from tickets.models import Ticket

TAG_MAX = 40
TAGS_MAX = 20


def normal_tag(text: str) -> str:
    """A tag as stored: one line, inner whitespace collapsed, lower case."""
    return " ".join(text.split()).lower()


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` (in normal form) cannot be a tag, in German; None when it can."""
    if len(tag) > TAG_MAX:
        return f"Ein Tag hat höchstens {TAG_MAX} Zeichen."
    if "," in tag:
        return "Ein Tag enthält kein Komma."
    return header_text_problem(tag)


def parse_tags(text: str) -> list[str]:
    """The tags of a comma-separated input, in normal form; ValidationError on ``add``."""
    # Control characters are refused, not split on (header_text_problem names them).
    if problem := header_text_problem(text):
        raise ValidationError({"add": problem})
    tags = list(dict.fromkeys(tag for part in text.split(",") if (tag := normal_tag(part))))
    for tag in tags:
        if problem := tag_problem(tag):
            raise ValidationError({"add": problem})
    return tags


def has_tag(tag: str) -> ColumnElement[bool]:
    """A condition on ``tickets``: tagged ``tag`` (in normal form)."""
    return json_list_has(Ticket.tags, tag)
