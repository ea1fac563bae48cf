"""The history a client quotes is split off the new text, for German and English clients."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.corpus import load
from tickets.inbound.parsing import parse_message
from tickets.inbound.quoting import split_quoted

NEW = "Der Fehler tritt weiterhin auf."
HISTORY_MARKERS = {
    "outlook separator": "-----Ursprüngliche Nachricht-----\nVon: Support\nText",
    "outlook english": "-----Original Message-----\nFrom: Support\nText",
    "outlook header block": (
        "Von: Kundencenter Support <support@support.example.com>\n"
        "Gesendet: Montag, 2. November 2026 09:15\nAn: Max\nBetreff: Test\n\nText"
    ),
    "outlook english header block": (
        "From: Support <support@support.example.com>\nSent: Monday, November 2, 2026 9:15 AM\n"
        "To: Max\nSubject: Test\n\nText"
    ),
    "thunderbird": "Am 02.11.26 um 09:15 schrieb Kundencenter Support:\n> Text",
    "apple mail": "Am 02.11.2026 um 09:15 schrieb Support <support@support.example.com>:\n\n> Text",
    "gmail wrapped": (
        "Am Mo., 2. Nov. 2026 um 09:15 Uhr schrieb Kundencenter Support <\n"
        "support@support.example.com>:\n\n> Text"
    ),
    "english": "On Mon, Nov 2, 2026 at 9:15 AM Support <support@example.com> wrote:\n> Text",
    "plain quotes": "> Text\n> mehr Text",
    "forward": "---------- Forwarded message ---------\nFrom: x\nText",
}


@pytest.mark.parametrize("marker", HISTORY_MARKERS.values(), ids=HISTORY_MARKERS.keys())
def test_history_after_a_known_marker_is_split_off_and_kept(marker):
    split = split_quoted(f"{NEW}\n\n{marker}\n")

    assert split.visible == NEW
    assert split.quoted == marker


def test_inline_answers_between_quotes_are_not_cut():
    text = "> Geht es?\nNein.\n> Seit wann?\nSeit gestern."

    assert split_quoted(text).visible == text
    assert split_quoted(text).quoted is None


def test_a_bare_forward_keeps_all_text_visible():
    text = "-----Ursprüngliche Nachricht-----\nVon: Lieferant\n\nRechnung anbei."

    assert split_quoted(text).visible == text


def test_a_sentence_starting_with_am_is_no_attribution():
    text = "Am Montag haben wir das Update eingespielt.\nSeitdem geht nichts."

    assert split_quoted(text).quoted is None


def test_outlook_reply_in_the_corpus_keeps_only_the_new_text():
    mail = parse_message(load("outlook_reply_aw_de.eml"))

    assert mail.text.startswith("Hallo,\n\nder Fehler tritt weiterhin auf – auch nach dem Update.")
    assert mail.quoted.startswith("-----Ursprüngliche Nachricht-----\nVon: Kundencenter Support")


def test_outlook_underscore_rule_and_header_block_in_the_corpus():
    mail = parse_message(load("outlook_reply_header_block_de.eml"))

    assert mail.text == "Ich schließe mich an, bei uns ist es dasselbe."
    assert mail.quoted.startswith("________________________________\nVon: Kundencenter Support")


lines = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=40)


@given(st.lists(lines, max_size=12), st.sampled_from(list(HISTORY_MARKERS.values())))
def test_splitting_loses_no_line(body_lines, marker):
    text = "\n".join([NEW, *body_lines, "", marker])
    split = split_quoted(text)

    rejoined = split.visible + ("\n" + split.quoted if split.quoted else "")
    assert [line.strip() for line in rejoined.split("\n") if line.strip()] == [
        line.strip() for line in text.split("\n") if line.strip()
    ]
    assert split.visible.startswith(NEW)
