"""The agent console's actions: claim, assign, change queue/priority/status (one ticket or a
selection), bill, tags, phone intake.

Each action loads the ticket, checks the agent works its queue, changes it and writes the
history entry (who, when, before, after, reason) in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import Account, User
from helpdesk.runtime import Runtime
from helpdesk.text import body_text_problem
from tickets import tags
from tickets.access import Forbidden, TicketNotFound, Viewer
from tickets.models import BillingEvent, Ticket, TicketEvent
from tickets.routing import routing_rules
from tickets.services import (
    TicketDraft,
    ValidationError,
    file_ticket,
    parse_draft,
    route_draft,
)
from tickets.thread import load_ticket, record
from vocabulary import PRIORITIES, STATUSES

REASON_MAX = 1000
BULK_MAX = 100
LOCKED_ACCESS_KEYWORD = "Zugang gesperrt"


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Bitte geben Sie einen Grund an."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Höchstens {REASON_MAX} Zeichen."})
    if problem := body_text_problem(reason):
        raise ValidationError({"reason": problem})
    return reason


def claim(runtime: Runtime, viewer: Viewer, number: str) -> None:
    with runtime.db.session() as session:
        ticket = viewer.check_work(load_ticket(session, viewer, number, lock=True))
        status = "open" if ticket.status == "new" else ticket.status
        changes = {"assignee_id": viewer.user_id, "status": status}
        record(session, ticket, viewer.actor, "claimed", changes)


def assign(runtime: Runtime, viewer: Viewer, number: str, assignee_id: int | None) -> None:
    """Give the ticket to an agent of its queue (or to nobody)."""
    with runtime.db.session() as session:
        ticket = viewer.check_work(load_ticket(session, viewer, number, lock=True))
        if assignee_id is not None:
            agent = session.get(User, assignee_id)
            if agent is None or not _works(agent, ticket.queue):
                raise ValidationError({"assignee": "Diese Person arbeitet nicht in der Queue."})
        record(session, ticket, viewer.actor, "assigned", {"assignee_id": assignee_id})


def _works(user: User, queue: str) -> bool:
    if not user.active or user.kind != "staff":
        return False
    if {"supervisor", "admin"} & set(user.roles):
        return True
    return "agent" in user.roles and queue in user.queues


def agents_for(runtime: Runtime, queue: str) -> list[tuple[int, str]]:
    """(id, name) of the active staff who work ``queue``, for the assign menu."""
    with runtime.db.session() as session:
        staff = session.scalars(
            select(User).where(User.kind == "staff", User.active).order_by(User.name)
        ).all()
    return [(user.id, user.name or user.email) for user in staff if _works(user, queue)]


def _checked_change(
    runtime: Runtime, reason: str, queue: str | None, priority: str | None, status: str | None
) -> str:
    """The stripped reason, once the values of a change are known to be valid."""
    errors: dict[str, str] = {}
    if queue is not None and queue not in routing_rules(runtime).queue_ids():
        errors["queue"] = "Unbekannte Queue."
    if priority is not None and priority not in PRIORITIES:
        errors["priority"] = "Bitte wählen Sie eine Priorität aus der Liste."
    if status is not None and status not in STATUSES:
        errors["status"] = "Bitte wählen Sie einen Status aus der Liste."
    try:
        reason = _reason(reason)
    except ValidationError as error:
        errors.update(error.errors)
    if errors:
        raise ValidationError(errors)
    return reason


def assignable_staff(runtime: Runtime) -> list[tuple[int, str]]:
    """(id, name) of the active staff who work tickets, for assigning a selection."""
    with runtime.db.session() as session:
        staff = session.scalars(
            select(User).where(User.kind == "staff", User.active).order_by(User.name)
        ).all()
    ticket_roles = {"agent", "supervisor", "admin"}
    return [(user.id, user.name or user.email) for user in staff if ticket_roles & set(user.roles)]


def change(
    runtime: Runtime,
    viewer: Viewer,
    number: str,
    *,
    reason: str,
    queue: str | None = None,
    priority: str | None = None,
    status: str | None = None,
) -> None:
    """Change queue, effective priority and/or status; a reason is required and recorded."""
    reason = _checked_change(runtime, reason, queue, priority, status)
    with runtime.db.session() as session:
        ticket = viewer.check_work(load_ticket(session, viewer, number, lock=True))
        changes: dict[str, object] = {}
        if queue is not None:
            changes["queue"] = queue
            if queue != ticket.queue:
                changes["assignee_id"] = None  # the new queue's agents pick it up
        if priority is not None:
            changes["effective_priority"] = priority
        if status is not None:
            changes["status"] = status
        record(session, ticket, viewer.actor, "changed", changes, reason)


@dataclass(frozen=True)
class BulkOutcome:
    """Which selected tickets were changed, and why the others were not (German)."""

    changed: list[str]
    refused: list[tuple[str, str]]


def apply_to_selection(
    runtime: Runtime,
    viewer: Viewer,
    numbers: Sequence[str],
    *,
    reassign: bool = False,
    assignee_id: int | None = None,
    reason: str = "",
    queue: str | None = None,
    priority: str | None = None,
    status: str | None = None,
) -> BulkOutcome:
    """Change and/or assign each selected ticket as one agent would, one after the other.

    The values and the reason are checked once; then each ticket is loaded, checked for the
    agent's right and written with its own history entry in its own transaction, so one
    refused ticket does not hold back the others.
    """
    selected = list(dict.fromkeys(number.strip().upper() for number in numbers if number.strip()))
    if not selected:
        raise ValidationError({"numbers": "Bitte wählen Sie mindestens ein Ticket."})
    if len(selected) > BULK_MAX:
        raise ValidationError({"numbers": f"Höchstens {BULK_MAX} Tickets auf einmal."})
    changing = (queue, priority, status) != (None, None, None)
    if not changing and not reassign:
        raise ValidationError({"form": "Bitte wählen Sie, was geändert werden soll."})
    if changing:
        reason = _checked_change(runtime, reason, queue, priority, status)
    changed: list[str] = []
    refused: list[tuple[str, str]] = []
    for number in selected:
        try:
            if changing:
                change(
                    runtime,
                    viewer,
                    number,
                    reason=reason,
                    queue=queue,
                    priority=priority,
                    status=status,
                )
            if reassign:
                assign(runtime, viewer, number, assignee_id)
        except TicketNotFound:
            refused.append((number, "nicht gefunden"))
        except Forbidden:
            refused.append((number, "nicht in Ihren Queues"))
        except ValidationError as error:
            refused.append((number, " ".join(error.errors.values())))
        else:
            changed.append(number)
    return BulkOutcome(changed, refused)


def bill_no_emergency(runtime: Runtime, viewer: Viewer, number: str, reason: str) -> None:
    """ "Kein Notfall: verrechnen": a critical ticket that is no emergency is billed, once."""
    reason = _reason(reason)
    with runtime.db.session() as session:
        ticket = viewer.check_work(load_ticket(session, viewer, number, lock=True))
        if "critical" not in (ticket.requested_priority, ticket.effective_priority):
            raise ValidationError({"reason": "Nur kritische Tickets werden verrechnet."})
        exists = session.scalar(
            select(BillingEvent.id).where(
                BillingEvent.ticket_id == ticket.id,
                BillingEvent.kind == "critical_not_emergency",
            )
        )
        if exists is not None:
            raise ValidationError({"reason": "Dieses Ticket wurde bereits verrechnet."})
        session.add(
            BillingEvent(
                ticket_id=ticket.id,
                account_id=ticket.account_id,
                kind="critical_not_emergency",
                actor=viewer.actor,
                reason=reason,
            )
        )
        tags = sorted({*ticket.tags, "verrechnet"})
        record(session, ticket, viewer.actor, "billed", {"tags": tags}, reason)
        try:
            session.flush()
        except IntegrityError:  # billed at the same moment by someone else
            raise ValidationError({"reason": "Dieses Ticket wurde bereits verrechnet."}) from None


@dataclass(frozen=True)
class CallerAccount:
    id: int
    customer_number: str
    company: str
    first_contact: str | None


def find_caller(runtime: Runtime, customer_number: str) -> CallerAccount:
    """The account a caller names by customer number; ValidationError when there is none."""
    number = customer_number.strip()
    with runtime.db.session() as session:
        account = session.scalar(select(Account).where(Account.customer_number == number))
    if account is None or not number:
        raise ValidationError({"customer_number": "Keine Kundennummer gefunden."})
    return CallerAccount(
        account.id, account.customer_number, account.company, account.first_contact
    )


def link_account(
    runtime: Runtime, viewer: Viewer, number: str, customer_number: str, reason: str
) -> None:
    """Give a ticket of an unknown sender its account: routed again by the account's facts,
    its SLA clock recomputed for the account's level, all in one history entry."""
    reason = _reason(reason)
    caller = find_caller(runtime, customer_number)
    with runtime.db.session() as session:
        ticket = viewer.check_work(load_ticket(session, viewer, number, lock=True))
        if ticket.account_id is not None:
            raise ValidationError({"customer_number": "Dieses Ticket gehört schon zu einem Konto."})
        created = session.scalar(
            select(TicketEvent.changes).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.action == "created"
            )
        )
        mailbox = (created or {}).get("mailbox", [None, None])[1]
        draft = TicketDraft(
            reply_to=ticket.reply_to,
            product_family=ticket.product_family,
            component=ticket.component,
            subject=ticket.subject,
            text=ticket.body,
            priority=ticket.requested_priority,
            department=ticket.department,
            channel=ticket.channel,
            account_id=caller.id,
            mailbox=mailbox,
        )
        _edition, decision = route_draft(runtime, session, draft)
        changes: dict[str, object] = {
            "account_id": caller.id,
            "queue": decision.queue,
            "effective_priority": decision.priority,
            "tags": sorted(set(decision.tags) | set(ticket.tags)),
            "sla_policy": decision.sla_policy,
            "emergency_review": decision.emergency_review,
            "routing_rule": decision.rule_id,
            "routing_rule_line": decision.rule_line,
            "rules_version": decision.rules_version,
        }
        if decision.queue != ticket.queue:
            changes["assignee_id"] = None  # the new queue's agents pick it up
        record(session, ticket, viewer.actor, "account_linked", changes, reason)


