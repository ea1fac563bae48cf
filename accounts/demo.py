"""Demo accounts, people, lists and users for `helpdesk seed demo` (known passwords)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select

from accounts import people, services, tokens, users
from accounts.models import CUSTOMER_PERMISSIONS, Account, AccountProduct, LicenseLock
from helpdesk.runtime import Runtime

DEMO_PASSWORD = "Demo-Passwort-2026"  # noqa: S105 - demo data, printed on purpose
STAFF_DOMAIN = "support.example.com"
TOKEN_NAME = "demo"  # noqa: S105 - the name of the demo tokens, not a token


@dataclass(frozen=True)
class DemoLogin:
    email: str
    kind: str
    what: str  # e.g. "Kontoinhaber 10001", "Agent triage"
    permissions: tuple[str, ...] = ()
    account: str | None = None
    queues: tuple[str, ...] = ()
    require_totp: bool = False
    owner: bool = False
    password: str = DEMO_PASSWORD
    name: str = ""  # staff are shown by name (assignee, history)


@dataclass
class SeedResult:
    created: bool
    logins: list[DemoLogin]
    tokens: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "accounts": [a["customer_number"] for a in DEMO_ACCOUNTS],
            "users": [
                asdict(login) | {"token": self.tokens.get(login.email)} for login in self.logins
            ],
        }


def _contact(first: str, last: str, email: str, **extra: Any) -> dict[str, Any]:
    return {"first_name": first, "last_name": last, "email": email, **extra}


DEMO_ACCOUNTS: tuple[dict[str, Any], ...] = (
    {
        "customer_number": "10001",
        "company": "Müller Handel GmbH",
        "edition": "start",
        "products": ["JTL-Wawi"],
        "first_contact": "info@mueller-handel.example",
        "contacts": [
            _contact(
                "Anna",
                "Müller",
                "anna.mueller@mueller-handel.example",
                salutation="Frau",
                position="Geschäftsführerin",
                responsibilities=["owner"],
                receives_critical=True,
                phone="+49 2433 123450",
            ),
            _contact(
                "Jens",
                "Weber",
                "weber@datenschutz-extern.example",
                salutation="Herr",
                title="Dr.",
                position="Externer Datenschutzbeauftragter",
                external=True,
                gdpr_representative=True,
                responsibilities=["dpo_external"],
            ),
        ],
        "lists": {
            "emergency": ["admin@mueller-handel.example"],
            "data_protection": ["weber@datenschutz-extern.example"],
        },
    },
    {
        "customer_number": "10002",
        "company": "Schmidt Versand KG",
        "edition": "advanced",
        "products": ["JTL-Wawi", "JTL-Shop", "JTL-Versandmodule"],
        "first_contact": "it@schmidt-versand.example",
        "contacts": [
            _contact(
                "Peter",
                "Schmidt",
                "peter.schmidt@schmidt-versand.example",
                salutation="Herr",
                position="IT-Leitung",
                responsibilities=["administration"],
                receives_critical=True,
            ),
        ],
        "lists": {
            "emergency": ["hosting@schmidt-versand.example", "it@schmidt-versand.example"],
            "data_protection": ["datenschutz@schmidt-versand.example"],
        },
    },
    {
        "customer_number": "10003",
        "company": "Bäckerei Weiß e.K.",
        "edition": "pro",
        "products": ["JTL-Wawi", "JTL-POS"],
        "first_contact": "info@bäckerei-weiß.example",
        "locks": [("JTL-Wawi", date(2026, 11, 2), None, "Zahlungsverzug")],
        "contacts": [
            _contact(
                "Jürgen",
                "Weiß",
                "juergen@bäckerei-weiß.example",
                salutation="Herr",
                position="Inhaber",
                responsibilities=["owner", "billing"],
            ),
        ],
        "lists": {
            "emergency": ["notfall@bäckerei-weiß.example"],
            "data_protection": ["juergen@bäckerei-weiß.example"],
        },
    },
    {
        "customer_number": "10004",
        "company": "Nordlicht Commerce AG",
        "edition": "enterprise",
        "key_accounting": True,
        "products": ["JTL-Wawi", "JTL-Shop", "JTL-WMS", "JTL-Connectoren"],
        "first_contact": "kundencenter@nordlicht-commerce.example",
        "locks": [("JTL-Shop", date(2026, 11, 20), date(2026, 12, 31), "Sicherheitsvorfall")],
        "contacts": [
            _contact(
                "Lena",
                "Hansen",
                "lena.hansen@nordlicht-commerce.example",
                salutation="Frau",
                position="Head of E-Commerce",
                responsibilities=["marketing", "sales"],
                receives_critical=True,
            ),
            _contact(
                "Ole",
                "Jensen",
                "ole.jensen@nordlicht-commerce.example",
                salutation="Herr",
                position="Datenschutzbeauftragter",
                gdpr_representative=True,
                responsibilities=["dpo_internal", "legal"],
            ),
        ],
        "lists": {
            "emergency": ["ops@nordlicht-commerce.example"],
            "data_protection": ["datenschutz@nordlicht-commerce.example"],
        },
    },
)
CUSTOMER_LOGINS = (
    DemoLogin(
        "kunde@mueller-handel.example",
        "customer",
        "Kontoinhaber 10001",
        CUSTOMER_PERMISSIONS,
        "10001",
        owner=True,
    ),
    DemoLogin(
        "technik@mueller-handel.example",
        "customer",
        "Benutzer 10001 (nur Tickets)",
        ("customer.tickets",),
        "10001",
    ),
    DemoLogin(
        "it@nordlicht-commerce.example",
        "customer",
        "Kontoinhaber 10004",
        CUSTOMER_PERMISSIONS,
        "10004",
        owner=True,
    ),
)


FIRST_NAMES = ("Anna", "Jonas", "Lea", "Felix", "Marie", "Paul", "Sophie", "Lukas", "Emma")
LAST_NAMES = ("Becker", "Wagner", "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf")


def _staff_name(index: int) -> str:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    return f"{first} {LAST_NAMES[(index // len(FIRST_NAMES) + index) % len(LAST_NAMES)]}"


def staff_logins(queue_ids: list[str]) -> list[DemoLogin]:
    agents = [
        DemoLogin(
            f"agent-{queue}@{STAFF_DOMAIN}",
            "staff",
            f"Agent {queue}",
            ("agent",),
            queues=(queue,),
            name=_staff_name(index),
        )
        for index, queue in enumerate(queue_ids)
    ]
    return [
        *agents,
        DemoLogin(
            f"supervisor@{STAFF_DOMAIN}",
            "staff",
            "Supervisor",
            ("supervisor",),
            name="Sabine Krüger",
        ),
        DemoLogin(f"ops@{STAFF_DOMAIN}", "staff", "Ops (Mailings)", ("ops",), name="Otto Brandt"),
        DemoLogin(
            f"ops2@{STAFF_DOMAIN}",
            "staff",
            "Ops (gibt Mailings frei: Vier-Augen-Prinzip)",
            ("ops",),
            name="Olga Berger",
        ),
        DemoLogin(
            f"admin@{STAFF_DOMAIN}",
            "staff",
            "Admin (Zwei-Faktor Pflicht)",
            ("admin",),
            require_totp=True,
            name="Adrian Vogel",
        ),
    ]


def announcement() -> list[str]:
    """Lines for `make run`: who can sign in with which password."""
    return [
        f"  Demo logins (password {DEMO_PASSWORD}):",
        *(f"    {login.email:<40} {login.what}" for login in CUSTOMER_LOGINS),
        f"    agent-<queue>@{STAFF_DOMAIN:<25} Agent, one per queue in routing_rules.yaml",
        f"    supervisor@{STAFF_DOMAIN}, ops@{STAFF_DOMAIN}",
        f"    ops2@{STAFF_DOMAIN} (approves what ops@ composed: the four-eyes rule)",
        f"    admin@{STAFF_DOMAIN} (sets up two-factor sign-in on first sign-in)",
        "  `helpdesk seed demo --if-empty --json` lists them all with fresh API tokens.",
    ]


def seed_accounts(
    runtime: Runtime, queue_ids: list[str], *, if_empty: bool, issue_tokens: bool
) -> SeedResult:
    logins = [*CUSTOMER_LOGINS, *staff_logins(queue_ids)]
    with runtime.db.session() as session:
        populated = bool(session.scalar(select(func.count()).select_from(Account)))
    created = not (if_empty and populated)
    if created:
        account_ids = {
            spec["customer_number"]: _seed_account(runtime, spec) for spec in DEMO_ACCOUNTS
        }
        for login in logins:
            _seed_user(runtime, login, account_ids)
    result = SeedResult(created, logins)
    if issue_tokens:
        for login in logins:
            user = users.user_by_email(runtime, login.email)
            if user is None:
                continue
            tokens.revoke_named(runtime, user.id, TOKEN_NAME)
            if users.must_enrol(user):
                continue  # a required second factor comes first; the user issues tokens then
            _token, plain = tokens.issue(runtime, user.id, TOKEN_NAME, login.permissions)
            result.tokens[login.email] = plain
    return result


def _seed_account(runtime: Runtime, spec: dict[str, Any]) -> int:
    actor = "seed"
    with runtime.db.session() as session:
        account = session.scalar(
            select(Account).where(Account.customer_number == spec["customer_number"])
        )
        if account is not None:
            return account.id
        account = Account(
            customer_number=spec["customer_number"],
            company=spec["company"],
            edition=spec["edition"],
            key_accounting=spec.get("key_accounting", False),
            products=[AccountProduct(product=product) for product in spec["products"]],
            license_locks=[
                LicenseLock(product=product, since=since, until=until, reason=reason)
                for product, since, until, reason in spec.get("locks", ())
            ],
        )
        session.add(account)
        session.flush()
        account_id = account.id
    services.change_first_contact(runtime, account_id, spec["first_contact"], actor)
    for contact in spec["contacts"]:
        people.create_contact(runtime, account_id, people.parse_contact(contact), actor)
    for purpose, entries in spec["lists"].items():
        people.replace_distribution_list(runtime, account_id, purpose, entries, actor)
    return account_id


def _seed_user(runtime: Runtime, login: DemoLogin, account_ids: dict[str, int]) -> None:
    if users.user_by_email(runtime, login.email) is not None:
        return
    if login.kind == "customer":
        assert login.account is not None
        users.create_customer_user(
            runtime,
            account_id=account_ids[login.account],
            email=login.email,
            password=login.password,
            permissions=login.permissions,
            owner=login.owner,
        )
    else:
        users.create_staff_user(
            runtime,
            email=login.email,
            password=login.password,
            roles=login.permissions,
            queues=login.queues,
            require_totp=login.require_totp,
            name=login.name,
        )
