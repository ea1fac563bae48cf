"""Address normalisation: one plain address in, its normalised form and key out."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from accounts.addresses import InvalidAddress, normalise


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("Info@Mueller-Handel.EXAMPLE", "info@mueller-handel.example"),
        ("  müller@bäckerei.de ", "müller@bäckerei.de"),
        ("a@xn--bckerei-5wa.de", "a@bäckerei.de"),
    ],
)
def test_addresses_are_normalised(text, email):
    assert normalise(text).email == email
    assert normalise(text).key == email.lower()


@pytest.mark.parametrize(
    "text",
    [
        "a@b.de\r\nBcc: x@y.de",
        "a@b.de\n",
        "Chef <chef@firma.de>",
        '"Chef" chef@firma.de',
        "a@b.de, c@d.de",
        "a@localhost",
        "a@-firma.de",
        "a@firma.test",
        "",
    ],
)
def test_injections_display_names_and_bad_domains_are_refused(text):
    with pytest.raises(InvalidAddress):
        normalise(text)


# Near-addresses: a plain address, sometimes with an odd character inside or around it, a
# header injection or a second address; many of them are accepted.
WORD = st.text(alphabet=st.sampled_from(list("abcXYZäöüß0123")), min_size=1, max_size=8)
ODD = st.characters(exclude_categories=("Cs",))
PLAIN_SEPARATORS = st.sampled_from(["", ".", "-", "+", "_"])
LOCAL_PARTS = st.builds(
    "{}{}{}".format,
    WORD,
    st.one_of(PLAIN_SEPARATORS, PLAIN_SEPARATORS, PLAIN_SEPARATORS, ODD),
    WORD,
)
DOMAINS = st.sampled_from(
    ["firma.de", "bäckerei.de", "xn--bckerei-5wa.de", "Mueller-Handel.EXAMPLE"]
)
NOTHING = st.sampled_from(["", "", " "])
EDGES = st.one_of(
    NOTHING, NOTHING, NOTHING, ODD, st.sampled_from(["\r\nBcc: x@y.de", ", c@d.de", ">"])
)
NEAR_ADDRESSES = st.builds("{}{}@{}{}".format, EDGES, LOCAL_PARTS, DOMAINS, EDGES)


@given(NEAR_ADDRESSES)
def test_whatever_is_accepted_is_a_single_header_safe_address(text):
    try:
        address = normalise(text)
    except InvalidAddress:
        assume(False)  # only accepted text is checked; too few would fail the test as unsatisfiable
    assert address.email.count("@") == 1
    assert not any(c in address.email for c in '\r\n<>,; "')
    assert normalise(address.email) == address
