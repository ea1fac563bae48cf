"""Subject normalisation: what survives real mail, as examples and as properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickets.routing import RuleSet, TicketFacts
from tickets.routing.normalise import contains_phrase, normalise_subject, normalise_text

WORDS = [
    "Zugang",
    "gesperrt",
    "Lizenz",
    "sperren",
    "Marktplatzkonto",
    "übertragen",
    "Todesfall",
    "Shop",
    "offline",
    "Kundennr.",
    "123456",
    "Rechnung",
    "Straße",
    "Größe",
    "aus",
    "Versehen",
    "gebucht",
    "stornieren",
    "Installationsservice",
    "absagen",
    "anderes",
    "Kundenkonto",
    "Frage",
    "JTL-Wawi",
    "Plan&Produce",
    "Änderung",
    "Einrichtungsservice",
]
PREFIXES = [
    "Re:",
    "AW:",
    "Aw:",
    "Antw:",
    "Antwort:",
    "Fwd:",
    "Fw:",
    "WG:",
    "Wtr:",
    "TR:",
    "Re[2]:",
    "AW (3):",
    "[EXTERN]",
    "[Ticket#123]",
    "(extern)",
    "Fwd :",
]
SEPARATORS = [" ", "  ", "\t", " - ", "-", "_", "\u00a0", " \u3000 "]
TRAILING = ["", "!", "!!", "?", "...", " ?!", ".", " :-)"]

bare_words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6)


@st.composite
def recased(draw: st.DrawFn, text: str) -> str:
    return "".join(draw(st.sampled_from((c.upper(), c.lower(), c))) for c in text)


@st.composite
def prefix_chains(draw: st.DrawFn) -> str:
    prefixes = draw(st.lists(st.sampled_from(PREFIXES), max_size=5))
    spacing = draw(st.sampled_from(["", " ", "  "]))
    return "".join(draw(recased(prefix)) + spacing for prefix in prefixes) + " "


@st.composite
def mail_subjects(draw: st.DrawFn, words: list[str]) -> str:
    """``words`` as a real mail would carry them: prefixed, recased, respaced, punctuated."""
    separated = words[0]
    for word in words[1:]:
        separated += draw(st.sampled_from(SEPARATORS)) + word
    return (
        draw(prefix_chains())
        + draw(st.sampled_from(["", " ", "\t"]))
        + draw(recased(separated))
        + draw(st.sampled_from(TRAILING))
    )


@pytest.mark.parametrize(
    ("subject", "normal"),
    [
        ("AW: ZUGANG   GESPERRT!! Kundennr. 123456", "zugang gesperrt kundennr 123456"),
        ("Re: AW:Fwd : [EXTERN] WG: Wtr: Antw: Zugang_gesperrt...", "zugang gesperrt"),
        ("Re[2]: Zugang-gesperrt", "zugang gesperrt"),
        ("Zugänge GESPERRT", "zugaenge gesperrt"),
        ("Zugaenge gesperrt", "zugaenge gesperrt"),
        ("STRASSE Straße", "strasse strasse"),
        (
            "Ｚｕｇａｎｇ　ｇｅｓｐｅｒｒｔ",
            "zugang gesperrt",
        ),  # full-width letters and space (NFKC)
        ("Reklamation: Lieferung", "reklamation lieferung"),  # a prefix needs its colon
        ("[Zugang gesperrt]", "zugang gesperrt"),  # a subject that is only a tag keeps it
        ("Michael fragt", "michael fragt"),  # "ae" is never turned back into an umlaut
    ],
)
def test_subject_normal_form(subject, normal):
    assert normalise_subject(subject) == normal


def test_phrase_matches_whole_words_only():
    phrase = normalise_text("Zugang gesperrt")

    assert contains_phrase(normalise_subject("AW: ZUGANG   GESPERRT!! Kundennr. 123456"), phrase)
    assert not contains_phrase(normalise_subject("Zugangsdaten gesperrt?"), phrase)
    assert not contains_phrase(normalise_subject("Zugang nicht gesperrt"), phrase)


@given(words=bare_words, data=st.data())
def test_prefixes_casing_and_spacing_do_not_change_the_normal_form(words, data):
    bare = " ".join(words)

    assert normalise_subject(data.draw(mail_subjects(words))) == normalise_subject(bare)


@given(words=bare_words, data=st.data())
def test_prefixed_recased_respaced_subject_routes_like_the_bare_subject(
    shipped: RuleSet, words, data
):
    family = data.draw(st.sampled_from([None, *(f.name for f in shipped.catalog.families)]))
    channel = data.draw(st.sampled_from(["web", "email", "phone", "api"]))
    bare = TicketFacts(product_family=family, subject=" ".join(words), channel=channel)
    mail = TicketFacts(
        product_family=family, subject=data.draw(mail_subjects(words)), channel=channel
    )

    assert shipped.route(mail) == shipped.route(bare)


@given(st.text())
def test_normal_form_is_a_fixed_point(text):
    once = normalise_text(text)

    assert normalise_text(once) == once
    assert once == once.strip() and "  " not in once


@given(before=st.text(), phrase=st.text(), after=st.text())
def test_a_phrase_is_found_between_any_surrounding_words(before, phrase, after):
    normal_phrase = normalise_text(phrase)
    text = normalise_text(f"{before} {phrase} {after}")

    assert not normal_phrase or contains_phrase(text, normal_phrase)
