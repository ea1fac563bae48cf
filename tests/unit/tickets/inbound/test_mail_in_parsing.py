"""Reading real clients' mail: encodings, body choice, HTML sanitising, attachments."""

from __future__ import annotations

import pytest

from tests.corpus import load
from tickets.inbound.parsing import MalformedMessage, html_to_text, parse_message

ACK = "<ack-1@support.example.com>"


def test_outlook_iso_8859_1_quoted_printable_name_subject_and_body_decode():
    mail = parse_message(load("outlook_new_request_de.eml"))

    assert mail.sender == "j.mueller@mueller-handel.example"
    assert mail.sender_name == "Jürgen Müller"
    assert mail.subject == "Frage zur Rücksendung in JTL-Wawi"
    assert "lässt sich die Rücksendung für Auftrag 4711 nicht buchen" in mail.text
    assert mail.attachments == ()


def test_windows_1252_encoded_words_keep_the_euro_sign_and_the_dash():
    mail = parse_message(load("outlook_reply_aw_de.eml"))

    assert mail.subject == (
        "AW: [HD-000001] Ihre Supportanfrage: Frage zur Rücksendung in JTL-Wawi – Kosten 100 €"
    )
    assert mail.text.endswith("Jürgen Müller")


def test_base64_utf8_body_from_apple_mail_is_decoded_and_its_quote_split_off():
    mail = parse_message(load("apple_mail_reply_de.eml", ACK_ID=ACK))

    assert mail.sender_name == "Sabine König"
    assert mail.text == (
        "Stimmt, das Problem ist behoben. Vielen Dank!\n\nVon meinem iPhone gesendet"
    )
    assert mail.quoted.startswith("Am 02.11.2026 um 09:15 schrieb Kundencenter Support")
    assert mail.in_reply_to == ACK


def test_gmail_multipart_alternative_prefers_the_plain_text():
    mail = parse_message(load("gmail_reply_de.eml", ACK_ID=ACK))

    assert mail.text == "Hier noch der Screenshot-Link: https://example.com/bild.png"
    assert "Vielen Dank, wir haben Ihre Anfrage erhalten." in mail.quoted
    assert mail.subject == "Re: [HD-000001] Ihre Supportanfrage: Frage zur Rücksendung"


def test_html_only_mail_is_sanitised_to_text_without_script_or_style():
    mail = parse_message(load("gmail_html_only_de.eml"))

    assert mail.text == (
        "Hallo,\n\nunser Shop zeigt seit heute Fehler 500 & lädt nicht.\n\n"
        "- Seite 1\n\n- Seite 2\n\nGrüße\nTom"
    )
    assert "alert" not in mail.text and "color" not in mail.text


def test_html_to_text_keeps_the_escaped_text_as_text():
    assert html_to_text("<p>a &lt;b&gt; &amp; c</p>") == "a <b> & c"


def test_death_certificate_pdf_is_an_attachment_with_its_rfc_2231_name():
    mail = parse_message(load("death_certificate_to_accounting.eml"))

    [pdf] = mail.attachments
    assert pdf.filename == "Sterbeurkunde Klaus Weber.pdf"
    assert pdf.content_type == "application/pdf"
    assert pdf.data.startswith(b"%PDF-1.4")
    assert "ist verstorben" in mail.text
    assert "buchhaltung@jtl-software.de" in mail.recipients


def test_forward_as_attachment_keeps_the_forward_and_shows_its_text():
    mail = parse_message(load("forward_as_attachment.eml"))

    [forward] = mail.attachments
    assert forward.filename == "Synchronisation fehlgeschlagen.eml"
    assert b"Message-ID: <inner-10@shopify-connector.example>" in forward.data
    assert mail.text == "Die Synchronisation mit Shopify ist fehlgeschlagen: Fehler 401."


def test_smime_signature_is_an_attachment_and_marks_the_mail_signed():
    mail = parse_message(load("smime_signed_de.eml"))

    assert [a.filename for a in mail.attachments] == ["smime.p7s"]
    assert mail.signed_or_encrypted
    assert "unser Kundenkonto ist gesperrt" in mail.text


def test_pgp_encrypted_parts_are_attachments_and_the_text_is_empty():
    mail = parse_message(load("pgp_encrypted.eml"))

    assert [a.content_type for a in mail.attachments] == [
        "application/pgp-encrypted",
        "application/octet-stream",
    ]
    assert mail.signed_or_encrypted
    assert mail.text == ""


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed_no_from.eml", "no From header"),
        ("malformed_bad_from.eml", "invalid From address"),
    ],
)
def test_mail_without_a_usable_sender_carries_the_defect(name, reason):
    mail = parse_message(load(name))

    assert mail.sender == ""
    assert any(reason in defect for defect in mail.defects)


def test_mime_nested_deeper_than_any_mail_program_writes_is_malformed():
    head = b"From: a@kunde.example\r\nSubject: tief\r\nMIME-Version: 1.0\r\n"
    opening = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (level, level)
        for level in range(40)
    )
    closing = b"".join(b"\r\n--b%d--\r\n" % level for level in reversed(range(40)))

    with pytest.raises(MalformedMessage, match=r"nested 3[0-9] deep"):
        parse_message(head + opening + b"Content-Type: text/plain\r\n\r\nhi" + closing)


def test_header_bytes_in_no_known_encoding_are_a_defect_but_utf8_is_read():
    latin1 = parse_message(b"From: a@kunde.example\r\nSubject: Gr\xfc\xdfe\r\n\r\nhi\r\n")
    utf8 = parse_message(b"From: a@kunde.example\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nhi\r\n")

    assert latin1.defects == ("undecodable bytes in the Subject header",)
    assert (utf8.defects, utf8.subject) == ((), "Grüße")


def test_senders_at_non_public_domains_are_read():
    mail = parse_message(b"From: Test <kunde@shop.local>\r\nSubject: x\r\n\r\nhi\r\n")

    assert (mail.sender, mail.defects) == ("kunde@shop.local", ())


def test_bytes_without_a_header_block_are_malformed():
    with pytest.raises(MalformedMessage, match="no header block"):
        parse_message(b"just some text\r\n")


def test_apple_mail_text_around_an_inline_image_is_one_text_and_the_image_an_attachment():
    mail = parse_message(load("apple_mail_inline_image_de.eml"))

    assert mail.text == (
        "Hallo,\n\nbeim Drucken der Versandetiketten kommt diese Meldung:\n\n"
        "Was können wir tun?\n\nSabine König"
    )
    [image] = mail.attachments
    assert (image.filename, image.content_type) == ("Bildschirmfoto.png", "image/png")
