"""The one YAML reader: every problem names FILE:LINE:COLUMN, values are read as the file says."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.yamlsource import NodeReader, Problem, SourceError, compose

FILE = "source.yaml"
POSITIONED = re.compile(r"source\.yaml:[1-9]\d*:[1-9]\d*: \S.*")


def read(text: str) -> tuple[NodeReader, object]:
    reader = NodeReader(FILE)
    return reader, compose(text, FILE)


def problems_of(text: str, *, required=(), optional=()) -> list[str]:
    reader, root = read(text)
    reader.fields(root, "top", required, optional)
    return [str(problem) for problem in reader.sorted_problems()]


def test_a_problem_prints_file_line_and_column():
    assert str(Problem("rules.yaml", 4, 12, "unknown queue")) == "rules.yaml:4:12: unknown queue"


def test_a_syntax_error_points_at_the_line_where_it_breaks():
    with pytest.raises(SourceError) as raised:
        compose("a: 1\nb: [open\nc: 2\n", FILE)

    (problem,) = raised.value.problems
    assert problem.line == 3 and problem.message.startswith("invalid YAML: ")


def test_an_empty_file_is_a_problem():
    with pytest.raises(SourceError, match=r"source\.yaml:1:1: the file is empty"):
        compose("# only a comment\n", FILE)


def test_a_second_document_is_reported_where_it_starts():
    with pytest.raises(SourceError, match=r"source\.yaml:3:1: expected one YAML document"):
        compose("a: 1\n---\nb: 2\n", FILE)


def test_undecodable_bytes_are_one_problem_on_one_line():
    with pytest.raises(SourceError) as raised:
        compose(b"a: \xff\xfe\n", FILE)

    (problem,) = raised.value.problems
    assert (problem.line, problem.column) == (1, 1) and "\n" not in problem.message


def test_an_unknown_key_suggests_the_close_spelling():
    (problem,) = problems_of(
        "queue: a\nprioirty: high\n", required=("queue",), optional=("priority",)
    )

    assert problem == "source.yaml:2:1: top: unknown key 'prioirty' (did you mean 'priority'?)"


def test_an_unknown_key_without_a_close_spelling_lists_the_known_ones():
    (problem,) = problems_of("queue: a\ncolour: red\n", required=("queue",), optional=("tags",))

    assert problem == "source.yaml:2:1: top: unknown key 'colour'; expected queue, tags"


def test_a_missing_key_is_reported_at_the_anchor():
    reader, root = read("gold:\n  low: 1\n")
    level = root.value[0]

    reader.fields(level[1], "policies for gold", ("low", "high"), anchor=level[0])

    assert [str(p) for p in reader.problems] == [
        "source.yaml:1:1: policies for gold: missing key 'high'"
    ]


def test_a_duplicate_key_is_reported_at_its_second_occurrence():
    (problem,) = problems_of("queue: a\nqueue: b\n", required=("queue",))

    assert problem == "source.yaml:2:1: top: duplicate key 'queue'"


def test_merge_keys_share_settings_and_own_keys_win():
    reader, root = read(
        "base: &base {clock: business, first: 4h}\n"
        "gold: {<<: *base, first: 1h}\n"
        "silver: {<<: *base}\n"
    )
    top = reader.mapping(root, "top")
    assert top is not None

    gold, silver = (reader.mapping(top[name], name) for name in ("gold", "silver"))
    again = reader.mapping(top["base"], "base")

    assert reader.problems == []
    assert {key: node.value for key, node in gold.items()} == {"clock": "business", "first": "1h"}
    assert {key: node.value for key, node in silver.items()} == {"clock": "business", "first": "4h"}
    assert {key: node.value for key, node in again.items()} == {"clock": "business", "first": "4h"}


def test_a_mapping_merging_itself_is_a_problem_not_a_crash():
    reader, root = read("a: &a {x: 1, <<: *a}\n")
    top = reader.mapping(root, "top")
    assert top is not None

    assert reader.mapping(top["a"], "a") is None
    assert [p.message for p in reader.problems] == [
        "a: a merge key (<<) takes a mapping or a list of them"
    ]


def test_text_is_read_as_written_but_string_insists_on_text():
    reader, root = read("opens: 17:00\nday: 2026-06-19\n")
    fields = reader.mapping(root, "top")
    assert fields is not None

    assert reader.text(fields["opens"], "opens") == "17:00"
    assert reader.text(fields["day"], "day") == "2026-06-19"
    assert reader.problems == []
    assert reader.string(fields["opens"], "opens") is None
    assert "quote it" in reader.problems[0].message


def test_booleans_and_integers_need_their_yaml_type():
    reader, root = read("flag: yes\ncount: 3\nwrong: '3'\n")
    fields = reader.mapping(root, "top")
    assert fields is not None

    assert reader.boolean(fields["flag"], "flag") is True
    assert reader.integer(fields["count"], "count") == 3
    assert reader.integer(fields["wrong"], "wrong") is None
    assert [str(p) for p in reader.problems] == ["source.yaml:3:8: wrong must be a whole number"]


def test_an_empty_value_is_an_empty_list_only_where_allowed():
    reader, root = read("tags:\nrules:\n")
    fields = reader.mapping(root, "top")
    assert fields is not None

    assert reader.sequence(fields["tags"], "tags", allow_empty=True) == []
    assert reader.problems == []
    assert reader.sequence(fields["rules"], "rules") == []
    assert [p.message for p in reader.problems] == ["rules must be a list"]


@pytest.mark.parametrize(
    ("written", "minutes"), [("90", 90), ("45m", 45), ("4h", 240), ("1h30m", 90), ("3d", 1620)]
)
def test_durations_count_days_on_the_given_clock(written, minutes):
    reader, root = read(f"target: {written}\n")

    assert reader.duration(root.value[0][1], "target", day_minutes=540) == minutes


@given(
    days=st.integers(0, 30),
    hours=st.integers(0, 100),
    mins=st.integers(0, 1000),
    day_minutes=st.integers(1, 1440),
)
def test_a_duration_adds_its_parts(days, hours, mins, day_minutes):
    reader, root = read(f"target: {days}d{hours}h{mins}m\n")

    minutes = reader.duration(root.value[0][1], "target", day_minutes)

    total = days * day_minutes + hours * 60 + mins
    assert minutes == (total if total > 0 else None)
    assert (reader.problems == []) == (total > 0)


@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{},&*<'\"#\n \t1")), max_size=60))
def test_any_text_composes_or_fails_with_positioned_one_line_problems(text):
    try:
        root = compose(text, FILE)
    except SourceError as error:
        assert error.problems and all(POSITIONED.fullmatch(str(p)) for p in error.problems)
        return
    reader = NodeReader(FILE)
    reader.fields(root, "top", ("a",), ("b",))
    assert all(POSITIONED.fullmatch(str(p)) for p in reader.problems)
