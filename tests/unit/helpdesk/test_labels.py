"""Every label has its German words in the catalog, and every stored value has a label."""

from __future__ import annotations

from babel.messages.pofile import read_po

from accounts.models import STAFF_ROLES
from helpdesk.i18n import TRANSLATIONS
from helpdesk.labels import LABELS, label, sla_name
from notifications.mailings.models import (
    AUDIENCE_KINDS,
    DELIVERY_STATES,
    MAILING_STATES,
    PURPOSES,
    REASONS,
)
from tickets.models import CHANNELS, MESSAGE_KINDS, PRIORITIES, STATUSES
from tickets.routing.conditions import CONDITION_KEYS
from tickets.sla.models import STEPS
from tickets.sla.targets import TARGET_KINDS


def test_every_msgid_has_a_german_translation():
    with (TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="de")
    missing = [
        msgid
        for table in LABELS.values()
        for msgid in table.values()
        if msgid not in catalog or not catalog[msgid].string
    ]
    assert missing == []


def test_every_stored_value_has_a_label():
    kinds = {
        "priority": PRIORITIES,
        "status": STATUSES,
        "channel": CHANNELS,
        "message_kind": MESSAGE_KINDS,
        "purpose": PURPOSES,
        "audience": AUDIENCE_KINDS,
        "mailing_state": MAILING_STATES,
        "delivery_state": DELIVERY_STATES,
        "customer_delivery_state": DELIVERY_STATES,
        "reason": REASONS,
        "sla_target": TARGET_KINDS,
        "sla_step": STEPS,
        "role": STAFF_ROLES,
        "routing_condition": CONDITION_KEYS,
    }
    unlabelled = [
        (kind, value)
        for kind, values in kinds.items()
        for value in values
        if value not in LABELS[kind]
    ]
    assert unlabelled == []


def test_labels_are_german_words():
    assert label("high", "priority") == "Hoch"
    assert label("waiting", "status") == "Wartet auf Kunde"
    assert label(None, "status") == "–"
    assert sla_name("Silber/critical") == "Silber · Kritisch"
