"""Conditions of a rule, compiled to small predicates over one ticket's facts."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter

from tickets.routing.facts import TicketFacts
from tickets.routing.normalise import contains_phrase, normalise_subject, normalise_text

SET_CONDITIONS = (
    "product_family",
    "component",
    "department",
    "channel",
    "mailbox",
    "edition",
    "support_level",
    "requested_priority",
)
PHRASE_CONDITIONS = ("subject", "body")
CONDITION_KEYS = (*SET_CONDITIONS, *PHRASE_CONDITIONS, "subject_regex", "license_locked")
# Compared exactly: the doors only let these vocabularies through.
EXACT_CONDITIONS = frozenset({"channel", "requested_priority"})


class FactsView:
    """One ticket's facts as conditions read them: case-folded, subject and body normalised
    once, on first use."""

    __slots__ = (
        "_body",
        "_padded_subject",
        "_subject",
        "body_text",
        "channel",
        "component",
        "department",
        "edition",
        "license_locked",
        "mailbox",
        "product_family",
        "requested_priority",
        "subject_text",
        "support_level",
    )

    def __init__(self, facts: TicketFacts) -> None:
        self.product_family = _fold(facts.product_family)
        self.component = _fold(facts.component)
        self.department = _fold(facts.department)
        self.channel = facts.channel
        self.mailbox = _fold(facts.mailbox)
        self.edition = _fold(facts.edition)
        self.support_level = _fold(facts.support_level)
        self.requested_priority = facts.requested_priority
        self.license_locked = facts.license_locked
        self.subject_text = facts.subject
        self.body_text = facts.body
        self._subject: str | None = None
        self._padded_subject: str | None = None
        self._body: str | None = None

    @property
    def subject(self) -> str:
        """The normalised subject (what ``subject_regex`` searches)."""
        if self._subject is None:
            self._subject = normalise_subject(self.subject_text)
        return self._subject

    @property
    def padded_subject(self) -> str:
        """The normalised subject with a space before and after, for whole-word phrases."""
        if self._padded_subject is None:
            self._padded_subject = f" {self.subject} "
        return self._padded_subject

    @property
    def padded_body(self) -> str:
        """The normalised body with a space before and after, for whole-word phrases."""
        if self._body is None:
            self._body = f" {normalise_text(self.body_text)} "
        return self._body


def _fold(value: str | None) -> str | None:
    return None if value is None else value.strip().casefold()


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of a rule: ``key`` as written in the file, ``values`` normalised,
    ``written`` as the file spells them (for pages)."""

    key: str
    values: tuple[str, ...] | bool
    test: Callable[[FactsView], bool] = dataclasses.field(compare=False, repr=False)
    value_set: frozenset[str] = dataclasses.field(default=frozenset(), compare=False, repr=False)
    written: tuple[str, ...] = dataclasses.field(default=(), compare=False, repr=False)

    @classmethod
    def build(cls, key: str, values: Iterable[str] | bool) -> Condition:
        """Compile a condition; values must already have passed validation."""
        if isinstance(values, bool):
            wanted = values
            return cls(key, wanted, lambda view: view.license_locked is wanted)
        written = tuple(dict.fromkeys(values))
        if key in PHRASE_CONDITIONS:
            normal = tuple(dict.fromkeys(normalise_text(value) for value in values))
            return cls(key, normal, _phrase_test(key, normal), frozenset(normal), written)
        if key == "subject_regex":
            (source,) = values
            search = re.compile(source, re.IGNORECASE).search
            return cls(
                key, (source,), lambda view: search(view.subject) is not None, written=written
            )
        if key in EXACT_CONDITIONS:
            normal = tuple(dict.fromkeys(values))
        else:
            normal = tuple(dict.fromkeys(value.strip().casefold() for value in values))
        allowed = frozenset(normal)
        get = attrgetter(key)
        return cls(key, normal, lambda view: get(view) in allowed, allowed, written)

    def explain(self, view: FactsView) -> str:
        """Say in one line what this condition asked of the ticket and what the ticket had."""
        matched = self.test(view)
        if isinstance(self.values, bool):
            wanted = "as required" if matched else f"rule wants {self.values}"
            return f"license_locked is {view.license_locked}, {wanted}"
        if self.key == "subject_regex":
            verb = "matches" if matched else "does not match"
            return f"subject {view.subject!r} {verb} /{self.values[0]}/"
        if self.key in PHRASE_CONDITIONS:
            text = (view.padded_subject if self.key == "subject" else view.padded_body).strip()
            shown = repr(text) if self.key == "subject" else "text"
            if matched:
                found = next(p for p in self.values if contains_phrase(text, p))
                return f"{self.key} {shown} contains {found!r}"
            return f"{self.key} {shown} contains none of {_listing(self.values)}"
        verb = "is one of" if matched else "is not one of"
        return f"{self.key} {getattr(view, self.key)!r} {verb} {_listing(self.values)}"


def _phrase_test(key: str, phrases: tuple[str, ...]) -> Callable[[FactsView], bool]:
    """Whole-word containment: the padded phrase inside the padded normalised text."""
    text = attrgetter(f"padded_{key}")
    if len(phrases) == 1:
        padded = f" {phrases[0]} "
        return lambda view: padded in text(view)
    all_padded = tuple(f" {phrase} " for phrase in phrases)

    def test(view: FactsView) -> bool:
        haystack = text(view)
        return any(padded in haystack for padded in all_padded)

    return test


def _listing(values: tuple[str, ...]) -> str:
    return ", ".join(repr(value) for value in values)
