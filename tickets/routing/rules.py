"""Loading and checking ``routing_rules.yaml``: schema, references, regexes, shadowed rules.

Both doors use one path: ``load_rules`` compiles or raises SourceError with every problem found,
``check_rules`` returns those problems. So a file that check accepts is exactly a file the
engine runs.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from yaml.nodes import Node

from helpdesk.yamlsource import (
    Fields,
    NodeReader,
    Problem,
    SourceError,
    compose,
    fingerprint,
    line_of,
    read_source,
    suggest,
)
from tickets.routing.catalog import Catalog, Family, Priority, Queue
from tickets.routing.conditions import CONDITION_KEYS, Condition
from tickets.routing.engine import Action, Rule, RuleSet
from tickets.routing.normalise import normalise_text
from tickets.routing.shadowing import shadowing_rule
from vocabulary import (
    CHANNELS,
    EDITIONS,
    PRIORITIES,
    SUPPORT_LEVELS,
)

SCHEMA_VERSIONS = (1,)
# Editions, support levels, priorities and channels are the vocabulary's; conditions naming
# any other are refused, with where they are written.
EDITION_NAMES = tuple(edition.name for edition in EDITIONS.values())
PRIORITY_CATALOG = tuple(Priority(priority) for priority in PRIORITIES)
TRIAGE_QUEUE = "triage"
ACTION_KEYS = ("queue", "priority", "priority_at_least", "tags", "sla", "emergency_review")

_IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
_UMLAUT_CHARACTERS = re.compile(r"[äöüÄÖÜßẞ]")


def load_rules(path: str | Path) -> RuleSet:
    """Read and compile a rules file; raise SourceError naming every problem."""
    return compile_rules(read_source(path), Path(path))


def check_rules(path: str | Path) -> list[Problem]:
    """Every problem in a rules file, in file order; an empty list means the file is usable."""
    try:
        load_rules(path)
    except SourceError as error:
        return error.problems
    return []


def compile_rules(text: bytes, path: Path) -> RuleSet:
    """Validate and compile the bytes of a rules file that lives at ``path``.

    The rules' version, stored on each ticket with its routing decision, is the bytes' fingerprint.
    """
    reader = NodeReader(str(path))
    ruleset = _Builder(reader).build(compose(text, reader.file), path, fingerprint(text))
    if reader.problems or ruleset is None:
        raise SourceError(reader.sorted_problems())
    return ruleset


class _Builder:
    """Walks the composed document section by section, recording every problem it meets.

    Sections are read best-effort so one run reports as much as possible; any recorded
    problem means no RuleSet is built.
    """

    def __init__(self, reader: NodeReader) -> None:
        self.read = reader
        self.family_components: dict[str, frozenset[str]] = {}
        self.departments: frozenset[str] = frozenset()
        self.queue_ids: set[str] = set()

    def build(self, root: Node, path: Path, version: str) -> RuleSet | None:
        top = self.read.fields(
            root,
            "the rules file",
            required=("version", "catalog", "queues", "rules", "default"),
        )
        if top is None:
            return None
        schema_version = None
        if "version" in top:
            schema_version = self.read.integer(top["version"], "version")
            if schema_version is not None and schema_version not in SCHEMA_VERSIONS:
                self.read.problem(top["version"], f"version {schema_version} is not supported")
        # Catalog and queues first: rules refer to them.
        catalog = self._catalog(top["catalog"]) if "catalog" in top else None
        queues = self._queues(top["queues"]) if "queues" in top else ()
        rules = self._rules(top["rules"]) if "rules" in top else ()
        default = (
            self._default(top.key_nodes["default"], top["default"]) if "default" in top else None
        )
        if self.read.problems or None in (schema_version, catalog, default):
            return None
        assert schema_version is not None and catalog is not None and default is not None
        return RuleSet(
            path=path,
            version=version,
            schema_version=schema_version,
            catalog=catalog,
            queues=queues,
            priorities=PRIORITY_CATALOG,
            rules=rules,
            default=default,
        )

    # -- catalog and queues --------------------------------------------------------------------

    def _catalog(self, node: Node) -> Catalog | None:
        section = self.read.fields(node, "catalog", required=("families", "departments"))
        if section is None or len(section) < 2:
            return None
        families: list[Family] = []
        for item in self.read.sequence(section["families"], "catalog.families"):
            family = self._family(item)
            if family is None:
                continue
            if family.name in self.family_components:
                self.read.problem(item, f"product family {family.name!r} is listed twice")
                continue
            self.family_components[family.name] = frozenset(family.components)
            families.append(family)
        departments = self._unique_strings(section["departments"], "catalog.departments")
        self.departments = frozenset(departments)
        return Catalog(tuple(families), tuple(departments))

    def _family(self, node: Node) -> Family | None:
        fields = self.read.fields(node, "product family", required=("name", "colour", "components"))
        if fields is None or len(fields) < 3:
            return None
        name = self.read.string(fields["name"], "product family name")
        colour = self.read.string(fields["colour"], "colour")
        if colour is not None and not _COLOUR.fullmatch(colour):
            self.read.problem(fields["colour"], f"colour {colour!r} must look like '#1A2B3C'")
            colour = None
        components = self._unique_strings(fields["components"], f"components of {name}")
        if name is None or colour is None:
            return None
        return Family(name, colour.upper(), tuple(components))

    def _unique_strings(self, node: Node, what: str) -> list[str]:
        values: list[str] = []
        for item in self.read.sequence(node, what):
            value = self.read.string(item, what)
            if value is None:
                continue
            if value in values:
                self.read.problem(item, f"{what}: {value!r} is listed twice")
            else:
                values.append(value)
        return values

    def _queues(self, node: Node) -> tuple[Queue, ...]:
        queues: list[Queue] = []
        for item in self.read.sequence(node, "queues"):
            fields = self.read.fields(item, "queue", required=("id", "name", "team", "description"))
            if fields is None or len(fields) < 4:
                continue
            queue_id = self._identifier(fields["id"], "queue id")
            name = self.read.string(fields["name"], "queue name")
            team = self.read.string(fields["team"], "team")
            description = self.read.string(fields["description"], "queue description")
            if queue_id is None or name is None or team is None or description is None:
                continue
            if queue_id in self.queue_ids:
                self.read.problem(fields["id"], f"queue id {queue_id!r} is used twice")
                continue
            self.queue_ids.add(queue_id)
            queues.append(Queue(queue_id, name, team, description))
        if TRIAGE_QUEUE not in self.queue_ids:
            self.read.problem(
                node, f"a queue with id {TRIAGE_QUEUE!r} is required: unmatched mail goes there"
            )
        return tuple(queues)

    # -- rules ----------------------------------------------------------------------------------

    def _rules(self, node: Node) -> tuple[Rule, ...]:
        rules: list[Rule] = []
        first_line: dict[str, int] = {}
        for item in self.read.sequence(node, "rules", allow_empty=True):
            fields = self.read.fields(item, "rule", required=("id", "description", "when", "then"))
            if fields is None or len(fields) < 4:
                continue
            id_node = fields["id"]
            rule_id = self._identifier(id_node, "rule id")
            description = self.read.string(fields["description"], "rule description")
            conditions = self._conditions(fields["when"])
            action = self._action(fields["then"], "then")
            if rule_id is None:
                continue
            if rule_id == "default":
                self.read.problem(id_node, "rule id 'default' is reserved for the default route")
            elif rule_id in first_line:
                self.read.problem(
                    id_node, f"rule id {rule_id!r} is already used on line {first_line[rule_id]}"
                )
            first_line.setdefault(rule_id, line_of(id_node))
            if description is None or conditions is None or action is None:
                continue
            rule = Rule(rule_id, description, line_of(id_node), conditions, action)
            earlier = shadowing_rule(rules, rule)
            if earlier is not None:
                self.read.problem(
                    id_node,
                    f"rule {rule_id!r} can never match: rule {earlier.id!r} on line "
                    f"{earlier.line} comes first and matches every ticket this one would",
                )
            rules.append(rule)
        return tuple(rules)

    def _conditions(self, node: Node) -> tuple[Condition, ...] | None:
        fields = self.read.fields(node, "when", optional=CONDITION_KEYS)
        if fields is None:
            return None
        if not fields:
            if not node.value:  # an empty mapping: unknown keys were reported already
                self.read.problem(
                    node, "a rule needs at least one condition (the catch-all is 'default')"
                )
            return None
        problems_before = len(self.read.problems)
        families: list[str] = []
        if "product_family" in fields:
            families = self._members(
                fields["product_family"], "product family", self.family_components
            )
        conditions = [
            Condition.build(key, families)
            if key == "product_family"
            else self._condition(key, value, families)
            for key, value in fields.items()
        ]
        if len(self.read.problems) > problems_before:
            return None
        return tuple(condition for condition in conditions if condition is not None)

    def _condition(self, key: str, node: Node, families: list[str]) -> Condition | None:
        """Validate one condition; None (with a problem recorded) when it is unusable."""
        if key == "license_locked":
            wanted = self.read.boolean(node, key)
            return None if wanted is None else Condition.build(key, wanted)
        if key == "subject_regex":
            source = self.read.string(node, key)
            if source is None or not self._regex(node, source):
                return None
            return Condition.build(key, (source,))
        if key in ("subject", "body"):
            phrases = self.read.strings(node, key)
            for phrase, item in phrases:
                if not normalise_text(phrase):
                    self.read.problem(item, f"{key} phrase {phrase!r} has no letters or digits")
            return Condition.build(key, [phrase for phrase, _ in phrases])
        if key == "mailbox":
            addresses = self.read.strings(node, key)
            for address, item in addresses:
                local, at, domain = address.partition("@")
                if not (local and at and domain) or "@" in domain:
                    self.read.problem(item, f"mailbox {address!r} must be an e-mail address")
            return Condition.build(key, [address for address, _ in addresses])
        if key == "component":
            values = self._members(node, "component", self._components_of(families))
            return Condition.build(key, values)
        known: Collection[str] = {
            "department": self.departments,
            "channel": CHANNELS,
            "edition": EDITION_NAMES,
            "support_level": SUPPORT_LEVELS,
            "requested_priority": PRIORITIES,
        }[key]
        return Condition.build(key, self._members(node, key.replace("_", " "), known))

    def _components_of(self, families: list[str]) -> frozenset[str]:
        chosen = families or list(self.family_components)
        return frozenset().union(*(self.family_components[family] for family in chosen))

    def _members(self, node: Node, what: str, known: Collection[str]) -> list[str]:
        values = []
        for value, item in self.read.strings(node, what):
            if value in known:
                values.append(value)
            elif what == "component" and any(value in c for c in self.family_components.values()):
                self.read.problem(
                    item, f"component {value!r} can never match: not part of the rule's families"
                )
            else:
                self.read.problem(item, f"unknown {what} {value!r}{suggest(value, known)}")
        return values

    def _regex(self, node: Node, source: str) -> bool:
        if _UMLAUT_CHARACTERS.search(source):
            self.read.problem(
                node,
                "subject_regex: write umlauts as ae, oe, ue and ß as ss "
                "(subjects are matched in normal form)",
            )
            return False
        try:
            re.compile(source, re.IGNORECASE)
        except re.error as error:
            self.read.problem(node, f"subject_regex does not compile: {error}")
            return False
        return True

    def _action(self, node: Node, what: str) -> Action | None:
        fields = self.read.fields(node, what, required=("queue",), optional=ACTION_KEYS[1:])
        return None if fields is None else self._action_fields(fields, what)

    def _action_fields(self, fields: Fields, what: str) -> Action | None:
        if "queue" not in fields:
            return None
        problems_before = len(self.read.problems)
        queue_node = fields["queue"]
        queue = self.read.string(queue_node, "queue")
        if queue is not None and queue not in self.queue_ids:
            self.read.problem(
                queue_node, f"unknown queue {queue!r}{suggest(queue, self.queue_ids)}"
            )
        priorities: dict[str, str | None] = {}
        for key in ("priority", "priority_at_least"):
            if key in fields:
                value = self.read.string(fields[key], key)
                if value is not None and value not in PRIORITIES:
                    self.read.problem(
                        fields[key], f"unknown priority {value!r}{suggest(value, PRIORITIES)}"
                    )
                priorities[key] = value
        if len(priorities) == 2:
            self.read.problem(
                fields.key_nodes["priority_at_least"], "use priority or priority_at_least"
            )
        tags: list[str] = []
        if "tags" in fields:
            for tag_node in self.read.sequence(fields["tags"], "tags", allow_empty=True):
                tag = self._identifier(tag_node, "tag")
                if tag is not None and tag not in tags:
                    tags.append(tag)
        sla = self.read.string(fields["sla"], "sla") if "sla" in fields else None
        emergency_review = False
        if "emergency_review" in fields:
            emergency_review = bool(
                self.read.boolean(fields["emergency_review"], "emergency_review")
            )
        if len(self.read.problems) > problems_before or queue is None:
            return None
        return Action(
            queue=queue,
            priority=priorities.get("priority"),
            priority_at_least=priorities.get("priority_at_least"),
            tags=tuple(tags),
            sla_policy=sla,
            emergency_review=emergency_review,
        )

    def _default(self, key_node: Node, node: Node) -> Rule | None:
        fields = self.read.fields(
            node, "default", required=("queue",), optional=(*ACTION_KEYS[1:], "description")
        )
        if fields is None:
            return None
        description = "no rule matched"
        if "description" in fields:
            description = self.read.string(fields.pop("description"), "description") or ""
        action = self._action_fields(fields, "default")
        if action is None:
            return None
        return Rule("default", description, line_of(key_node), (), action)

    def _identifier(self, node: Node, what: str) -> str | None:
        value = self.read.string(node, what)
        if value is not None and not _IDENTIFIER.fullmatch(value):
            self.read.problem(
                node, f"{what} {value!r} may use only lower-case letters, digits, '-', '_', '.'"
            )
            return None
        return value
