"""Whatever bytes arrive, parsing either reads a message or says why it is malformed."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.corpus import load, names
from tickets.inbound.classify import classify
from tickets.inbound.parsing import MalformedMessage, parse_message

OURS = frozenset({"support@support.example.com"})
HEADER_NAMES = st.sampled_from(
    [
        "From",
        "Subject",
        "Reply-To",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Date",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Auto-Submitted",
        "Precedence",
        "To",
    ]
)
HEADER_VALUES = st.one_of(
    st.text(
        alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
        max_size=80,
    ),
    st.sampled_from(
        [
            "=?utf-8?B?broken",
            "=?unknown-charset?Q?x?=",
            "multipart/mixed; boundary=",
            "text/plain; charset=x-no-such-charset",
            "base64",
            "<",
            '"unterminated <a@b',
            "a@b, c@d; e",
            "=?iso-8859-1?Q?M=FCller?= <m@x.example>",
        ]
    ),
)


def _take(raw: bytes) -> None:
    try:
        mail = parse_message(raw)
    except MalformedMessage:
        return
    classify(mail, OURS)


@settings(max_examples=300)
@example(headers=[("From", ":;0")], body=b"")  # a group as sender: the stdlib trips on it
@given(
    st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), min_size=1, max_size=8),
    st.binary(max_size=300),
)
def test_arbitrary_headers_and_body_never_raise_anything_but_malformed(headers, body):
    raw = "".join(f"{name}: {value}\r\n" for name, value in headers).encode()
    _take(raw + b"\r\n" + body)


@given(st.sampled_from(names()), st.integers(min_value=0, max_value=4000))
def test_a_corpus_message_cut_anywhere_never_raises_anything_but_malformed(name, cut):
    raw = load(name, ACK_ID="<a@b>", ORIGINAL_ID="<o@b>", VERP="v@b")
    _take(raw[:cut])
