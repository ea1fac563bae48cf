"""Tag input: whatever an agent types, stored tags are in normal form and read back the same."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from helpdesk.errors import ValidationError
from tickets.tags import TAG_MAX, normal_tag, parse_tags


@given(st.text(max_size=120))
def test_parsed_tags_are_normal_unique_and_parse_again_to_themselves(text):
    try:
        tags = parse_tags(text)
    except ValidationError as error:
        assert set(error.errors) == {"add"}
        return
    assert len(tags) == len(set(tags))
    for tag in tags:
        assert tag == normal_tag(tag) != ""
        assert "," not in tag
        assert len(tag) <= TAG_MAX
    assert parse_tags(", ".join(tags)) == tags


def test_case_and_spaces_do_not_make_another_tag():
    assert parse_tags("  Rückruf ,rückruf,  VIP  Kunde ,") == ["rückruf", "vip kunde"]
