"""Reading a YAML file as composed nodes, so every problem can name its file, line and column.

Values are read from the nodes, never constructed by YAML 1.1: :meth:`NodeReader.text` takes a
scalar as written, so ``17:00`` stays 17:00 (not the sexagesimal 1020) and ``2026-06-19`` stays
text, while :meth:`NodeReader.string`, ``boolean`` and ``integer`` insist on the resolved type.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
MERGE = "tag:yaml.org,2002:merge"
# libyaml's parser when PyYAML was built with it: same nodes and marks, many times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


class Problem(NamedTuple):
    """One mistake in a source file, printed as ``FILE:LINE:COLUMN: message`` (1-based)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class SourceError(Exception):
    """A source file cannot be used; ``problems`` says where and why, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def read_source(path: str | PathLike[str]) -> bytes:
    """The bytes of ``path``; raise SourceError when the file cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise SourceError([Problem(str(path), 1, 1, f"cannot read the file: {reason}")]) from None


def fingerprint(text: bytes) -> str:
    """A short hash of a source file's bytes: names the version of the file a value came from."""
    return hashlib.sha256(text).hexdigest()[:12]


def compose(text: bytes | str, file: str) -> Node:
    """Compose exactly one YAML document with the safe loader; raise SourceError otherwise."""
    try:
        documents = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (error.context, error.problem) if part)
        raise SourceError([Problem(file, line, column, f"invalid YAML: {message}")]) from None
    except yaml.YAMLError as error:  # e.g. undecodable bytes: no mark to point at
        message = " ".join(str(error).split())  # one line, as every problem is
        raise SourceError([Problem(file, 1, 1, f"invalid YAML: {message}")]) from None
    if not documents:
        raise SourceError([Problem(file, 1, 1, "the file is empty")])
    if len(documents) > 1:
        line = documents[1].start_mark.line + 1
        raise SourceError([Problem(file, line, 1, "expected one YAML document, found more")])
    return documents[0]


def suggest(value: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" when a close spelling exists, else ""."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


def is_null(node: Node | None) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL


class Fields(dict[str, Node]):
    """Value nodes by key, with the key nodes kept to point at in messages."""

    def __init__(self, entries: dict[str, tuple[ScalarNode, Node]]) -> None:
        super().__init__({name: value for name, (_, value) in entries.items()})
        self.key_nodes = {name: key for name, (key, _) in entries.items()}


# Constructs booleans and integers from nodes; never sees the document's text.
_CONSTRUCTOR = yaml.SafeLoader("")


class NodeReader:
    """Typed access to composed nodes that records a Problem instead of raising.

    Readers are best-effort so one run reports as much as possible: a method that finds a
    problem records it and returns None (or an empty list); the caller decides whether the
    value is usable by whether problems were recorded.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.file, mark.line + 1, mark.column + 1, message))

    def sorted_problems(self) -> list[Problem]:
        """The recorded problems once each, in file order (in recorded order at one spot)."""
        unique = dict.fromkeys(self.problems)
        return sorted(unique, key=lambda problem: (problem.line, problem.column))

    def mapping(self, node: Node, what: str) -> Fields | None:
        """Any keys; merge keys (``<<: *anchor``) are applied, a duplicate key is a problem."""
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what} must be a mapping")
            return None
        pairs = self._merged_pairs(node, what, frozenset())
        if pairs is None:
            return None
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        for key, value in pairs:
            if not isinstance(key, ScalarNode) or key.tag == NULL:
                self.problem(key, f"{what}: keys must be plain words")
                continue
            entries[key.value] = (key, value)
        return Fields(entries)

    def _merged_pairs(
        self, node: MappingNode, what: str, enclosing: frozenset[int]
    ) -> list[tuple[Node, Node]] | None:
        """Merged pairs first, own pairs last, so a later pair overrides an earlier one.

        Unlike PyYAML's ``flatten_mapping`` this leaves the nodes as composed: an anchored
        mapping read again, at its alias, reads the same.
        """
        merged: list[tuple[Node, Node]] = []
        own: list[tuple[Node, Node]] = []
        seen: set[str] = set()
        path = enclosing | {id(node)}
        for key, value in node.value:
            if not (isinstance(key, ScalarNode) and key.tag == MERGE):
                if isinstance(key, ScalarNode):
                    if key.value in seen:
                        self.problem(key, f"{what}: duplicate key {key.value!r}")
                    seen.add(key.value)
                own.append((key, value))
                continue
            # Of several merged mappings the first wins, as in PyYAML: it is added last.
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for source in reversed(sources):
                if not isinstance(source, MappingNode) or id(source) in path:
                    self.problem(
                        source, f"{what}: a merge key (<<) takes a mapping or a list of them"
                    )
                    return None
                pairs = self._merged_pairs(source, what, path)
                if pairs is None:
                    return None
                merged.extend(pairs)
        return merged + own

    def fields(
        self,
        node: Node,
        what: str,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        *,
        anchor: Node | None = None,
    ) -> Fields | None:
        """A mapping with known keys; unknown and missing keys are problems.

        A missing key is reported at ``anchor`` (default: the mapping itself), e.g. the key
        that introduces the mapping, where the reader looks for it.
        """
        fields = self.mapping(node, what)
        if fields is None:
            return None
        known = (*required, *optional)
        for name, key in list(fields.key_nodes.items()):
            if name not in known:
                hint = suggest(name, known) or f"; expected {', '.join(known)}"
                self.problem(key, f"{what}: unknown key {name!r}{hint}")
                del fields[name], fields.key_nodes[name]
        for name in required:
            if name not in fields:
                self.problem(anchor or node, f"{what}: missing key {name!r}")
        return fields

    def sequence(self, node: Node, what: str, *, allow_empty: bool = False) -> list[Node]:
        """The items of a list; with ``allow_empty`` an empty value (null) is an empty list."""
        if allow_empty and is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.problem(node, f"{what} must be a list")
            return []
        if not node.value and not allow_empty:
            self.problem(node, f"{what} must not be empty")
        return list(node.value)

    def string(self, node: Node, what: str) -> str | None:
        """Non-empty text that YAML reads as text (not a number, date or boolean)."""
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

    def text(self, node: Node, what: str) -> str | None:
        """Any single scalar as written in the file, stripped: ``17:00`` stays ``'17:00'``."""
        if not isinstance(node, ScalarNode) or node.tag == NULL:
            self.problem(node, f"{what} must be a single value")
            return None
        return node.value.strip()

    def optional_text(self, node: Node | None, what: str) -> str | None:
        """Like ``text``, but an absent or empty (null) value is None without a problem."""
        if node is None or is_null(node):
            return None
        return self.text(node, what)

    def boolean(self, node: Node, what: str) -> bool | None:
        if not isinstance(node, ScalarNode) or node.tag != BOOL:
            self.problem(node, f"{what} must be true or false")
            return None
        return bool(_CONSTRUCTOR.construct_yaml_bool(node))

    def integer(self, node: Node, what: str) -> int | None:
        if not isinstance(node, ScalarNode) or node.tag != INT:
            self.problem(node, f"{what} must be a whole number")
            return None
        return int(_CONSTRUCTOR.construct_yaml_int(node))

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
            self.problem(node, f"{what}: {value!r} is not a duration such as 45m, 4h, 1h30m or 3d")
            return None
        if minutes <= 0:
            self.problem(node, f"{what} must be longer than zero")
            return None
        return minutes
