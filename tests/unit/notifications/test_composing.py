"""Checking drafts: subjects without line breaks, links only to the customer center."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.mailings.composing import DraftError, MailingDraft, body_html, check_draft
from notifications.mailings.messages import quoted_printable

LINK_HOSTS = ("kundencenter.example",)
FAMILIES = {"JTL-Wawi": "#2C6FB7"}


def _draft(**values: object) -> MailingDraft:
    fields: dict[str, object] = {
        "product_family": "JTL-Wawi",
        "purpose": "security",
        "subject": "Wichtige Änderungen",
        "body": "Siehe [Kundencenter](https://kundencenter.example/x).",
    }
    return MailingDraft(**(fields | values))  # type: ignore[arg-type]


def test_a_good_draft_passes():
    check_draft(_draft(), FAMILIES, LINK_HOSTS)


@given(
    before=st.text(max_size=20),
    breaker=st.sampled_from(["\r", "\n", "\r\n", "\x00", "\x0b", "\x7f"]),
    after=st.text(max_size=20),
)
def test_a_subject_with_a_line_break_or_control_character_is_refused(before, breaker, after):
    with pytest.raises(DraftError) as refused:
        check_draft(_draft(subject=f"Wartung{before}{breaker}{after}"), FAMILIES, LINK_HOSTS)
    assert "subject" in refused.value.errors


@pytest.mark.parametrize(
    "body",
    [
        "Download: https://evil.example/patch.exe",
        "[Patch](http://kundencenter.example.evil.example/)",
        "[Mail](mailto:x@example.com)",
        "Siehe www.evil.example",
        "<https://evil.example/a>",
    ],
)
def test_links_to_other_hosts_are_refused(body):
    with pytest.raises(DraftError) as refused:
        check_draft(_draft(body=body), FAMILIES, LINK_HOSTS)
    assert "body" in refused.value.errors


def test_unknown_editions_are_refused():
    with pytest.raises(DraftError) as refused:
        check_draft(
            _draft(audience_kind="editions", audience_values=("platin",)), FAMILIES, LINK_HOSTS
        )
    assert "audience" in refused.value.errors


def test_markdown_is_rendered_without_raw_html():
    html = str(body_html("**fett** <script>alert(1)</script> <img src=x>", "markdown"))

    assert "<strong>fett</strong>" in html
    assert "<script" not in html and "<img" not in html


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=2000))
def test_quoted_printable_round_trips_with_short_crlf_lines(text):
    encoded = quoted_printable(text)

    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    if not expected.endswith("\n"):
        expected += "\n"
    assert binascii.a2b_qp(encoded).decode("utf-8").replace("\r\n", "\n") == expected
