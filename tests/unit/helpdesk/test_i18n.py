"""German wording of library messages, sizes and times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from email_validator import EmailNotValidError, validate_email

from helpdesk.i18n import ADDRESS_REASONS, address_reason, berlin, filesize


@pytest.mark.parametrize(
    "address", ["abc", "@x.de", "a@", "a@b", "a b@x.de", "a@x..de", ".a@x.de", "a.@x.de",
                "a@@x.de", "a@x.de.", "a@-x.de", "a@x.invalid", "a@1.2.3.4"],
)  # fmt: skip
def test_every_reason_email_validator_gives_has_a_german_sentence(address):
    with pytest.raises(EmailNotValidError) as error:
        validate_email(address, check_deliverability=False)

    assert address_reason(error.value) in {german for _start, german in ADDRESS_REASONS}


def test_sizes_read_like_sizes():
    assert filesize(0) == "0 Bytes"
    assert filesize(812) == "812 Bytes"
    assert filesize(3500) == "3,4 KB"
    assert filesize(12 * 1024**2) == "12,0 MB"


def test_times_are_berlin_wall_clock():
    assert berlin(datetime(2026, 7, 1, 10, 5, tzinfo=UTC)) == "01.07.2026 12:05"
    assert berlin("2026-01-01T10:05:00+00:00") == "01.01.2026 11:05"
