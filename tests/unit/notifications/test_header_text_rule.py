"""The doors and the mail builder share one rule: what a door accepts, the builder can build."""

from __future__ import annotations

from email.headerregistry import Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.text import body_text_problem, header_text_problem
from notifications import messages


def _build(subject: str, text: str) -> None:
    messages.build_message(
        sender=Address("Kundencenter Support", addr_spec="support@support.example.com"),
        recipient="kunde@beispiel.example",
        subject=subject,
        text=text,
        html=f"<p>{text}</p>",
        message_id="<1@support.example.com>",
    )


@given(subject=st.text(max_size=60), text=st.text(max_size=200))
def test_the_builder_builds_exactly_what_the_rule_accepts(subject, text):
    accepted = header_text_problem(subject) is None and body_text_problem(text) is None

    try:
        _build(subject, text)
        built = True
    except messages.UnsafeText:
        built = False

    assert built == accepted


@pytest.mark.parametrize(
    "character",
    [
        "\x00",
        "\x1f",
        "\x7f",
        "\x80",
        "\x85",
        "\x9f",
        "\u2028",
        "\u2029",
        "\ud800",
        "\udfff",
        "\t",
        "\n",
    ],
)
def test_a_header_text_refuses_each_kind_of_unsafe_character(character):
    assert header_text_problem(f"Wartung{character}heute") is not None


@pytest.mark.parametrize("text", ["Wartung heute", "Größe: 5 € – „gut“", "日本語", "😀"])
def test_a_header_text_takes_ordinary_text_of_any_script(text):
    assert header_text_problem(text) is None
