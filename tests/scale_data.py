"""Data at scale for bench/scale.py and the plan test: built in PostgreSQL with INSERT ... SELECT.

Every row comes from ``generate_series`` and arithmetic on its index (no random(), so two
builds of the same size are the same data): tickets spread evenly over five years, most of
them closed, a backlog of open ones in the last weeks with SLA due times, about three
messages and one history entry per ticket, one "big customer" account with thousands of
tickets and one ticket with a very long thread.
"""

# The SQL below is built from this module's own integers and constants, never from input.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Connection, select, text

from accounts import tokens
from accounts.credentials import hash_password
from accounts.models import User
from helpdesk.runtime import Runtime

QUEUES = (
    "triage",
    "support",
    "accounting",
    "on-call",
    "customer-account",
    "wawi",
    "wms",
    "shop",
    "eazyauction",
    "connectors",
    "pos",
    "shipping",
    "production",
    "fulfillment",
    "vouchers",
    "api",
    "hosting",
    "services",
    # Two retired queues: years of closed tickets stay in them.
    "marketplace-legacy",
    "hosting-legacy",
)
AGENTS = 60
YEARS = 5
# Words of subjects and texts: the common one is in about every fifth ticket, the rare one in
# a handful (ticket ids divisible by RARE_EVERY).
COMMON_WORD = "Rechnung"
RARE_WORD = "Zahnradbahn"
TAG = "rückruf"  # on every 50th ticket: the console's tag filter
RARE_EVERY = 50_000
BIG_CUSTOMER_TICKETS = 5_000
LONG_THREAD_MESSAGES = 400
SIGN_IN_PASSWORD = "Bench-Anmeldung-2026"  # the supervisor's and the big customer's
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2g$not-a-usable-hash"  # nobody signs in


@dataclass(frozen=True)
class Size:
    tickets: int
    accounts: int

    @property
    def contact_persons(self) -> int:
        return self.accounts * 3


