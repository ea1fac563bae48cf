"""`helpdesk accounts create-staff`: how the first admin and further staff come to be."""

from __future__ import annotations

from click.testing import CliRunner

from accounts import users
from helpdesk.cli import main

PASSWORD = "Ein-langes-Passwort-2026"


def test_create_staff_asks_for_the_password_and_the_agent_can_sign_in(runtime, cli_env):
    result = CliRunner().invoke(
        main,
        [
            "accounts",
            "create-staff",
            "Neu@Support.example.com",
            "--role",
            "agent",
            "--queue",
            "accounting",
            "--no-require-totp",
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=cli_env,
    )

    assert result.exit_code == 0, result.output
    assert "staff user Neu@support.example.com created: agent" in result.output
    user = users.check_password(runtime, "neu@support.example.com", PASSWORD)
    assert user is not None and user.queues == ["accounting"] and user.roles == ["agent"]


def test_create_staff_refuses_an_unknown_queue_and_creates_nothing(runtime, cli_env):
    result = CliRunner().invoke(
        main,
        [
            "accounts",
            "create-staff",
            "x@support.example.com",
            "--role",
            "agent",
            "--queue",
            "nirgendwo",
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=cli_env,
    )

    assert result.exit_code == 1
    assert "unknown queue(s): nirgendwo" in result.output
    assert users.user_by_email(runtime, "x@support.example.com") is None
