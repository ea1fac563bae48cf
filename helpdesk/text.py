"""Which characters a stored text may hold: one rule for every door and for the mail builder.

A text that can end up in a mail header (a subject, a name, a company) is one line of printable
characters: no C0 or C1 control character (tab and line breaks included), no DEL, no Unicode
line or paragraph separator, no lone surrogate (which cannot be encoded at all). Longer texts
(a ticket's description, a mailing's body) may break lines and use tabs, nothing else of those.
Doors refuse what breaks the rule with a message for the field; the mail builder refuses the
same characters, so what a door accepted can always be built.
"""

from __future__ import annotations

import re

_NOT_IN_HEADER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NOT_IN_BODY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

HEADER_TEXT_MESSAGE = "Enthält Zeilenumbrüche oder unzulässige Steuerzeichen."
BODY_TEXT_MESSAGE = "Enthält unzulässige Steuer- oder Ersatzzeichen."


def header_text_problem(value: str) -> str | None:
    """Why ``value`` cannot stand in a mail header (a German message for its field), else None."""
    return HEADER_TEXT_MESSAGE if _NOT_IN_HEADER.search(value) else None


def body_text_problem(value: str) -> str | None:
    """Why ``value`` cannot be a mail's or ticket's text, else None."""
    return BODY_TEXT_MESSAGE if _NOT_IN_BODY.search(value) else None


def header_safe(value: str) -> str:
    """``value`` with every character a header cannot hold replaced by a space, for text taken
    from outside that cannot be refused (the subject of a received mail)."""
    return _NOT_IN_HEADER.sub(" ", value)


MAX_ID = 2**31 - 1  # the largest value of an INTEGER column, which every id column is
_ASCII_DIGITS = re.compile("[0-9]{1,10}")


def parse_id(value: str) -> int | None:
    """A positive id or count written in ASCII digits within the database's range, else None.

    ``str.isdigit`` and ``int`` accept other scripts' digits (``٣`` is 3) and superscripts;
    a number must not name another row than the one written, nor overflow a query.
    """
    if not _ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None
