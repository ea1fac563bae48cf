"""Every stored value a person sees, with the English msgid its German label is catalogued under.

One table for the whole service: priorities, statuses, channels, message kinds, history events
and the fields they change, mailing purposes, audiences, states, recipient reasons, SMTP
outcomes, SLA targets and steps, staff roles, agents' mail alerts. ``pybabel extract -k N_``
collects the msgids into ``translations/messages.pot``; the words themselves live in
``translations/de/.../messages.po``. A value missing here is shown as a neutral dash on pages
rather than as its identifier.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from email.utils import parsedate_to_datetime

from flask import Flask

from helpdesk.i18n import berlin, gettext


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated when shown."""
    return message


LABELS: dict[str, dict[str, str]] = {
    "priority": {
        "low": N_("Low"),
        "normal": N_("Normal"),
        "high": N_("High"),
        "critical": N_("Critical"),
    },
    "priority_hint": {
        "critical": N_(
            "For emergencies only: a server outage, a system-relevant service does not work, "
            "the website or shop is offline. Critical tickets trigger escalations; a critical "
            "ticket that is no emergency is billed."
        ),
    },
    "status": {
        "new": N_("New"),
        "open": N_("Open"),
        "waiting": N_("Waiting for customer"),
        "resolved": N_("Resolved"),
        "closed": N_("Closed"),
    },
    "channel": {
        "web": N_("Web form"),
        "api": N_("API"),
        "email": N_("E-mail"),
        "phone": N_("Phone"),
    },
    "message_kind": {
        "customer": N_("Customer"),
        "agent": N_("Support"),
        "internal": N_("Internal note"),
    },
    "event": {
        "created": N_("Ticket created"),
        "claimed": N_("Claimed"),
        "assigned": N_("Assigned"),
        "changed": N_("Changed"),
        "billed": N_("Marked as billable"),
        "replied": N_("Answered"),
        "noted": N_("Internal note added"),
        "customer_replied": N_("Customer replied"),
        "closed_by_customer": N_("Closed by customer"),
        "status_changed": N_("Status changed"),
        "tags_changed": N_("Tags changed"),
        "rerouted": N_("Routed again"),
        "acknowledged": N_("Receipt confirmed"),
        "mail_bounced": N_("Mail undeliverable"),
        "sensitive_data.added": N_("Access data stored"),
        "sensitive_data.revealed": N_("Access data shown"),
        "sensitive_data.purged": N_("Access data deleted"),
        "merged_away": N_("Merged into another ticket"),
        "merged_here": N_("Duplicate merged into this ticket"),
        "account_linked": N_("Customer account linked"),
    },
    "field": {
        "assignee_id": N_("Assignee"),
        "account_id": N_("Customer account"),
        "status": N_("Status"),
        "queue": N_("Queue"),
        "effective_priority": N_("Priority"),
        "requested_priority": N_("Requested priority"),
        "routing_rule": N_("Routing rule"),
        "rules_version": N_("Rules version"),
        "tags": N_("Tags"),
        "mailbox": N_("Mailbox"),
        "sender_match": N_("Sender recognised as"),
        "account_candidates": N_("Possible customer accounts"),
        "mailing": N_("Mandatory mailing"),
        "follows": N_("Follows ticket"),
        "sender_check": N_("Sender check"),
        "recipient": N_("Recipient"),
        "severity": N_("Severity"),
        "label": N_("Designation"),
        "items": N_("Entries"),
        "cc": N_("Copy to"),
        "merged_into_id": N_("Merged into"),
        "merged_from": N_("Merged from"),
        "messages_moved": N_("Messages moved"),
        "attachments_moved": N_("Attachments moved"),
        "sensitive_items_moved": N_("Access data moved"),
        "events_moved": N_("History entries moved"),
    },
    "audit": {
        "first_contact.changed": N_("First contact changed"),
        "contact_person.created": N_("Contact person added"),
        "contact_person.changed": N_("Contact person changed"),
        "contact_person.deleted": N_("Contact person removed"),
        "distribution_list.changed": N_("Distribution list changed"),
        "user.invited": N_("User invited"),
        "user.joined": N_("Invitation accepted"),
        "invitation.revoked": N_("Invitation withdrawn"),
        "user.permissions_changed": N_("User permissions changed"),
        "user.removed": N_("User removed"),
        "user.password_reset": N_("Password reset"),
        "staff.invited": N_("Staff member invited"),
        "staff.invitation_resent": N_("Staff invitation sent again"),
        "staff.invitation_revoked": N_("Staff invitation withdrawn"),
        "staff.joined": N_("Staff invitation accepted"),
        "staff.created": N_("Staff member created"),
        "staff.changed": N_("Name, roles or queues changed"),
        "staff.disabled": N_("Staff member disabled"),
        "staff.enabled": N_("Staff member enabled again"),
        "staff.second_factor_reset": N_("Second factor reset"),
        "staff.sessions_ended": N_("Signed out of all sessions"),
        "staff.notifications_changed": N_("Notification settings changed"),
    },
    "audit_field": {
        "email": N_("E-mail address"),
        "first_contact": N_("First contact"),
        "permissions": N_("Permissions"),
        "salutation": N_("Salutation"),
        "title": N_("Title"),
        "first_name": N_("First name"),
        "last_name": N_("Last name"),
        "position": N_("Position"),
        "phone": N_("Phone"),
        "mobile_fax": N_("Mobile or fax"),
        "gdpr_representative": N_("Data protection representative"),
        "external": N_("External person"),
        "receives_critical": N_("Receives critical information"),
        "responsibilities": N_("Responsibilities"),
        "newsletter_channels": N_("Newsletters"),
        "purpose": N_("Distribution list"),
        "addresses": N_("Addresses"),
    },
    "sender_match": {
        "user": N_("User of the customer center"),
        "first_contact": N_("First contact"),
        "contact_person": N_("Contact person"),
        "distribution_list": N_("Distribution list"),
    },
    "severity": {"hard": N_("permanent"), "soft": N_("temporary")},
    "purpose": {
        "security": N_("Security notice"),
        "deadline": N_("Deadline"),
        "maintenance": N_("Maintenance window"),
        "outage": N_("Outage"),
        "data_protection": N_("Data protection"),
    },
    "audience": {
        "all": N_("All customers"),
        "editions": N_("Customers of chosen editions"),
        "products": N_("Customers of chosen products"),
        "accounts": N_("Chosen customer accounts"),
    },
    "body_format": {"markdown": N_("Formatted text (Markdown)"), "text": N_("Plain text")},
    "mailing_state": {
        "draft": N_("Draft"),
        "sending": N_("Sending"),
        "paused": N_("Paused"),
        "cancelled": N_("Cancelled"),
        "done": N_("Done"),
    },
    "delivery_state": {
        "queued": N_("Waiting"),
        "sending": N_("Being sent"),
        "sent": N_("Delivered"),
        "deferred": N_("Retrying"),
        "bounced": N_("Bounced"),
        "failed": N_("Failed"),
        "cancelled": N_("Cancelled"),
    },
    # How a customer reads a delivery record's state (the ops pages use "delivery_state").
    "customer_delivery_state": {
        "queued": N_("waiting to be sent"),
        "sending": N_("being sent"),
        "sent": N_("delivered"),
        "deferred": N_("being retried"),
        "bounced": N_("not accepted"),
        "failed": N_("refused"),
        "cancelled": N_("not sent (cancelled)"),
    },
    "reason": {
        "first_contact": N_("First contact"),
        "contact_person": N_("Contact person"),
        "emergency": N_("Emergency contact"),
        "data_protection": N_("Data protection contact"),
    },
    "sla_target": {
        "first_response": N_("First response"),
        "next_response": N_("Next response"),
        "resolution": N_("Resolution"),
    },
    "sla_step": {
        "warn_first_response": N_("Warning: first response"),
        "breach_first_response": N_("Breach: first response"),
        "warn_next_response": N_("Warning: next response"),
        "breach_next_response": N_("Breach: next response"),
        "warn_resolution": N_("Warning: resolution"),
        "breach_resolution": N_("Breach: resolution"),
        "page": N_("On-call paged"),
    },
    "routing_condition": {
        "product_family": N_("Product family"),
        "component": N_("Component"),
        "department": N_("Department"),
        "channel": N_("Channel"),
        "mailbox": N_("Mailbox"),
        "edition": N_("Edition"),
        "support_level": N_("Support level"),
        "requested_priority": N_("Requested priority"),
        "subject": N_("Subject"),
        "body": N_("Ticket text"),
        "subject_regex": N_("Subject pattern"),
        "license_locked": N_("License locked"),
    },
    "agent_alert": {
        "new_ticket": N_("A new ticket lands in one of my queues"),
        "customer_reply": N_("A customer answers a ticket assigned to me"),
        "sla_warning": N_("A due time of my ticket draws near (SLA warning)"),
    },
    "agent_alert_mail": {
        "new_ticket": N_("New ticket in your queue"),
        "customer_reply": N_("The customer has answered"),
    },
    "role": {
        "agent": N_("Agent"),
        "supervisor": N_("Supervisor"),
        "ops": N_("Operations"),
        "admin": N_("Administrator"),
    },
    "permission": {
        "customer.tickets": N_("Support tickets"),
        "customer.contacts": N_("Contacts & distribution lists"),
        "customer.email_history": N_("E-mail history"),
        "customer.users": N_("User management"),
    },
    "staff_scope": {
        "agent": N_("Agent (tickets of own queues)"),
        "supervisor": N_("Supervisor (all queues)"),
        "ops": N_("Ops (mailings)"),
        "admin": N_("Administration"),
    },
    "console_sort": {
        "due": N_("Due (SLA)"),
        "priority": N_("Priority"),
        "created": N_("Received"),
        "changed": N_("Last change"),
    },
    "portal_sort": {
        "number": N_("Number"),
        "subject": N_("Subject"),
        "changed": N_("Last change"),
    },
    "mail_header": {
        "from": N_("From"),
        "to": N_("To"),
        "cc": N_("Copy"),
        "reply-to": N_("Reply to"),
        "date": N_("Date"),
        "subject": N_("Subject"),
        "message-id": N_("Message ID"),
    },
    "sender_verdict": {
        "pass": N_("passed"),
        "fail": N_("failed"),
        "softfail": N_("failed (soft)"),
        "neutral": N_("neutral"),
        "none": N_("absent"),
        "temperror": N_("temporary DNS error"),
        "permerror": N_("faulty record"),
        "policy": N_("policy"),
    },
    "dmarc_policy": {
        "none": N_("monitor only"),
        "quarantine": N_("to spam"),
        "reject": N_("refuse"),
    },
    # Closed days of the SLA calendars that are no public holiday, by month and day.
    "closed_day": {"12-24": N_("Christmas Eve"), "12-31": N_("New Year's Eve")},
}
# An API token's scopes: a customer's permissions, a staff member's role.
LABELS["scope"] = LABELS["permission"] | LABELS["staff_scope"]
# Every order the ticket list knows (the API takes each; the console and the portal offer some).
LABELS["ticket_order"] = LABELS["console_sort"] | LABELS["portal_sort"]


