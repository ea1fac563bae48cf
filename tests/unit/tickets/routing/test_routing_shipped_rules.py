"""Every route the help pages name, through the shipped routing_rules.yaml."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.tickets.routing.rulefiles import SHIPPED_RULES
from tickets.routing import RuleSet, TicketFacts, check_rules

ACCOUNT = {"product_family": "JTL-Kundenkonto", "component": "Fragen zu Firmendaten/Kundenkonto"}
ACCOUNTING_MAILBOX = {"channel": "email", "mailbox": "buchhaltung@jtl-software.de"}

# (case, facts, queue, effective priority, rule, tags the decision must carry)
ROUTES: list[tuple[str, dict[str, Any], str, str, str, set[str]]] = [
    (
        "locked access from the ticket form, customer chose low",
        {**ACCOUNT, "subject": "Zugang gesperrt", "requested_priority": "low"},
        "accounting",
        "high",
        "locked-access",
        {"zugang-gesperrt"},
    ),
    (
        "locked access marked critical still goes to accounting with high",
        {**ACCOUNT, "subject": "Zugang gesperrt", "requested_priority": "critical"},
        "accounting",
        "high",
        "locked-access",
        {"zugang-gesperrt"},
    ),
    (
        "locked access by mail, shouted and prefixed",
        {"channel": "email", "subject": "AW: ZUGANG   GESPERRT!! Kundennr. 123456"},
        "accounting",
        "high",
        "locked-access",
        {"zugang-gesperrt"},
    ),
    (
        "locked access filed by an agent from the accounting hotline",
        {"channel": "phone", "subject": "Zugang gesperrt", "body": "Kundennummer 123456"},
        "accounting",
        "high",
        "locked-access",
        {"zugang-gesperrt"},
    ),
    (
        "locked license named under another product family",
        {"product_family": "JTL-Wawi", "component": "JTL-Wawi", "subject": "Lizenz gesperrt?"},
        "accounting",
        "high",
        "locked-access",
        {"zugang-gesperrt"},
    ),
    (
        "customer asks for a lock after a security incident",
        {**ACCOUNT, "subject": "Sicherheitslücke: bitte Lizenz sperren"},
        "accounting",
        "high",
        "lock-requested-by-customer",
        {"sperrung-auf-kundenwunsch"},
    ),
    (
        "account question from a customer with a locked license is raised to high",
        {
            **ACCOUNT,
            "subject": "Frage zur Rechnung",
            "license_locked": True,
            "requested_priority": "low",
        },
        "accounting",
        "high",
        "locked-license-account-question",
        {"lizenz-gesperrt"},
    ),
    (
        "access data question is not a locked access",
        {
            "product_family": "JTL-Wawi",
            "component": "JTL-Wawi",
            "subject": "Zugangsdaten gesperrt?",
        },
        "wawi",
        "normal",
        "wawi",
        set(),
    ),
    (
        "critical shop outage goes to on call for emergency review",
        {
            "product_family": "JTL-Shop",
            "component": "JTL-Shop",
            "subject": "Shop ist offline",
            "requested_priority": "critical",
        },
        "on-call",
        "critical",
        "critical-emergency",
        {"kritisch"},
    ),
    (
        "critical question that is no emergency is reviewed (and billed) too",
        {
            "product_family": "JTL-Wawi",
            "component": "JTL-Wawi",
            "subject": "Frage zu Etiketten",
            "requested_priority": "critical",
        },
        "on-call",
        "critical",
        "critical-emergency",
        {"kritisch"},
    ),
    (
        "death of the company owner in the subject",
        {**ACCOUNT, "subject": "Todesfall unseres Firmeninhabers"},
        "accounting",
        "normal",
        "owner-deceased",
        {"todesfall-inhaber"},
    ),
    (
        "death of the company owner only in the text of an account ticket",
        {**ACCOUNT, "subject": "Änderung Inhaber", "body": "Unser Inhaber ist verstorben."},
        "accounting",
        "normal",
        "owner-deceased-in-text",
        {"todesfall-inhaber"},
    ),
    (
        "death certificate mailed to accounting without a login",
        {**ACCOUNTING_MAILBOX, "subject": "Unterlagen", "body": "Anbei die Sterbeurkunde."},
        "accounting",
        "normal",
        "owner-deceased-mail",
        {"todesfall-inhaber"},
    ),
    (
        "unwanted installation service chosen in the form",
        {
            "product_family": "Dienstleistungen",
            "component": "Installationsservice",
            "subject": "Termin absagen",
        },
        "accounting",
        "normal",
        "unwanted-setup-service",
        {"dienstleistung-abgesagt"},
    ),
    (
        "unwanted setup service named in the subject under another family",
        {
            "product_family": "JTL-Wawi",
            "component": "JTL-Wawi",
            "subject": "Einrichtungsservice stornieren",
        },
        "accounting",
        "normal",
        "unwanted-setup-service-by-subject",
        {"dienstleistung-abgesagt"},
    ),
    (
        "installation service appointment is the services team's",
        {
            "product_family": "Dienstleistungen",
            "component": "Installationsservice",
            "subject": "Terminvorschlag",
        },
        "services",
        "normal",
        "services",
        set(),
    ),
    (
        "product booked by mistake",
        {
            **ACCOUNT,
            "component": "Bestellungen & Lizenzen",
            "subject": "JTL-Vouchers aus Versehen gebucht",
        },
        "accounting",
        "normal",
        "booked-by-mistake",
        {"fehlbuchung"},
    ),
    (
        "marketplace account to another customer account, chosen in the form",
        {
            "product_family": "eazyAuction",
            "component": "Marktplatzkonto auf anderes Kundenkonto umziehen",
            "subject": "Umzug",
        },
        "eazyauction",
        "normal",
        "marketplace-account-move",
        {"marktplatzkonto-umzug"},
    ),
    (
        "marketplace account move told in the subject, umlaut spelled out",
        {
            "product_family": "eazyAuction",
            "component": "Marktplatzanbindung",
            "subject": "Marktplatzkonto uebertragen",
        },
        "eazyauction",
        "normal",
        "marketplace-account-move-by-subject",
        {"marktplatzkonto-umzug"},
    ),
    (
        "mail to the accounting mailbox",
        {"channel": "email", "mailbox": "Buchhaltung@JTL-Software.de", "subject": "Rechnung"},
        "accounting",
        "normal",
        "accounting-mailbox",
        set(),
    ),
    (
        "mail nobody claims goes to triage",
        {"channel": "email", "mailbox": "support@jtl-software.de", "subject": "Hallo"},
        "triage",
        "normal",
        "unmatched-mail",
        {"unzugeordnet"},
    ),
    (
        "accounting department chosen in the hosting customer center",
        {
            "product_family": "ecomDATA Cloud",
            "component": "Abrechnung",
            "department": "Buchhaltung",
            "subject": "Rechnung",
        },
        "accounting",
        "normal",
        "accounting-department",
        set(),
    ),
    (
        "domains department",
        {
            "product_family": "ecomDATA Cloud",
            "component": "Domains",
            "department": "Domains",
            "subject": "Auth-Code",
        },
        "hosting",
        "normal",
        "domains-department",
        set(),
    ),
    (
        "shop hosting goes to hosting, not to the shop team",
        {"product_family": "JTL-Shop", "component": "Shop-Hosting", "subject": "Umzug"},
        "hosting",
        "normal",
        "shop-hosting",
        set(),
    ),
    (
        "web ticket without a product family goes to the default queue",
        {"subject": "Allgemeine Frage"},
        "support",
        "normal",
        "default",
        set(),
    ),
    (
        "requested priority is kept when no rule changes it",
        {
            "product_family": "JTL-WMS",
            "component": "JTL-WMS Mobile",
            "subject": "Scanner",
            "requested_priority": "high",
        },
        "wms",
        "high",
        "wms",
        set(),
    ),
]

FAMILY_QUEUES = {
    "JTL-Kundenkonto": "customer-account",
    "JTL-Wawi": "wawi",
    "JTL-WMS": "wms",
    "JTL-Shop": "shop",
    "eazyAuction": "eazyauction",
    "JTL-Connectoren": "connectors",
    "JTL-POS": "pos",
    "JTL-Versandmodule": "shipping",
    "JTL-Plan&Produce": "production",
    "JTL-Fulfillment Network": "fulfillment",
    "JTL-Vouchers": "vouchers",
    "JTL-Wawi API": "api",
    "Hosting by JTL": "hosting",
    "ecomDATA Cloud": "hosting",
    "Dienstleistungen": "services",
}


def test_shipped_rules_pass_check():
    assert check_rules(SHIPPED_RULES) == []


@pytest.mark.parametrize(
    ("facts", "queue", "priority", "rule", "tags"),
    [case[1:] for case in ROUTES],
    ids=[case[0] for case in ROUTES],
)
def test_named_route(shipped: RuleSet, facts, queue, priority, rule, tags):
    decision = shipped.route(TicketFacts(**facts))

    assert (decision.queue, decision.priority, decision.rule_id) == (queue, priority, rule)
    assert tags <= set(decision.tags)
    assert decision.requested_priority == facts.get("requested_priority", "normal")
    assert decision.emergency_review is (rule == "critical-emergency")
    assert decision.rules_version == shipped.version


@pytest.mark.parametrize(("family", "queue"), FAMILY_QUEUES.items())
def test_each_product_family_has_its_queue(shipped: RuleSet, family, queue):
    component = shipped.family(family).components[-1]
    if (family, component) == ("JTL-Shop", "Shop-Hosting"):
        component = "JTL-Shop"

    decision = shipped.route(
        TicketFacts(product_family=family, component=component, subject="Frage")
    )

    assert decision.queue == queue


def test_every_catalog_family_is_routed_by_family(shipped: RuleSet):
    assert {family.name for family in shipped.catalog.families} == set(FAMILY_QUEUES)


def test_catalog_names_the_source_documents_products(shipped: RuleSet):
    catalog = shipped.catalog_dict()
    families = {family["name"]: family for family in catalog["product_families"]}

    assert "Fragen zu Firmendaten/Kundenkonto" in families["JTL-Kundenkonto"]["components"]
    assert {"Connector für Shopify", "Connector für Shopware 6"} <= set(
        families["JTL-Connectoren"]["components"]
    )
    assert [p["id"] for p in catalog["priorities"]] == ["low", "normal", "high", "critical"]
    assert "Serverausfall" in catalog["priorities"][-1]["description"]
    assert "Buchhaltung" in catalog["departments"]


def test_family_colour_is_the_banner_colour(shipped: RuleSet):
    assert shipped.family_colour("JTL-Wawi") == "#2C6FB7"
    with pytest.raises(KeyError):
        shipped.family_colour("JTL-Unbekannt")


def test_triage_queue_exists(shipped: RuleSet):
    assert "triage" in shipped.queue_ids()
