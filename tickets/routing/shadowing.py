"""Finding rules that can never match because an earlier rule takes all their tickets.

Rule A *covers* rule B when every ticket that satisfies B's conditions also satisfies A's.
Since the first matching rule wins, a rule covered by an earlier one is dead. The test is
sound, not complete: it only says "covers" when it can prove it from the conditions alone,
condition by condition (all of A's conditions must be implied by one of B's):

* a value list (family, component, department, channel, mailbox, edition, support level,
  requested priority): B names the same key and only values A also names;
* ``license_locked``: B asks for the same value;
* phrases (``subject``, ``body``): every phrase of B contains, as whole words, some phrase of
  A, e.g. A "gesperrt" covers B "Zugang gesperrt";
* ``subject_regex``: B has the very same pattern (regex inclusion is not decided).

A rule is only ever compared with the rules before it, so it never shadows itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from tickets.routing.conditions import PHRASE_CONDITIONS, Condition
from tickets.routing.engine import Rule
from tickets.routing.normalise import contains_phrase


def shadowing_rule(earlier: Sequence[Rule], rule: Rule) -> Rule | None:
    """The first of ``earlier`` that covers ``rule``, or None."""
    return next((candidate for candidate in earlier if covers(candidate, rule)), None)


def covers(general: Rule, specific: Rule) -> bool:
    """Whether every ticket matching ``specific`` provably matches ``general`` too."""
    if not general.by_key.keys() <= specific.by_key.keys():
        return False
    return all(
        _implied(condition, specific.condition(condition.key)) for condition in general.conditions
    )


def _implied(general: Condition, specific: Condition | None) -> bool:
    if specific is None:
        return False
    if isinstance(general.values, bool) or isinstance(specific.values, bool):
        return general.values == specific.values
    if general.key in PHRASE_CONDITIONS:
        return all(
            any(contains_phrase(narrow, wide) for wide in general.values)
            for narrow in specific.values
        )
    if general.key == "subject_regex":
        return general.values == specific.values
    return specific.value_set <= general.value_set
