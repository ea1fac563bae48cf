"""`helpdesk accounts import`: editions, products and licence locks from the contract system.

The file (CSV or JSON Lines) is read and checked completely before anything is written; the
accounts are then upserted in batches of queries inside one transaction, so a file either
changes the database as a whole or not at all. Running the same file twice changes nothing.
An account's products and locks become exactly the ones the file lists for it. Products are
the product families of the routing catalog (``routing_rules.yaml``), so that a mailing's
audience by product reaches every account that uses it; an unknown name is a bad line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from accounts.models import Account, AccountProduct, LicenseLock
from helpdesk.runtime import Runtime
from helpdesk.text import header_text_problem
from tickets.routing import routing_rules
from vocabulary import EDITIONS, edition_for

BATCH_SIZE = 500
CSV_REQUIRED = ("customer_number", "company", "edition")
CSV_OPTIONAL = (
    "key_accounting",
    "active",
    "products",
    "lock_product",
    "lock_since",
    "lock_until",
    "lock_reason",
)
TRUE = {"1", "true", "ja", "yes", "x"}
FALSE = {"", "0", "false", "nein", "no"}


@dataclass(frozen=True)
class Lock:
    product: str
    since: date
    until: date | None
    reason: str


@dataclass
class AccountRecord:
    customer_number: str
    company: str
    edition: str
    key_accounting: bool
    active: bool
    products: frozenset[str]
    locks: dict[str, Lock] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)


class LineError(ValueError):
    """One line of the file is wrong; the message says what and how to fix it."""


def catalog_products(runtime: Runtime) -> tuple[str, ...]:
    """The product names an account may have: the product families of the routing catalog."""
    families = routing_rules(runtime).catalog_dict()["product_families"]
    return tuple(family["name"] for family in families)


def read_file(
    path: Path, products: Iterable[str]
) -> tuple[dict[str, AccountRecord], list[Problem]]:
    """Parse ``path`` (``.csv`` or ``.jsonl``/``.ndjson``) into records and problems.

    ``products`` are the known product names (``catalog_products``); they are matched
    without regard to case and stored in the catalog's spelling.
    """
    known = {name.casefold(): name for name in products}
    rows = _json_lines(path) if path.suffix.lower() in (".jsonl", ".ndjson") else _csv_rows(path)
    records: dict[str, AccountRecord] = {}
    problems: list[Problem] = []
    bad_numbers: set[str] = set()
    for line, row in rows:
        if isinstance(row, LineError):
            problems.append(Problem(line, str(row)))
            continue
        number = str(row.get("customer_number") or "").strip()
        try:
            record = _record(row, line, known)
            _merge(records, record, line, many_rows=path.suffix.lower() == ".csv")
        except LineError as error:
            problems.append(Problem(line, str(error)))
            bad_numbers.add(number)
    for number in bad_numbers:
        records.pop(number, None)  # an account with a bad line is skipped as a whole
    return records, problems


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [name for name in CSV_REQUIRED if name not in columns]
        unknown = [name for name in columns if name not in CSV_REQUIRED + CSV_OPTIONAL]
        if missing or unknown:
            parts = [f"missing column(s) {', '.join(missing)}" if missing else ""]
            parts.append(f"unknown column(s) {', '.join(unknown)}" if unknown else "")
            yield 1, LineError("; ".join(p for p in parts if p))
            return
        for row in reader:
            if None in row:
                yield reader.line_num, LineError("more fields than the header has columns")
                continue
            yield reader.line_num, _csv_to_json_shape(row)


def _csv_to_json_shape(row: dict[str, str]) -> dict[str, Any]:
    shaped: dict[str, Any] = {k: row.get(k, "") for k in CSV_REQUIRED}
    shaped["key_accounting"] = row.get("key_accounting", "")
    shaped["active"] = row.get("active", "") or "true"
    shaped["products"] = (row.get("products") or "").split(";")
    if (row.get("lock_product") or "").strip():
        shaped["locks"] = [
            {
                "product": row.get("lock_product"),
                "since": row.get("lock_since"),
                "until": row.get("lock_until") or None,
                "reason": row.get("lock_reason") or "",
            }
        ]
    else:
        shaped["locks"] = []
    return shaped


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                yield number, LineError(f"not JSON: {error.msg} at column {error.colno}")
                continue
            if not isinstance(value, dict):
                yield number, LineError("expected a JSON object")
                continue
            yield number, value


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise LineError(f"{name}: {value!r} is not true/false")


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise LineError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _text(row: dict[str, Any], name: str, limit: int) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise LineError(f"{name}: required")
    if header_text_problem(value):
        raise LineError(f"{name}: contains a line break or a control character")
    value = " ".join(value.split())
    if len(value) > limit:
        raise LineError(f"{name}: longer than {limit} characters")
    return value


def _record(row: dict[str, Any], line: int, known_products: dict[str, str]) -> AccountRecord:
    number = _text(row, "customer_number", 20)
    company = _text(row, "company", 200)
    edition = edition_for(str(row.get("edition") or ""))
    if edition is None:
        names = "/".join(known.name for known in EDITIONS.values())
        raise LineError(f"edition: {row.get('edition')!r} is not one of {names}")
    key_accounting = _flag(row.get("key_accounting", False), "key_accounting")
    if key_accounting and not edition.key_accounting:
        raise LineError(f"key_accounting: only available in {_key_accounting_editions()}")
    locks_value = row.get("locks") or []
    if not isinstance(locks_value, list):
        raise LineError("locks: expected a list")
    locks: dict[str, Lock] = {}
    for item in locks_value:
        if not isinstance(item, dict):
            raise LineError("locks: each lock is an object with product, since, until, reason")
        lock = _lock(item)
        if lock.product in locks:
            raise LineError(f"locks: product {lock.product!r} is listed twice")
        locks[lock.product] = lock
    return AccountRecord(
        customer_number=number,
        company=company,
        edition=edition.id,
        key_accounting=key_accounting,
        active=_flag(row.get("active", True), "active"),
        products=_products(row.get("products") or [], known_products),
        locks=locks,
        lines=[line],
    )


def _key_accounting_editions() -> str:
    return ", ".join(e.name for e in EDITIONS.values() if e.key_accounting)


def _products(value: Any, known: dict[str, str]) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise LineError("products: expected a list of product names")
    names = {" ".join(name.split()) for name in value} - {""}
    unknown = sorted(name for name in names if name.casefold() not in known)
    if unknown:
        raise LineError(
            f"products: {', '.join(map(repr, unknown))} not in the catalog "
            f"({', '.join(known.values())})"
        )
    return frozenset(known[name.casefold()] for name in names)


def _lock(item: dict[str, Any]) -> Lock:
    product = _text(item, "product", 120)
    since = _date(item.get("since"), "lock since")
    until_value = item.get("until")
    until = None if until_value in (None, "") else _date(until_value, "lock until")
    if until is not None and until < since:
        raise LineError("lock until: before lock since")
    reason = item.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > 2000 or header_text_problem(reason):
        raise LineError("lock reason: one line of text up to 2000 characters")
    return Lock(product, since, until, reason.strip())


def _merge(
    records: dict[str, AccountRecord], record: AccountRecord, line: int, *, many_rows: bool
) -> None:
    """CSV lists one lock per row, so an account may span rows that must agree."""
    existing = records.get(record.customer_number)
    if existing is None:
        records[record.customer_number] = record
        return
    if not many_rows:
        raise LineError(f"customer_number {record.customer_number} appears twice")
    for name in ("company", "edition", "key_accounting", "active", "products"):
        if getattr(existing, name) != getattr(record, name):
            raise LineError(
                f"{name}: differs from line {existing.lines[0]} for the same customer number"
            )
    for product, lock in record.locks.items():
        if product in existing.locks:
            raise LineError(f"lock product {product!r} is listed twice for this account")
        existing.locks[product] = lock
    existing.lines.append(line)


def apply(runtime: Runtime, records: dict[str, AccountRecord]) -> ImportResult:
    """Upsert all ``records`` in one transaction, querying in batches."""
    result = ImportResult()
    numbers = sorted(records)
    with runtime.db.session() as session:
        for start in range(0, len(numbers), BATCH_SIZE):
            batch = numbers[start : start + BATCH_SIZE]
            _apply_batch(session, [records[n] for n in batch], result)
    return result


def _apply_batch(session: Session, batch: list[AccountRecord], result: ImportResult) -> None:
    existing = {
        account.customer_number: account
        for account in session.scalars(
            select(Account)
            .where(Account.customer_number.in_([r.customer_number for r in batch]))
            .options(selectinload(Account.license_locks), selectinload(Account.products))
        )
    }
    for record in batch:
        account = existing.get(record.customer_number)
        is_new = account is None
        if account is None:
            account = Account(customer_number=record.customer_number, license_locks=[], products=[])
            session.add(account)
        changed = False
        for name in ("company", "edition", "key_accounting", "active"):
            if getattr(account, name) != getattr(record, name):
                setattr(account, name, getattr(record, name))
                changed = True
        changed = _sync_products(account, record.products) or changed
        changed = _sync_locks(account, record.locks) or changed
        if is_new:
            result.created += 1
        elif changed:
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()


def _sync_products(account: Account, wanted: frozenset[str]) -> bool:
    current = set(account.product_names)
    if current == wanted:
        return False
    for row in list(account.products):
        if row.product not in wanted:
            account.products.remove(row)
    account.products.extend(AccountProduct(product=name) for name in sorted(wanted - current))
    return True


def _sync_locks(account: Account, wanted: dict[str, Lock]) -> bool:
    changed = False
    for stored in list(account.license_locks):
        if stored.product not in wanted:
            account.license_locks.remove(stored)
            changed = True
    current = {stored.product: stored for stored in account.license_locks}
    for product, lock in wanted.items():
        row = current.get(product)
        if row is None:
            account.license_locks.append(
                LicenseLock(product=product, since=lock.since, until=lock.until, reason=lock.reason)
            )
            changed = True
            continue
        for name in ("since", "until", "reason"):
            if getattr(row, name) != getattr(lock, name):
                setattr(row, name, getattr(lock, name))
                changed = True
    return changed