class LabelTable(Mapping[str, str]):
    """Every value of one kind with its German label, in the table's order; each label is
    looked up when read, so a module may hold a table from import on."""

    def __init__(self, kind: str) -> None:
        self.msgids = LABELS[kind]

    def __getitem__(self, value: str) -> str:
        return gettext(self.msgids[value])

    def __iter__(self) -> Iterator[str]:
        return iter(self.msgids)

    def __len__(self) -> int:
        return len(self.msgids)


def label(value: object, kind: str) -> str:
    """The German label of ``value`` as a ``kind`` (``label("high", "priority")`` -> ``Hoch``)."""
    if value is None:
        return "–"
    msgid = LABELS[kind].get(str(value))
    return gettext(msgid) if msgid is not None else "–"


def labels(kind: str) -> LabelTable:
    """Every value of ``kind`` with its German label, in the table's order (for choices)."""
    return LabelTable(kind)


def allowed(kind: str, values: Iterable[str] | None = None, *, ids: bool = True) -> str:
    """The values of ``kind`` a caller may send (all, or ``values``), for a German message:
    ``Niedrig (low), Normal (normal), …`` where the ids are what is sent (the JSON API),
    ``Niedrig, Normal, …`` on pages, which never show ids."""
    names = labels(kind)
    chosen = names if values is None else values
    return ", ".join(f"{names[value]} ({value})" if ids else names[value] for value in chosen)


def mail_headers(items: Iterable[tuple[str, object]]) -> list[tuple[str, str]]:
    """Mail headers for people: German names, the date in Berlin time, other names as sent."""
    names = labels("mail_header")
    shown = []
    for name, value in items:
        if value is None:
            continue  # a header the mail does not have
        text = str(value)
        if name.lower() == "date":
            # An unparsable date is shown as it was sent.
            with suppress(TypeError, ValueError):
                text = berlin(parsedate_to_datetime(text))
        shown.append((names.get(name.lower(), name), text))
    return shown


def sla_name(key: str | None) -> str:
    """An SLA policy's name: ``Silber/high`` -> ``Silber · Hoch``."""
    if not key:
        return "–"
    level, _, priority = key.partition("/")
    return f"{level} · {label(priority, 'priority')}" if priority else level


def init_app(app: Flask) -> None:
    """``{{ value|label("priority") }}`` and ``labels("status")`` in page templates."""
    app.add_template_filter(label)
    app.add_template_filter(sla_name)
    app.add_template_global(labels)
