"""Address normalisation: one plain address in, its normalised form and key out."""

from __future__ import annotations

import pytest
from hypothesis import given
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


@given(st.text(max_size=80))
def test_whatever_is_accepted_is_a_single_header_safe_address(text):
    try:
        address = normalise(text)
    except InvalidAddress:
        return
    assert address.email.count("@") == 1
    assert not any(c in address.email for c in '\r\n<>,; "')
    assert normalise(address.email) == address
