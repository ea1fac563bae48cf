"""A sent mail shown in the e-mail history: its HTML is sanitised before it reaches the page."""

from __future__ import annotations

from email.message import EmailMessage

from tickets.portal.views import readable_message


def test_scripts_and_event_handlers_are_removed_from_the_html_part():
    message = EmailMessage()
    message["Subject"] = "[HD-000001] Re: Zugang gesperrt"
    message.set_content("Die Sperre ist aufgehoben.")
    message.add_alternative(
        '<p onclick="steal()">Die Sperre ist <b>aufgehoben</b>.</p><script>alert(1)</script>',
        subtype="html",
    )

    shown = readable_message(message)

    assert "<b>aufgehoben</b>" in shown["html"]
    assert "script" not in shown["html"]
    assert "onclick" not in shown["html"]
    assert shown["text"].strip() == "Die Sperre ist aufgehoben."
    assert ("Betreff", "[HD-000001] Re: Zugang gesperrt") in shown["headers"]
