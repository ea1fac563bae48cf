"""The one hot-reload policy: a good new file goes live, a bad one never does and says why once."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from helpdesk.livefile import LiveFile, LiveFiles
from helpdesk.yamlsource import NodeReader, SourceError, compose


def compile_limit(text: bytes, path: Path) -> int:
    """A tiny file format for these tests: ``limit: <whole number>``."""
    reader = NodeReader(str(path))
    fields = reader.fields(compose(text, reader.file), "the file", ("limit",))
    limit = reader.integer(fields["limit"], "limit") if fields and "limit" in fields else None
    if reader.problems or limit is None:
        raise SourceError(reader.sorted_problems())
    return limit


@pytest.fixture
def path(tmp_path: Path) -> Path:
    # Tests write contents of differing lengths: a rewrite within one clock tick keeps the
    # mtime, and the size is then what changes the stat signature.
    path = tmp_path / "limits.yaml"
    path.write_text("limit: 1\n")
    return path


def live(path: Path, check_interval: float = 0) -> LiveFile[int]:
    return LiveFile(path, compile_limit, what="limits", check_interval=check_interval)


def test_a_changed_file_goes_live_without_restart(path):
    limits = live(path)

    path.write_text("limit: 22\n")

    assert limits.current() == 22
    assert limits.status()["ok"] is True and limits.status()["stale"] is False


def test_a_bad_file_keeps_the_live_value_and_reports_stale_with_the_position(path):
    limits = live(path)
    version = limits.status()["version"]

    path.write_text("limit: 2\nlimt: 3\n")

    assert limits.current() == 1
    status = limits.status()
    assert status["ok"] is False and status["stale"] is True and status["version"] == version
    assert status["error"] == f"{path}:2:1: the file: unknown key 'limt' (did you mean 'limit'?)"


def test_status_looks_at_the_file_itself(path):
    limits = live(path)

    path.write_text("limit: -\n")

    assert limits.status()["stale"] is True


def test_a_bad_file_is_logged_once_however_often_it_is_looked_at(path, caplog):
    limits = live(path)
    path.write_text("limit: many\n")

    with caplog.at_level(logging.ERROR, logger="helpdesk.livefile"):
        for touch in range(3):
            os.utime(path, ns=(touch * 10**9, touch * 10**9))  # same bytes, new signature
            limits.current()

    assert [record.getMessage().count("must be a whole number") for record in caplog.records] == [1]


def test_a_deleted_file_keeps_the_value_and_is_logged_once(path, caplog):
    limits = live(path)

    path.unlink()
    with caplog.at_level(logging.ERROR, logger="helpdesk.livefile"):
        values = [limits.current() for _ in range(3)]

    assert values == [1, 1, 1]
    assert "cannot read the file" in limits.status()["error"]
    assert len(caplog.records) == 1


def test_fixing_the_file_clears_stale(path):
    limits = live(path)
    path.write_text("limit: [\n")
    limits.current()
    assert limits.status()["stale"] is True

    path.write_text("limit: 55\n")

    assert limits.current() == 55
    assert limits.status()["stale"] is False and limits.status()["error"] is None


def test_restoring_the_live_file_clears_stale_without_recompiling(path):
    limits = live(path)
    version = limits.status()["version"]
    path.write_text("limit: [[\n")
    limits.current()

    path.write_text("limit: 1\n")

    assert limits.current() == 1
    assert limits.status() == {**limits.status(), "version": version, "stale": False}


def test_the_file_is_not_looked_at_again_within_the_check_interval(path):
    limits = live(path, check_interval=3600)

    path.write_text("limit: 2\n")

    assert limits.current() == 1


def test_a_file_unusable_at_start_up_is_an_error(tmp_path):
    path = tmp_path / "limits.yaml"
    path.write_text("limit: lots\n")

    with pytest.raises(SourceError, match=r"limits\.yaml:1:8: limit must be a whole number"):
        live(path)


def test_the_registry_holds_one_live_file_per_path(path, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("limit: 9\n")
    registry = LiveFiles(compile_limit, what="limits")

    assert registry.get(path) is registry.get(path)
    assert (registry.get(path).current(), registry.get(other).current()) == (1, 9)
