"""Settings: defaults that work on a fresh machine, one clear line for a bad value."""

from __future__ import annotations

import pytest

from helpdesk.config import ConfigError, load_settings


def test_defaults_keep_everything_under_the_var_dir(tmp_path):
    settings = load_settings({"HELPDESK_VAR_DIR": str(tmp_path)})

    assert settings.database_url == f"sqlite:///{tmp_path / 'helpdesk.db'}"
    assert settings.redis_url is None
    assert settings.embedded_redis_path.is_relative_to(tmp_path)
    assert settings.dkim_key_dir == tmp_path / "dkim"
    assert settings.smtp_url == "smtp://127.0.0.1:8025"


def test_generated_secret_key_is_private_and_stable(tmp_path):
    first = load_settings({"HELPDESK_VAR_DIR": str(tmp_path)}).secret_key
    second = load_settings({"HELPDESK_VAR_DIR": str(tmp_path)}).secret_key

    assert first == second and len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_links_follow_the_port_the_service_runs_on_unless_public_url_is_set(tmp_path):
    moved = load_settings({"HELPDESK_VAR_DIR": str(tmp_path), "PORT": "8123"})
    fixed = load_settings(
        {"HELPDESK_VAR_DIR": str(tmp_path), "PORT": "8123", "PUBLIC_URL": "https://kc.example"}
    )

    assert (moved.public_url, fixed.public_url) == ("http://127.0.0.1:8123", "https://kc.example")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://localhost/db"),
        ("REDIS_URL", "http://localhost:6379"),
        ("SMTP_URL", "smtp://mail.example.com:notaport"),
        ("SMTP_URL", "smtp://"),
        ("MAIL_FROM", "not an address"),
        ("HELPDESK_ENV", "staging"),
        ("PUBLIC_URL", "ftp://example.com"),
        ("PORT", "acht"),
        ("MAILING_RATE", "schnell"),
        ("MAILING_APPROVAL_THRESHOLD", "1.5"),
        ("MAILING_BATCH_SIZE", "-1"),
    ],
)
def test_malformed_setting_names_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError) as error:
        load_settings({"HELPDESK_VAR_DIR": str(tmp_path), name: value})

    assert str(error.value).startswith(f"{name}: ")
    assert "\n" not in str(error.value)


def test_mailing_settings_default_to_the_documented_values_and_links_to_the_portal(tmp_path):
    settings = load_settings(
        {"HELPDESK_VAR_DIR": str(tmp_path), "PUBLIC_URL": "https://Kundencenter.example:8443"}
    )

    assert (
        settings.mailing_approval_threshold,
        settings.mailing_batch_size,
        settings.mailing_rate,
        settings.mailing_domain_rate,
        settings.mailing_lease_seconds,
        settings.mailing_max_attempts,
        settings.mailing_link_hosts,
    ) == (50, 500, 0.0, 100.0, 600, 8, ("kundencenter.example",))


def test_mailing_settings_are_read_and_sizes_are_at_least_one(tmp_path):
    settings = load_settings(
        {
            "HELPDESK_VAR_DIR": str(tmp_path),
            "MAILING_BATCH_SIZE": "0",
            "MAILING_RATE": "12.5",
            "MAILING_LINK_HOSTS": "Kundencenter.example, downloads.example,",
        }
    )

    assert settings.mailing_batch_size == 1
    assert settings.mailing_rate == 12.5
    assert settings.mailing_link_hosts == ("kundencenter.example", "downloads.example")
