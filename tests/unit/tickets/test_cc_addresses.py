"""The Cc field of an answer: whatever is typed, what passes can only ever be plain addresses."""

from __future__ import annotations

from email.headerregistry import Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.messages import checked_header
from tickets.services import ValidationError
from tickets.thread import CC_MAX, parse_cc

# Address-like text with the characters that break headers mixed in.
PIECES = st.sampled_from(
    [
        "it",
        "@",
        "kunde.example",
        ",",
        ";",
        " ",
        "\r\n",
        "\n",
        "\t",
        "<",
        ">",
        '"',
        ":",
        "Bcc",
        "ä",
        "\x00",
        "\x0b",
        "\u2028",
        ".",
    ]
)


@given(st.lists(PIECES, max_size=30).map("".join) | st.text(max_size=200))
def test_accepted_cc_text_yields_only_plain_single_addresses(typed):
    try:
        addresses = parse_cc(typed)
    except ValidationError as error:
        assert set(error.errors) == {"cc"}
        return
    assert len(addresses) <= CC_MAX
    assert len({address.lower() for address in addresses}) == len(addresses)
    for address in addresses:
        assert checked_header("Cc", address) == address
        assert not set(address) & set(',;<>" \r\n\t')
        assert Address(addr_spec=address).addr_spec == address


def test_separators_and_repeats_give_each_address_once_in_the_typed_order():
    assert parse_cc(" b@kunde.example;a@kunde.example ,\nB@kunde.example\r\n") == (
        "b@kunde.example",
        "a@kunde.example",
    )


@pytest.mark.parametrize("typed", ["", " ", ",;", "\n"])
def test_nothing_typed_means_no_copy(typed):
    assert parse_cc(typed) == ()
