"""Routing decisions per second: the compiled engine against a naive linear scan of regexes.

Two rule sets: the shipped routing_rules.yaml, and 1,000 synthetic rules (a larger catalog,
family/component/subject rules plus rules every ticket must look at). The naive scan is what
one writes without compiling: every condition a case-insensitive regex over the raw ticket
fields, every rule tried in file order. Both run on the same pre-built tickets in this run,
and the agreement column says how often they chose the same rule. One core, best of 3 for the
rates; CPU milliseconds per decision (this process's CPU time over all runs) beside them.

    .venv/bin/python bench/routing.py
"""

from __future__ import annotations

import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cpu import CpuMeter, ms_per

from tickets.routing import RuleSet, TicketFacts, load_rules
from tickets.routing.conditions import PHRASE_CONDITIONS
from tickets.routing.engine import Rule
from tickets.routing.normalise import normalise_subject

ROOT = Path(__file__).resolve().parent.parent
PREFIXES = ["", "", "", "Re: ", "AW: ", "AW: WG: ", "[EXTERN] Re: ", "Fwd: "]
PRIORITIES = ["low", "normal", "normal", "normal", "high", "critical"]
SHIPPED_SUBJECTS = [
    "Zugang gesperrt",
    "ZUGANG   GESPERRT!! Kundennr. 123456",
    "Zugangsdaten gesperrt?",
    "Lizenz sperren nach Sicherheitsvorfall",
    "Frage zur Rechnung 2024-0815",
    "JTL-Vouchers aus Versehen gebucht",
    "Marktplatzkonto übertragen",
    "Shop ist offline",
    "Artikelimport bricht ab",
    "Versandetiketten werden nicht gedruckt",
    "Todesfall unseres Firmeninhabers",
    "Installationsservice absagen",
    "Wie lege ich einen Benutzer an?",
    "Fehlermeldung beim Abgleich mit Shopware 6",
]
TIMED_RUNS = 3

NaiveRule = tuple[str, tuple[tuple[str, re.Pattern[str]], ...]]


# -- the naive scan ------------------------------------------------------------------------------


def naive_rules(rules: Sequence[Rule]) -> list[NaiveRule]:
    """Each rule as (id, ((field, regex), ...)), to be searched one by one over raw fields."""
    return [
        (rule.id, tuple(_naive_condition(c.key, c.values) for c in rule.conditions))
        for rule in rules
    ]


def _naive_condition(key: str, values: tuple[str, ...] | bool) -> tuple[str, re.Pattern[str]]:
    if isinstance(values, bool):
        return key, re.compile(f"^{values}$")
    if key in PHRASE_CONDITIONS:
        return key, re.compile("|".join(_phrase_regex(v) for v in values), re.IGNORECASE)
    if key == "subject_regex":
        return "subject", re.compile(values[0], re.IGNORECASE)
    alternatives = "|".join(re.escape(v) for v in values)
    return key, re.compile(f"^\\s*(?:{alternatives})\\s*$", re.IGNORECASE)


def _phrase_regex(phrase: str) -> str:
    """Whole words with any separators between them; "ae" also matches "ä", and so on."""
    words = []
    for word in phrase.split():
        pattern = re.escape(word)
        for plain, umlaut in (("ae", "ä"), ("oe", "ö"), ("ue", "ü"), ("ss", "ß")):
            pattern = pattern.replace(plain, f"(?:{plain}|{umlaut})")
        words.append(pattern)
    return r"(?<![^\W_])" + r"[\W_]+".join(words) + r"(?![^\W_])"


def naive_route(rules: list[NaiveRule], facts: TicketFacts) -> str:
    for rule_id, checks in rules:
        for field, pattern in checks:
            value = getattr(facts, field)
            if value is None or not pattern.search(str(value)):
                break
        else:
            return rule_id
    return "default"


# -- synthetic rules -----------------------------------------------------------------------------