def size_for(tickets: int) -> Size:
    return Size(tickets, 100_000 if tickets >= 1_000_000 else max(1_000, tickets // 10))


def _queue_array() -> str:
    return "ARRAY[" + ", ".join(f"'{queue}'" for queue in QUEUES) + "]"


SUBJECTS = (
    "ARRAY['Zugang gesperrt', 'Frage zur Rechnung', 'Abgleich mit dem Marktplatz hängt', "
    "'Shop offline nach Update', 'Lizenz verlängern', 'Versandetiketten drucken nicht', "
    "'Worker startet nicht', 'Kassenabschluss fehlerhaft', 'Schnittstelle liefert Fehler 500', "
    "'Artikelimport bricht ab', 'Datenschutzanfrage', 'Umzug des Marktplatzkontos']"
)
BODIES = (
    "ARRAY['Seit heute Morgen erscheint beim Start eine Fehlermeldung.', "
    "'Die letzte Rechnung enthält eine Position, die wir nicht gebucht haben.', "
    "'Nach dem Update auf die neue Version ist der Abgleich sehr langsam.', "
    "'Bitte prüfen Sie die Einstellungen unseres Kontos.', "
    "'Wir brauchen Hilfe bei der Einrichtung des Lagers.', "
    "'Die Bestellungen vom Wochenende fehlen in der Wawi.', "
    "'Unser Kunde meldet, dass der Shop nicht erreichbar ist.']"
)


def statements(size: Size) -> list[tuple[str, str]]:
    """(what, SQL) in the order to run; ``:now`` is bound by the caller."""
    n, accounts = size.tickets, size.accounts
    span = f"interval '{YEARS * 365} days'"
    return [
        (
            "accounts",
            f"""
            INSERT INTO accounts (id, customer_number, company, edition, key_accounting, active,
                                  first_contact, first_contact_key, created_at, updated_at)
            SELECT a, (100000 + a)::text, 'Firma ' || a || ' GmbH',
                   (ARRAY['start','start','advanced','pro','enterprise'])[1 + a % 5],
                   false, a % 50 <> 0,
                   'info@firma' || a || '.example', 'info@firma' || a || '.example',
                   :now - {span}, :now - {span}
            FROM generate_series(1, {accounts}) AS a
            """,
        ),
        (
            "contact persons",
            f"""
            INSERT INTO contact_persons (account_id, salutation, title, first_name, last_name,
                position, email, email_key, phone, mobile_fax, gdpr_representative, external,
                receives_critical, responsibilities, newsletter_channels, created_at, updated_at)
            SELECT 1 + p % {accounts}, 'Herr', '', 'Vorname' || p, 'Nachname' || p, 'IT',
                   'person' || p || '@firma' || (1 + p % {accounts}) || '.example',
                   'person' || p || '@firma' || (1 + p % {accounts}) || '.example',
                   '', '', p % 7 = 0, false, p % 3 <> 0,
                   '["operations"]', '[]', :now - {span}, :now - {span}
            FROM generate_series(0, {size.contact_persons - 1}) AS p
            """,
        ),
        (
            "distribution lists",
            f"""
            INSERT INTO distribution_list_entries (account_id, purpose, email, email_key,
                                                   created_at)
            SELECT a, purpose, purpose || '@firma' || a || '.example',
                   purpose || '@firma' || a || '.example', :now - {span}
            FROM generate_series(1, {accounts}) AS a,
                 unnest(ARRAY['emergency', 'data_protection']) AS purpose
            WHERE purpose = 'emergency' OR a % 2 = 0
            """,
        ),
        (
            "agents",
            f"""
            INSERT INTO users (email, email_key, name, password_hash, kind, account_id, owner,
                permissions, roles, queues, active, require_totp, recovery_code_hashes,
                session_version, created_at)
            SELECT 'agent' || g || '@support.example.com', 'agent' || g || '@support.example.com',
                   'Agent ' || g, '{PASSWORD_HASH}', 'staff', NULL, false, '[]',
                   '["agent"]', json_build_array(({_queue_array()})[1 + g % {len(QUEUES)}]),
                   true, false, '[]', 0, :now - {span}
            FROM generate_series(1, {AGENTS}) AS g
            """,
        ),
        (
            "tickets",
            f"""
            INSERT INTO tickets (id, account_id, requester_id, assignee_id, reply_to,
                product_family, component, department, subject, body, channel,
                requested_priority, effective_priority, queue, status, tags, sla_policy,
                emergency_review, routing_rule, routing_rule_line, rules_version, created_at,
                updated_at, closed_at, support_level, sla_key, sla_status, sla_next_due_at,
                first_response_due_at, resolution_due_at, first_responded_at, resolved_at,
                first_response_minutes, resolution_minutes, first_response_breached,
                next_response_breached, resolution_breached)
            SELECT t.id, t.account_id, NULL,
                   CASE WHEN t.age_days < 21 AND t.id % 10 = 0 THEN NULL
                        ELSE (SELECT min(id) FROM users WHERE kind = 'staff') + t.id % {AGENTS}
                   END,
                   'kontakt@firma' || t.account_id || '.example', 'JTL-Wawi', 'Allgemein', NULL,
                   subjects[1 + t.id % 12]
                     || CASE WHEN t.id % {RARE_EVERY} = 7 THEN ' {RARE_WORD}' ELSE '' END,
                   bodies[1 + (t.id / 12) % 7] || ' Kundennummer ' || (100000 + t.account_id)
                     || CASE WHEN t.id % 5 = 0 THEN ' Betrifft die {COMMON_WORD} vom Vormonat.'
                        ELSE '' END,
                   (ARRAY['web','api','email','phone'])[1 + t.id % 4],
                   t.priority, t.priority, t.queue, t.status,
                   (CASE WHEN t.id % 50 = 3 THEN '["{TAG}"]' ELSE '[]' END)::json,
                   'bench', false, 'bench', 1,
                   'bench', t.created_at, t.created_at + interval '2 hours',
                   CASE WHEN t.status = 'closed' THEN t.created_at + interval '3 days' END,
                   (ARRAY['Community','Bronze','Silber','Gold'])[1 + t.account_id % 4],
                   (ARRAY['Community','Bronze','Silber','Gold'])[1 + t.account_id % 4]
                     || '/' || t.priority,
                   t.status,
                   CASE WHEN t.status IN ('new','open','waiting')
                        THEN t.created_at + (1 + t.id % 72) * interval '1 hour' END,
                   t.created_at + interval '4 hours', t.created_at + interval '3 days',
                   CASE WHEN t.status <> 'new' THEN t.created_at + interval '1 hour' END,
                   CASE WHEN t.status IN ('resolved','closed')
                        THEN t.created_at + interval '2 days' END,
                   CASE WHEN t.status <> 'new' THEN 30 + t.id % 300 END,
                   CASE WHEN t.status IN ('resolved','closed') THEN 600 + t.id % 2000 END,
                   t.id % 17 = 0, false, t.id % 23 = 0
            FROM (
                SELECT i AS id,
                       CASE WHEN i % 200 = 0 AND i > {n} - {BIG_CUSTOMER_TICKETS} * 200 THEN 1
                            ELSE (2 + (i::bigint * 7919) % ({accounts} - 1))::int
                       END AS account_id,
                       ({_queue_array()})[1 + (i * 31 + i / 97) % {len(QUEUES)}] AS queue,
                       CASE WHEN i % 100 < 4 THEN 'low' WHEN i % 100 < 74 THEN 'normal'
                            WHEN i % 100 < 97 THEN 'high' ELSE 'critical' END AS priority,
                       :now - {span} + ({span}) * (i::float8 / {n}) AS created_at,
                       {YEARS * 365} * (1 - i::float8 / {n}) AS age_days,
                       CASE WHEN {YEARS * 365} * (1 - i::float8 / {n}) < 21
                            THEN (ARRAY['new','open','open','waiting','resolved'])[1 + i % 5]
                            WHEN i % 997 = 0 THEN 'waiting'
                            WHEN i % 10 = 0 THEN 'resolved' ELSE 'closed' END AS status
                FROM generate_series(1, {n}) AS i
            ) AS t, (SELECT {SUBJECTS} AS subjects, {BODIES} AS bodies) AS words
            """,
        ),
        (
            "ticket messages",
            """
            INSERT INTO ticket_messages (ticket_id, kind, author, channel, body, quoted,
                                         message_id, created_at)
            SELECT t.id,
                   CASE WHEN m % 2 = 0 THEN 'agent' ELSE 'customer' END,
                   CASE WHEN m % 2 = 0 THEN 'agent@support.example.com'
                        ELSE 'kontakt@firma' || t.id % 1000 || '.example' END,
                   'email', 'Antwort ' || m || ' zum Vorgang. Bitte prüfen Sie die Angaben.',
                   NULL, 'm' || t.id || '.' || m || '@bench.example',
                   t.created_at + m * interval '3 hours'
            FROM tickets AS t, generate_series(1, 1 + t.id % 5) AS m
            """,
        ),
        (
            "long thread",
            f"""
            INSERT INTO ticket_messages (ticket_id, kind, author, channel, body, message_id,
                                         created_at)
            SELECT {n} - 1, CASE WHEN m % 2 = 0 THEN 'agent' ELSE 'customer' END,
                   'kontakt@firma1.example', 'email',
                   repeat('Langer Verlauf, Nachricht ' || m || '. ', 8),
                   'long.' || m || '@bench.example',
                   :now - interval '20 days' + m * interval '1 hour'
            FROM generate_series(1, {LONG_THREAD_MESSAGES}) AS m
            """,
        ),
        (
            "history",
            """
            INSERT INTO ticket_events (ticket_id, actor, action, changes, reason, created_at)
            SELECT id, reply_to, 'created', '{}', NULL, created_at FROM tickets
            """,
        ),
        (
            "sequences",
            """
            SELECT setval(pg_get_serial_sequence(name, 'id'), (SELECT max(id) FROM tickets))
            FROM (VALUES ('tickets')) AS s(name)
            UNION ALL
            SELECT setval(pg_get_serial_sequence('accounts', 'id'), (SELECT max(id) FROM accounts))
            """,
        ),
    ]


def build(connection: Connection, size: Size, now: object, report: object) -> None:
    """Run every statement in one transaction, then ANALYZE; ``report(what, seconds)``."""
    import time

    for what, sql in statements(size):
        started = time.perf_counter()
        connection.execute(text(sql), {"now": now})
        report(what, time.perf_counter() - started)  # type: ignore[operator]


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    token: str  # for /api/ (pages take only the session cookie)


def logins(runtime: Runtime) -> tuple[Login, Login, int]:
    """A supervisor (all queues, the SLA report) and the big customer's user, and an agent id."""
    people = {
        "supervisor@support.example.com": {
            "kind": "staff",
            "roles": ["agent", "supervisor"],
            "scopes": ["agent", "supervisor"],
        },
        "kunde@firma1.example": {
            "kind": "customer",
            "account_id": 1,
            "permissions": ["customer.tickets"],
            "scopes": ["customer.tickets"],
        },
    }
    plain = {}
    with runtime.db.session() as session:
        for email, person in people.items():
            user = session.scalar(select(User).where(User.email_key == email))
            if user is None:
                user = User(
                    email=email,
                    email_key=email,
                    name=email.split("@")[0],
                    password_hash="",
                    kind=person["kind"],
                    account_id=person.get("account_id"),
                    permissions=person.get("permissions", []),
                    roles=person.get("roles", []),
                )
                session.add(user)
                session.flush()
            user.password_hash = hash_password(SIGN_IN_PASSWORD)  # also on a set built earlier
            person["id"] = user.id
        agent_id = session.scalar(select(User.id).where(User.email_key.like("agent1@%")))
    for email, person in people.items():
        _, plain[email] = tokens.issue(runtime, person["id"], "bench", person["scopes"])
    staff, customer = (
        Login(email, SIGN_IN_PASSWORD, plain[email])
        for email in ("supervisor@support.example.com", "kunde@firma1.example")
    )
    return staff, customer, agent_id


def deep_cursor(client: Any, query: dict[str, str], pages: int) -> str:
    """The cursor of page ``pages + 1`` (100 rows a page), walked through the API."""
    cursor = ""
    for _ in range(pages):
        arguments = {**query, "limit": "100", **({"cursor": cursor} if cursor else {})}
        status, _, body = client.get("/api/v1/tickets?" + urlencode(arguments))
        assert status == 200, body[:300]
        cursor = json.loads(body)["next_cursor"] or cursor
    return cursor


def pages(
    staff: Any, size: Size, agent_id: int
) -> list[tuple[str, str, Callable[[int], str], int]]:
    """(page, who, path for round n, status): what an agent ("staff") and a customer open most.

    A search for one ticket's number answers 303 to that ticket's page; every other page 200.

    ``staff`` fetches the deep cursors first; it answers ``get(path)`` with (status, seconds,
    body), over HTTP in the bench and through Flask's test client in the plan test.
    """
    queues = QUEUES[:18]  # the queues of routing_rules.yaml
    big = "wawi"
    deep_open = deep_cursor(staff, {"queue": big}, 3)
    deep_all = deep_cursor(staff, {"queue": big, "status": "alle"}, 20)
    long_thread = f"HD-{size.tickets - 1:06d}"
    return [
        (
            "queue, first page (each queue)",
            "staff",
            lambda n: f"/konsole?queue={queues[n % 18]}",
            200,
        ),
        (
            "queue, open, page 4 (cursor)",
            "staff",
            lambda n: f"/konsole?queue={big}&{_c(deep_open)}",
            200,
        ),
        (
            "queue, all statuses, page 21 (cursor)",
            "staff",
            lambda n: f"/konsole?queue={big}&status=alle&{_c(deep_all)}",
            200,
        ),
        ("due soon (all queues, due first)", "staff", lambda n: "/konsole", 200),
        ("filter status=waiting", "staff", lambda n: f"/konsole?queue={big}&status=waiting", 200),
        ("filter priority=critical", "staff", lambda n: "/konsole?priority=critical", 200),
        ("filter assignee (an agent)", "staff", lambda n: f"/konsole?assignee={agent_id}", 200),
        ("filter assignee=none", "staff", lambda n: "/konsole?assignee=none", 200),
        ("filter tag", "staff", lambda n: f"/konsole?tag={quote(TAG)}", 200),
        ("search common word", "staff", lambda n: f"/konsole?q={COMMON_WORD}", 200),
        ("search rare word", "staff", lambda n: f"/konsole?q={RARE_WORD}", 200),
        ("search customer number", "staff", lambda n: f"/konsole?q={100002 + n % 500}", 200),
        ("jump to a ticket number", "staff", lambda n: f"/konsole?q=HD-{1 + n * 997:06d}", 303),
        ("ticket page, long thread", "staff", lambda n: f"/konsole/tickets/{long_thread}", 200),
        ("customer's ticket list", "customer", lambda n: "/tickets", 200),
        (
            "customer's list, open, by subject",
            "customer",
            lambda n: "/tickets?status=offen&sort=subject",
            200,
        ),
        ("customer's list, search", "customer", lambda n: f"/tickets?q={COMMON_WORD}", 200),
        ("customer's list via API", "customer", lambda n: "/api/v1/tickets", 200),
        ("SLA report, 4 weeks", "staff", lambda n: "/reports/sla?wochen=4", 200),
    ]


def _c(cursor: str) -> str:
    return urlencode({"cursor": cursor})