def file_by_phone(
    runtime: Runtime, viewer: Viewer, customer_number: str, fields: dict[str, str]
) -> Ticket:
    """An agent files for a caller: the caller's keyword is the subject, the channel ``phone``."""
    if not viewer.staff:
        raise ValidationError({"customer_number": "Nur Mitarbeitende erfassen Anrufe."})
    errors: dict[str, str] = {}
    try:
        caller = find_caller(runtime, customer_number)
    except ValidationError as error:
        errors.update(error.errors)
        caller = None
    data = {**fields, "subject": fields.get("keyword") or fields.get("subject")}
    if caller is not None and not data.get("reply_to"):
        data["reply_to"] = caller.first_contact or ""
    try:
        draft: TicketDraft = parse_draft(
            data,
            routing_rules(runtime),
            channel="phone",
            account_id=caller.id if caller else None,
        )
    except ValidationError as error:
        errors.update({"keyword" if k == "subject" else k: v for k, v in error.errors.items()})
    if errors:
        raise ValidationError(errors)
    return file_ticket(runtime, draft, actor=viewer.actor)


def edit_tags(
    runtime: Runtime, viewer: Viewer, number: str, *, add: str = "", remove: str = ""
) -> list[str]:
    """Add the comma-separated tags ``add`` and remove the tag ``remove``; the tags after.

    One ``tags_changed`` history entry holds the list before and after; nothing is written
    when the tags stay as they are.
    """
    added = tags.parse_tags(add)
    removed = tags.normal_tag(remove)
    if not added and not removed:
        raise ValidationError({"add": "Bitte geben Sie einen Tag ein."})
    with runtime.db.session() as session:
        ticket = viewer.check_work(load_ticket(session, viewer, number))
        kept = [tag for tag in ticket.tags if tags.normal_tag(tag) != removed]
        known = {tags.normal_tag(tag) for tag in kept}
        chosen = sorted([*kept, *(tag for tag in added if tag not in known)])
        if len(chosen) > tags.TAGS_MAX and len(chosen) > len(ticket.tags):
            raise ValidationError({"add": f"Ein Ticket hat höchstens {tags.TAGS_MAX} Tags."})
        if chosen != sorted(ticket.tags):
            record(session, ticket, viewer.actor, "tags_changed", {"tags": chosen})
        return chosen
