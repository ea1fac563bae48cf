"""`helpdesk mailings ...` takes ids as the web doors do: ASCII digits within range."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from helpdesk.cli import main


@pytest.mark.parametrize("mailing_id", ["٣", "²", str(2**31), str(2**63), "0"])
def test_the_command_line_takes_only_ascii_ids_in_range(runtime, cli_env, mailing_id):
    result = CliRunner().invoke(main, ["mailings", "status", mailing_id], env=cli_env)

    assert result.exit_code == 2
    assert "is not an id" in result.stderr
