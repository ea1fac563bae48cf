"""The SQL a request runs, and PostgreSQL's plan for each statement (tests and bench/scale.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

SEQUENTIAL_SCAN = re.compile(r"Seq Scan on (\w+)")


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any

    @property
    def reads(self) -> bool:
        return self.sql.lstrip().upper().startswith(("SELECT", "WITH"))


@contextmanager
def captured(engine: Engine) -> Iterator[list[Statement]]:
    """Every statement ``engine`` executes inside the block, with its parameters."""
    statements: list[Statement] = []

    def record(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        statements.append(Statement(sql, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plan(engine: Engine, statement: Statement, *, analyze: bool = False) -> str:
    """PostgreSQL's plan for one captured statement (with its run times when ``analyze``)."""
    options = "ANALYZE, BUFFERS, " if analyze else ""
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            f"EXPLAIN ({options}COSTS OFF) {statement.sql}", statement.parameters
        ).all()
        connection.rollback()
    return "\n".join(row[0] for row in rows)


def sequential_scans(text: str) -> set[str]:
    """The tables a plan reads from start to end."""
    return set(SEQUENTIAL_SCAN.findall(text))
