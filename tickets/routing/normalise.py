"""Text normalisation shared by rule phrases, subjects and bodies, so both sides compare alike.

The normal form is: Unicode NFKC, case-folded, German umlauts spelled out (ä -> ae, ö -> oe,
ü -> ue; ß -> ss comes with case-folding), every run of characters that are not letters or
digits (whitespace, hyphens, underscores, punctuation) turned into one space, no leading or
trailing space. Subjects also lose their reply/forward prefixes and leading tags first.

Umlauts are folded one way only: "Zugänge" and "Zugaenge" both become "zugaenge", while a word
that merely contains "ae" ("Michael") is left alone. Other accented letters (é, ñ) are kept.
"""

from __future__ import annotations

import re
import unicodedata

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})

# Applied after case-folding. One match swallows a whole chain of prefixes and tags, nested or
# repeated, e.g. "AW: WG: [EXTERN] Re[2]: Fwd :". A prefix needs its colon, so "Reklamation:"
# or "Fwd-Kosten" keep their first word.
_PREFIXES = re.compile(
    r"""
    (?:
        \s*
        (?:
            (?:re|aw|antw|antwort|fwd|fw|wg|wtr|weitergeleitet|tr|extern|external)
            \s*(?:\[\d+\]|\(\d+\))?\s*:
          | \[[^\[\]]{0,60}\]            # [EXTERN], [SPAM?], [Ticket#123]
          | \((?:extern|external|ext)\)
        )
    )+
    """,
    re.VERBOSE,
)

# Letters and digits of any script; "_" is a word character for `re` but a separator here.
_SEPARATORS = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """Return ``text`` in the normal form used for phrase matching (see the module docstring)."""
    return _SEPARATORS.sub(" ", _fold(text)).strip()


def normalise_subject(subject: str) -> str:
    """Return a subject in normal form without its reply/forward prefixes and leading tags."""
    words = _fold(subject)
    prefixes = _PREFIXES.match(words)
    if prefixes is not None:
        rest = _SEPARATORS.sub(" ", words[prefixes.end() :]).strip()
        # A subject that is nothing but a tag ("[Zugang gesperrt]") keeps it.
        if rest:
            return rest
    return _SEPARATORS.sub(" ", words).strip()


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    # NFKC_Casefold as Unicode defines it: case-folding can undo NFKC, so normalise again.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return folded.translate(_UMLAUTS)


def contains_phrase(normalised_text: str, normalised_phrase: str) -> bool:
    """Whether the phrase occurs as whole words; both arguments are already normalised."""
    return f" {normalised_phrase} " in f" {normalised_text} "
