"""Who may see and work which tickets, derived once per request from the principal.

Customers with ``customer.tickets`` see their account's tickets. Staff with ``agent`` read
every ticket (search spans queues) but work only the queues they are members of; supervisors
and admins work all queues. Plain text of sensitive data is a separate, narrower right
(``tickets.sensitive.may_reveal``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from sqlalchemy import ColumnElement, true

from helpdesk.security import Principal, current_principal
from tickets.models import Ticket


class Forbidden(Exception):
    """The caller may not do this to this ticket."""


class TicketNotFound(Exception):
    """No such ticket, or not one the caller may read (the two look the same from outside)."""


class TicketMerged(TicketNotFound):
    """The ticket was merged into another: its number leads to ``target`` (e.g. HD-000042).

    A door that does not redirect treats it as not found.
    """

    def __init__(self, target: str) -> None:
        super().__init__(f"merged into {target}")
        self.target = target


@dataclass(frozen=True)
class Viewer:
    actor: str  # what history entries record as "who"
    user_id: int | None
    account_id: int | None  # a customer's own account; None for staff
    staff: bool
    queues: frozenset[str] | None  # queues staff work; None means all

    @classmethod
    def of(cls, principal: Principal) -> Viewer | None:
        """The viewer for ``principal``, or None when it may not use tickets at all."""
        attributes = principal.attributes
        email = attributes.get("email") or principal.id
        if attributes.get("kind") == "customer" and principal.has("customer.tickets"):
            return cls(email, attributes.get("user_id"), attributes.get("account_id"), False, None)
        if attributes.get("kind") == "staff" and principal.has("agent"):
            everything = principal.has("supervisor") or principal.has("admin")
            queues = None if everything else frozenset(attributes.get("queues") or ())
            return cls(email, attributes.get("user_id"), None, True, queues)
        return None

    def can_read(self, ticket: Ticket) -> bool:
        return self.staff or (self.account_id is not None and ticket.account_id == self.account_id)

    def works(self, queue: str) -> bool:
        return self.staff and (self.queues is None or queue in self.queues)

    def readable(self) -> ColumnElement[bool]:
        """A WHERE clause selecting the tickets this viewer may read."""
        if self.staff:
            return true()
        return Ticket.account_id == self.account_id

    def check_read(self, ticket: Ticket | None) -> Ticket:
        if ticket is None or not self.can_read(ticket):
            raise TicketNotFound("no such ticket for this viewer")
        return ticket

    def check_work(self, ticket: Ticket | None) -> Ticket:
        ticket = self.check_read(ticket)
        if not self.works(ticket.queue):
            raise Forbidden("ticket not in a queue this agent works")
        return ticket


def current_viewer(*, staff_only: bool = False) -> Viewer:
    """The caller of this request as a viewer; 403 for anyone else (or any non-agent)."""
    viewer = Viewer.of(current_principal())
    if viewer is None or (staff_only and not viewer.staff):
        abort(403)
    return viewer
