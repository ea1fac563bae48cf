"""Reading a YAML file as composed nodes, so every problem can name its line and column.

Scalars are read from their source text rather than resolved: YAML 1.1 would turn ``17:00``
into the integer 1020 and ``2026-06-19`` into a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


@dataclass(frozen=True)
class Problem:
    """One mistake in a policy file, printed as ``FILE:LINE:COLUMN: message`` (1-based)."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class SlaPolicyError(Exception):
    """A policy file that cannot be used; ``problems`` lists every mistake found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def compose_file(path: str | PathLike[str]) -> tuple[Node | None, list[Problem]]:
    """The root node of the one YAML document in ``path``, or the problem that prevents it."""
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(label, 1, 1, f"cannot read the file: {error}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(label, line, column, f"invalid YAML: {error.problem}")]
    except yaml.YAMLError as error:
        return None, [Problem(label, 1, 1, f"invalid YAML: {error}")]
    if root is None:
        return None, [Problem(label, 1, 1, "the file is empty")]
    return root, []


class Fields(dict[str, Node]):
    """Values by key, with the key nodes kept to point at in messages."""

    key_nodes: dict[str, ScalarNode]


class NodeReader:
    """Typed access to composed nodes that records a Problem instead of raising."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")

    def error(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.label, mark.line + 1, mark.column + 1, message))

    def mapping(self, node: Node, what: str) -> dict[str, tuple[ScalarNode, Node]] | None:
        """Keys to (key node, value node); merge keys (``<<: *anchor``) are applied."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping")
            return None
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, ScalarNode) and key.tag != _MERGE:
                if key.value in seen:
                    self.error(key, f"duplicate key {key.value!r} in {what}")
                seen.add(key.value)
        try:
            self._constructor.flatten_mapping(node)
        except yaml.MarkedYAMLError as error:
            self.error(node, f"bad merge key in {what}: {error.problem}")
            return None
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.error(key, f"keys in {what} must be plain names")
                continue
            entries[key.value] = (key, value)
        return entries

    def fields(
        self,
        anchor: Node,
        node: Node,
        what: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
    ) -> Fields | None:
        """The values of a mapping with known keys; unknown and missing ones are problems."""
        entries = self.mapping(node, what)
        if entries is None:
            return None
        for name, (key, _) in entries.items():
            if name not in required and name not in optional:
                expected = ", ".join(required + optional)
                self.error(key, f"unknown key {name!r} in {what}; expected {expected}")
        for name in required:
            if name not in entries:
                self.error(anchor, f"{what}: missing {name!r}")
        fields = Fields({name: value for name, (_, value) in entries.items()})
        fields.key_nodes = {name: key for name, (key, _) in entries.items()}
        return fields

    def text(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag == _NULL:
            self.error(node, f"{what} must be a single value")
            return None
        return node.value.strip()

    def optional_text(self, node: Node | None, what: str) -> str | None:
        if node is None or (isinstance(node, ScalarNode) and node.tag == _NULL):
            return None
        return self.text(node, what)

    def boolean(self, node: Node, what: str) -> bool | None:
        if not isinstance(node, ScalarNode) or node.tag != _BOOL:
            self.error(node, f"{what} must be true or false")
            return None
        return bool(self._constructor.construct_yaml_bool(node))

    def sequence(self, node: Node, what: str) -> list[Node] | None:
        if isinstance(node, ScalarNode) and node.tag == _NULL:
            return []
        if not isinstance(node, SequenceNode):
            self.error(node, f"{what} must be a list")
            return None
        return list(node.value)

    def duration(self, node: Node, what: str, day_minutes: int) -> int | None:
        """Minutes from ``90``, ``90m``, ``4h``, ``1h30m`` or ``3d`` (``d``: ``day_minutes``)."""
        value = self.text(node, what)
        if value is None:
            return None
        compact = value.replace(" ", "")
        match = _DURATION.fullmatch(compact)
        if compact.isdigit():
            minutes = int(compact)
        elif match and compact:
            days, hours, mins = (int(part or 0) for part in match.groups())
            minutes = days * day_minutes + hours * 60 + mins
        else:
            self.error(node, f"{what}: {value!r} is not a duration such as 45m, 4h, 1h30m or 3d")
            return None
        if minutes <= 0:
            self.error(node, f"{what} must be longer than zero")
            return None
        return minutes
