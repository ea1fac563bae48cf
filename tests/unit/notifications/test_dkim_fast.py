"""The OpenSSL-backed DKIM signer produces signatures dkimpy verifies."""

from __future__ import annotations

from email.headerregistry import Address

import dkim
import pytest
from dkim.canonicalization import Relaxed
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from helpdesk.config import load_settings
from helpdesk.dkimkeys import dns_records, load_keys
from notifications import dkim_fast, messages
from tests.dkimcheck import verify_all_signatures


@pytest.fixture(scope="module")
def key_settings(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dkim-unit")
    return load_settings(
        {
            "HELPDESK_VAR_DIR": str(directory),
            "SECRET_KEY": "x",
            "MAIL_DOMAIN": "support.example.com",
        }
    )


def _message(subject: str, text: str = "Hallo\n", references: tuple[str, ...] = ()) -> bytes:
    return messages.build_message(
        sender=Address("Kundencenter", addr_spec="support@support.example.com"),
        recipient="Info@Müller-Handel.example",
        subject=subject,
        text=text,
        html=f"<p>{text}</p>",
        message_id="<mailing.1.2@support.example.com>",
        in_reply_to=references[-1] if references else None,
        references=references,
    ).as_bytes()


def test_both_signatures_verify_with_dkimpy(key_settings):
    raw = _message(
        "DRINGEND: Update des Deutsche Fiskal Connectors bis 01.08.22 – Änderung",
        references=("<mailing.1@support.example.com>", "<a@b>"),
    )

    signed = dkim_fast.sign(raw, key_settings.dkim_domain, load_keys(key_settings))

    assert verify_all_signatures(signed, key_settings) == [b"ed25519-sha256", b"rsa-sha256"]


def test_a_changed_body_or_subject_breaks_the_signature(key_settings):
    signed = dkim_fast.sign(_message("Wartung"), key_settings.dkim_domain, load_keys(key_settings))
    tampered = signed.replace(b"Subject: Wartung", b"Subject: Wartunq")

    records = {f"{name}.".encode(): value.encode() for name, value in dns_records(key_settings)}
    assert not dkim.DKIM(tampered).verify(idx=0, dnsfunc=lambda name, timeout=5: records.get(name))


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    # What the doors let through (helpdesk.text): one line for the subject, line breaks and
    # tabs but no other control character in the text.
    subject=st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=200
    ),
    text=st.text(
        st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from("\t\r\n"), max_size=500
    ),
)
def test_any_subject_and_body_sign_and_verify(key_settings, subject, text):
    raw = _message(subject, text)

    signed = dkim_fast.sign(raw, key_settings.dkim_domain, load_keys(key_settings))

    assert sorted(verify_all_signatures(signed, key_settings)) == [b"ed25519-sha256", b"rsa-sha256"]


@given(
    name=st.from_regex(rb"[\x21-\x39\x3b-\x7e]{1,20}", fullmatch=True),
    value=st.lists(
        st.sampled_from([b" ", b"\t", b"\r\n ", b"\r\n\t", b"a", b"Z", b";", b"\xc3\xa4", b"="]),
        max_size=30,
    ).map(b"".join),
)
def test_relaxed_form_is_what_dkimpy_hashes(name, value):
    [(canonical_name, canonical_value)] = Relaxed.canonicalize_headers([(name, value + b"\r\n")])

    assert dkim_fast.relaxed(name, value + b"\r\n") == canonical_name + b":" + canonical_value
