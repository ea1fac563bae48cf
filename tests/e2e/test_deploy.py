"""deploy/: the systemd units pass `systemd-analyze verify`, start what `helpdesk stack` starts,
and the container image builds where a builder runs."""

from __future__ import annotations

import configparser
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk.config import PROJECT_ROOT
from helpdesk.stack import process_commands

UNITS = PROJECT_ROOT / "deploy" / "systemd"
INSTALLED_VENV = "/opt/helpdesk/.venv"
# Unit name -> the process of `helpdesk stack` it runs in production.
STACK_PROCESS = {
    "helpdesk-web.service": "web",
    "helpdesk-worker@.service": "worker",
    "helpdesk-mail-in.service": "mail-in",
}


def _exec_start(unit: Path) -> list[str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(unit)
    return shlex.split(parser["Service"]["ExecStart"])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_units_pass_systemd_analyze_verify(tmp_path):
    # The units name the installed virtualenv; verify checks that the commands exist, so the
    # copies point at this checkout's instead.
    venv = str(Path(sys.executable).parent.parent)
    for unit in UNITS.glob("helpdesk*.*"):
        if unit.suffix in (".service", ".target"):
            text = unit.read_text().replace(INSTALLED_VENV, venv)
            (tmp_path / unit.name).write_text(text)
    names = [
        "helpdesk-web.service",
        "helpdesk-worker@1.service",
        "helpdesk-mail-in.service",
        "helpdesk-migrate.service",
        "helpdesk.target",
    ]

    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(f"./{name}" for name in names)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    ours = [line for line in result.stderr.splitlines() if "helpdesk" in line]
    assert result.returncode == 0, result.stderr
    assert ours == []


@pytest.mark.parametrize("unit_name", sorted(STACK_PROCESS))
def test_each_unit_starts_the_process_helpdesk_stack_starts(unit_name):
    bin_dir = Path(INSTALLED_VENV) / "bin"
    stack = process_commands(bin_dir, 8000, 4, 8)[STACK_PROCESS[unit_name]]

    unit = _exec_start(UNITS / unit_name)

    assert unit[0] == stack[0]
    if STACK_PROCESS[unit_name] == "web":  # gunicorn options differ (bind, workers), not the app
        assert unit[-1] == stack[-1] == "helpdesk.wsgi:app"
    else:
        assert unit[1:] == stack[1:]


def _builder() -> str | None:
    for tool in ("podman", "docker"):
        if (
            shutil.which(tool)
            and subprocess.run([tool, "info"], capture_output=True).returncode == 0
        ):
            return tool
    return None


def test_container_image_builds_and_runs_the_cli():
    builder = _builder()
    if builder is None:
        pytest.skip("no container builder answers here (podman or docker with a daemon)")
    tag = "helpdesk-deploy-test:latest"
    subprocess.run(
        [builder, "build", "-f", str(PROJECT_ROOT / "deploy" / "Containerfile"), "-t", tag, "."],
        cwd=PROJECT_ROOT,
        check=True,
        timeout=900,
    )
    result = subprocess.run(
        [builder, "run", "--rm", tag, "helpdesk", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "mail-in" in result.stdout


PROMETHEUS = PROJECT_ROOT / "deploy" / "prometheus"


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool not here: install Debian's prometheus package (.ci/run does)",
)
@pytest.mark.parametrize(
    "command",
    [["check", "rules", "helpdesk-alerts.yml"], ["test", "rules", "helpdesk-alerts.test.yml"]],
    ids=["check", "unit-tests"],
)
def test_alert_rules_pass_promtool(command):
    result = subprocess.run(
        ["promtool", *command], cwd=PROMETHEUS, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_copies_what_exists_and_serves_the_app_stack_serves():
    lines = (PROJECT_ROOT / "deploy" / "Containerfile").read_text().splitlines()
    copied = [part for line in lines if line.startswith("COPY ") for part in line.split()[1:-1]]
    [command] = [json.loads(line.removeprefix("CMD ")) for line in lines if line.startswith("CMD ")]

    assert [path for path in copied if not (PROJECT_ROOT / path).exists()] == []
    assert {"helpdesk", "tickets", "accounts", "notifications", "workers", "migrations"} <= set(
        copied
    )
    assert command[0] == "gunicorn"
    assert command[-1] == process_commands(Path("/"), 8000, 4, 8)["web"][-1]


def test_gunicorns_own_lines_come_as_json_with_the_units_log_config():
    # As gunicorn's --log-config-json does it: the file's sections over gunicorn's defaults.
    script = (
        "import json, logging, logging.config, sys; "
        "from gunicorn.glogging import CONFIG_DEFAULTS; "
        "config = {**CONFIG_DEFAULTS, **json.load(open(sys.argv[1]))}; "
        "logging.config.dictConfig(config); "
        "logging.getLogger('gunicorn.error').info('Booting worker with pid: %s', 4711)"
    )
    config = PROJECT_ROOT / "deploy" / "gunicorn-logging.json"
    web = _exec_start(UNITS / "helpdesk-web.service")

    result = subprocess.run(
        [sys.executable, "-c", script, str(config)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    line = json.loads(result.stderr)
    assert (line["logger"], line["process"]) == ("gunicorn.error", "gunicorn")
    assert line["message"] == "Booting worker with pid: 4711"
    assert (
        web[web.index("--log-config-json") + 1]
        == f"/opt/helpdesk/{config.relative_to(PROJECT_ROOT)}"
    )
