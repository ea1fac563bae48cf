"""Mail-in's sender-check settings: a safe default per environment, resolvers as host:port."""

from __future__ import annotations

import pytest

from helpdesk.config import ConfigError, load_settings


def test_sender_checks_are_on_in_production_and_off_elsewhere_by_default(tmp_path):
    production = load_settings(
        {"HELPDESK_VAR_DIR": str(tmp_path), "HELPDESK_ENV": "production", "SECRET_KEY": "k"}
    )
    development = load_settings({"HELPDESK_VAR_DIR": str(tmp_path)})

    assert (production.mail_in_sender_check, development.mail_in_sender_check) == ("dns", "off")
    assert production.mail_in_dns_resolvers == ()
    assert production.mail_in_trusted_authserv_id == production.mail_domain


def test_resolvers_are_read_as_host_and_port(tmp_path):
    settings = load_settings(
        {
            "HELPDESK_VAR_DIR": str(tmp_path),
            "MAIL_IN_DNS_RESOLVER": "127.0.0.1:5353, [::1], 192.0.2.53",
            "MAIL_IN_DNS_TIMEOUT": "1.5",
        }
    )

    assert settings.mail_in_dns_resolvers == ("127.0.0.1:5353", "[::1]:53", "192.0.2.53:53")
    assert settings.mail_in_dns_timeout == 1.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAIL_IN_SENDER_CHECK", "spf"),
        ("MAIL_IN_DNS_RESOLVER", "127.0.0.1:domain"),
        ("MAIL_IN_DNS_TIMEOUT", "kurz"),
    ],
)
def test_a_malformed_sender_check_setting_names_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError) as error:
        load_settings({"HELPDESK_VAR_DIR": str(tmp_path), name: value})

    assert str(error.value).startswith(f"{name}: ")
