"""Reading a YAML document as composed nodes, so every problem can name its line and column."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STR = "tag:yaml.org,2002:str"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
# libyaml's parser when PyYAML was built with it: same nodes and marks, many times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Problem(NamedTuple):
    """One thing wrong with a rules file; ``line`` and ``column`` count from 1."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class RulesError(Exception):
    """A rules file cannot be used; ``problems`` says where and why."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def compose(text: bytes, file: str) -> Node:
    """Compose exactly one YAML document with the safe loader; raise RulesError otherwise."""
    try:
        documents = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (error.context, error.problem) if part)
        raise RulesError([Problem(file, line, column, f"YAML: {message}")]) from None
    except yaml.YAMLError as error:  # e.g. undecodable bytes: no mark to point at
        message = " ".join(str(error).split())  # one line, as every problem is
        raise RulesError([Problem(file, 1, 1, f"YAML: {message}")]) from None
    if len(documents) != 1:
        raise RulesError([Problem(file, 1, 1, "expected one YAML document")])
    return documents[0]


class Reader:
    """Typed access to composed nodes that records a Problem instead of raising."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.file, mark.line + 1, mark.column + 1, message))

    def mapping(
        self,
        node: Node,
        what: str,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
    ) -> dict[str, tuple[ScalarNode, Node]] | None:
        """Return ``{key: (key node, value node)}``, reporting unknown, duplicate, missing keys."""
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what} must be a mapping")
            return None
        known = (*required, *optional)
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != STR:
                self.problem(key_node, f"{what}: keys must be plain words")
                continue
            key = key_node.value
            if key in entries:
                self.problem(key_node, f"{what}: duplicate key {key!r}")
            elif key not in known:
                self.problem(key_node, f"{what}: unknown key {key!r}{suggest(key, known)}")
            else:
                entries[key] = (key_node, value_node)
        for key in required:
            if key not in entries:
                self.problem(node, f"{what}: missing key {key!r}")
        return entries

    def sequence(self, node: Node, what: str, *, allow_empty: bool = False) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{what} must be a list")
            return []
        if not node.value and not allow_empty:
            self.problem(node, f"{what} must not be empty")
        return list(node.value)

    def string(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag != STR:
            self.problem(node, f"{what} must be text (quote it if YAML reads it as something else)")
            return None
        if not node.value.strip():
            self.problem(node, f"{what} must not be empty")
            return None
        return node.value

    def strings(self, node: Node, what: str) -> list[tuple[str, Node]]:
        """A single text or a non-empty list of texts, each with its node."""
        items = [node] if isinstance(node, ScalarNode) else self.sequence(node, what)
        values = []
        for item in items:
            value = self.string(item, what)
            if value is not None:
                values.append((value, item))
        return values

    def boolean(self, node: Node, what: str) -> bool | None:
        if not isinstance(node, ScalarNode) or node.tag != BOOL:
            self.problem(node, f"{what} must be true or false")
            return None
        return bool(yaml.SafeLoader.construct_yaml_bool(_CONSTRUCTOR, node))

    def integer(self, node: Node, what: str) -> int | None:
        if not isinstance(node, ScalarNode) or node.tag != INT:
            self.problem(node, f"{what} must be a whole number")
            return None
        return int(yaml.SafeLoader.construct_yaml_int(_CONSTRUCTOR, node))


_CONSTRUCTOR = yaml.SafeLoader("")


def suggest(value: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" when a close spelling exists, else ""."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def line_of(node: Node) -> int:
    return node.start_mark.line + 1