def synthetic_document(rng: random.Random) -> tuple[dict, list[str], list[tuple[str, str]]]:
    """1,000 rules over 30 families x 15 components; returns the document, phrases, pairs."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "ber", "gen", "sch", "ul", "fer", "dor"]
    words: set[str] = set()
    while len(words) < 2_000:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    vocabulary = sorted(words)
    rng.shuffle(vocabulary)
    phrases = [f"{vocabulary[2 * i]} {vocabulary[2 * i + 1]}" for i in range(1_000)]
    families = [
        {
            "name": f"Produkt {f:02d}",
            "colour": f"#{rng.randrange(0x1000000):06X}",
            "components": [f"Komponente {f:02d}-{c:02d}" for c in range(15)],
        }
        for f in range(30)
    ]
    queues = [
        {"id": f"q{n}", "name": f"Queue {n}", "team": "Team", "description": "Queue."}
        for n in range(40)
    ]
    queues.append({"id": "triage", "name": "Triage", "team": "Team", "description": "Triage."})
    rules = []
    for n in range(35):  # rules every ticket looks at: phrases and regexes on the subject
        rules.append(
            {
                "id": f"phrase-{n}",
                "description": "d",
                "when": {"subject": phrases[n]},
                "then": {"queue": f"q{n % 40}", "priority_at_least": "high"},
            }
        )
        rules.append(
            {
                "id": f"regex-{n}",
                "description": "d",
                "when": {"subject_regex": rf"\b{phrases[35 + n].split()[0]}\w*\s+\d{{3,}}"},
                "then": {"queue": f"q{(n + 7) % 40}"},
            }
        )
    pairs = []
    index = 70
    for family in families:
        for component in family["components"]:
            pairs.append((family["name"], component))
            for _ in range(2):
                rules.append(
                    {
                        "id": f"rule-{index}",
                        "description": "d",
                        "when": {
                            "product_family": family["name"],
                            "component": component,
                            "subject": phrases[index],
                        },
                        "then": {"queue": f"q{index % 40}", "tags": ["synthetic"]},
                    }
                )
                index += 1
    for f, family in enumerate(families):
        rules.append(
            {
                "id": f"family-{f}",
                "description": "d",
                "when": {"product_family": family["name"]},
                "then": {"queue": f"q{f % 40}"},
            }
        )
    document = {
        "version": 1,
        "catalog": {
            "families": families,
            "departments": ["Technik"],
        },
        "queues": queues,
        "rules": rules,
        "default": {"queue": "triage"},
    }
    return document, phrases[:index], pairs


def synthetic_tickets(
    rng: random.Random, phrases: list[str], pairs: list[tuple[str, str]], count: int
) -> list[TicketFacts]:
    tickets = []
    for _ in range(count):
        family, component = rng.choice(pairs)
        roll = rng.random()
        if roll < 0.5:  # names one of the rules' phrases, maybe another family's
            subject = f"{rng.choice(phrases)} bitte prüfen"
        elif roll < 0.6:
            subject = f"{rng.choice(phrases[35:70]).split()[0]} {rng.randint(100, 99999)}"
        else:
            subject = "Frage zur Rechnung vom letzten Monat"
        tickets.append(
            TicketFacts(
                product_family=family,
                component=component,
                subject=rng.choice(PREFIXES) + subject,
                body="Hallo, bitte um Rückmeldung.",
                requested_priority=rng.choice(PRIORITIES[:-1]),
            )
        )
    return tickets


def shipped_tickets(rng: random.Random, rules: RuleSet, count: int) -> list[TicketFacts]:
    pairs = [(f.name, c) for f in rules.catalog.families for c in f.components]
    tickets = []
    for _ in range(count):
        family, component = rng.choice(pairs)
        channel = rng.choice(["web", "web", "web", "email", "api", "phone"])
        tickets.append(
            TicketFacts(
                product_family=None if channel == "email" else family,
                component=None if channel == "email" else component,
                subject=rng.choice(PREFIXES) + rng.choice(SHIPPED_SUBJECTS),
                body="Guten Tag, bitte um Rückmeldung. Mit freundlichen Grüßen",
                channel=channel,
                requested_priority=rng.choice(PRIORITIES),
                mailbox=rng.choice(["buchhaltung@jtl-software.de", "support@jtl-software.de"])
                if channel == "email"
                else None,
            )
        )
    return tickets


# -- measuring ----------------------------------------------------------------------------------


def per_second(
    route: Callable[[TicketFacts], object], tickets: list[TicketFacts]
) -> tuple[float, str]:
    """(decisions per second in the best run, CPU milliseconds per decision over all runs)."""
    best = float("inf")
    meter = CpuMeter.this_process().start()
    for _ in range(TIMED_RUNS):
        started = time.perf_counter()
        for facts in tickets:
            route(facts)
        best = min(best, time.perf_counter() - started)
    meter.stop()
    return len(tickets) / best, ms_per(meter.total, TIMED_RUNS * len(tickets))


def compare(name: str, rules: RuleSet, tickets: list[TicketFacts], naive_sample: int) -> float:
    naive = naive_rules(rules.rules)
    engine_rate, engine_cpu = per_second(rules.route, tickets)
    sample = tickets[:naive_sample]
    naive_rate, naive_cpu = per_second(lambda facts: naive_route(naive, facts), sample)
    agree = sum(rules.route(facts).rule_id == naive_route(naive, facts) for facts in sample)
    print(
        f"{name:<24} {engine_rate:>12,.0f} {naive_rate:>14,.0f} {engine_rate / naive_rate:>8.1f}x"
        f" {100 * agree / len(sample):>9.1f}% {engine_cpu:>13} {naive_cpu:>13}"
    )
    return engine_rate / naive_rate


def reference(tickets: list[TicketFacts]) -> tuple[float, str]:
    """A minimal regex router for comparison, not a bound: 10 compiled regexes, first match
    wins (the engine, which reads more fields and rules, may be faster or slower)."""
    patterns = [re.compile(p, re.IGNORECASE) for p in SHIPPED_SUBJECTS[:10]]

    def first_match(facts: TicketFacts) -> int:
        for number, pattern in enumerate(patterns):
            if pattern.search(facts.subject):
                return number
        return -1

    return per_second(first_match, tickets)


def main() -> None:
    rng = random.Random(20261123)
    shipped = load_rules(ROOT / "routing_rules.yaml")
    document, phrases, pairs = synthetic_document(rng)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "synthetic.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        started = time.perf_counter()
        synthetic = load_rules(path)
        compile_seconds = time.perf_counter() - started

    shipped_sample = shipped_tickets(rng, shipped, 50_000)
    synthetic_sample = synthetic_tickets(rng, phrases, pairs, 20_000)

    python = sys.version.split()[0]
    print(f"routing decisions per second, one core, best of {TIMED_RUNS} (Python {python})")
    print(
        f"{'rules':<24} {'engine':>12} {'naive scan':>14} {'ratio':>9} {'agreement':>10}"
        f" {'engine CPU':>13} {'naive CPU':>13}"
    )
    compare(f"shipped ({len(shipped.rules)} rules)", shipped, shipped_sample, 50_000)
    ratio = compare(
        f"synthetic ({len(synthetic.rules):,} rules)", synthetic, synthetic_sample, 2_000
    )
    print()
    reference_rate, reference_cpu = reference(shipped_sample)
    print(
        f"reference: 10 compiled regexes, first match wins: {reference_rate:,.0f}/s, "
        f"{reference_cpu} CPU each"
    )
    normalised, normalised_cpu = per_second(
        lambda facts: normalise_subject(facts.subject), shipped_sample
    )
    print(
        f"normalise_subject alone:                          {normalised:,.0f}/s, "
        f"{normalised_cpu} CPU each"
    )
    print(f"checking and compiling the 1,000 rules: {compile_seconds:.2f} s")
    print(
        f"aim: > 100,000/s with the shipped rules; >= 10x the naive scan with 1,000 rules "
        f"({'met' if ratio >= 10 else 'NOT met'} here)"
    )


if __name__ == "__main__":
    main()
