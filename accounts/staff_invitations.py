"""Inviting staff by e-mail (admin role): the person sets their own password through a
single-use, expiring link (and their second factor where required). The admin sees the open
invitations and can resend (a new link; the old one stops working) or revoke them.

Links, digests, mail and acceptance are the customer invitations' (``accounts.invitations``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.invitations import (
    VALID_FOR,
    invitation_url,
    new_token,
    queue_invitation_mail,
    refuse_known_address,
)
from accounts.models import STAFF_ROLES, Invitation, User
from accounts.services import NotFound, ValidationError, record_audit
from accounts.staff_admin import check_queues
from accounts.users import check_permissions, checked_address, display_name
from helpdesk.config import Settings
from helpdesk.db import utcnow
from helpdesk.labels import label
from helpdesk.runtime import Runtime
from notifications.outbox.services import enqueue_delivery

SUBJECT = "Einladung in den Helpdesk"
INVITED, RESENT = "staff.invited", "staff.invitation_resent"


def open_staff_invitations(runtime: Runtime) -> list[Invitation]:
    """Staff invitations neither accepted nor revoked (expired ones too: they can be resent)."""
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(Invitation)
                .where(
                    Invitation.kind == "staff",
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                )
                .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            )
        )


def invite_staff(
    runtime: Runtime,
    *,
    email: str,
    name: str,
    roles: Iterable[str],
    queues: Iterable[str],
    queue_names: Mapping[str, str],
    require_totp: bool,
    inviter: User,
) -> Invitation:
    """Store the invitation and queue its e-mail in one transaction; deliver after commit."""
    address = checked_address(email)
    chosen_roles = check_permissions(roles, STAFF_ROLES, "roles")
    if not chosen_roles:
        raise ValidationError({"roles": "Bitte wählen Sie mindestens eine Rolle."})
    chosen_queues = check_queues(queues, queue_names)
    settings = runtime.settings
    token, digest = new_token(settings)
    with runtime.db.session() as session:
        refuse_known_address(session, address)
        if _open_for(session, address.key):
            raise ValidationError(
                {"email": "An diese E-Mail-Adresse ist bereits eine Einladung unterwegs."}
            )
        invitation = Invitation(
            kind="staff",
            account_id=None,
            email=address.email,
            email_key=address.key,
            name=display_name(name),
            roles=chosen_roles,
            queues=chosen_queues,
            require_totp=require_totp,
            token_digest=digest,
            invited_by_id=inviter.id,
            expires_at=utcnow() + VALID_FOR,
        )
        session.add(invitation)
        outbound_id = _mail(session, settings, invitation, token, inviter, queue_names, INVITED)
    enqueue_delivery(runtime, [outbound_id])
    return invitation


def resend(
    runtime: Runtime, invitation_id: int, *, inviter: User, queue_names: Mapping[str, str]
) -> Invitation:
    """Send a new link, valid for the full period again; the previous link stops working."""
    settings = runtime.settings
    token, digest = new_token(settings)
    with runtime.db.session() as session:
        invitation = _open(session, invitation_id)
        invitation.token_digest = digest
        invitation.expires_at = utcnow() + VALID_FOR
        outbound_id = _mail(session, settings, invitation, token, inviter, queue_names, RESENT)
    enqueue_delivery(runtime, [outbound_id])
    return invitation


def _open(session: Session, invitation_id: int) -> Invitation:
    invitation = session.get(Invitation, invitation_id, with_for_update=True)
    if (
        invitation is None
        or invitation.kind != "staff"
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
    ):
        raise NotFound(f"staff invitation {invitation_id}")
    return invitation


def _open_for(session: Session, email_key: str) -> bool:
    found = session.scalar(
        select(Invitation.id).where(
            Invitation.kind == "staff",
            Invitation.email_key == email_key,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    )
    return found is not None


def _mail(
    session: Session,
    settings: Settings,
    invitation: Invitation,
    token: str,
    inviter: User,
    queue_names: Mapping[str, str],
    action: str,
) -> int:
    """Queue the mail with the link and write the audit entry (invited, or resent); return the
    outbox row's id, to hand to the mail workers after the commit."""
    session.flush()
    outbound = queue_invitation_mail(
        session,
        settings,
        invitation,
        subject=SUBJECT,
        template="staff_invitation",
        context={
            "name": invitation.name,
            "inviter": inviter.name or inviter.email,
            "roles": [label(role, "role") for role in invitation.roles],
            "queues": [queue_names.get(queue, queue) for queue in invitation.queues],
            "require_totp": invitation.require_totp,
            "url": invitation_url(settings, token),
        },
    )
    record_audit(
        session,
        account_id=None,
        actor=inviter.email,
        action=action,
        subject_id=invitation.id,
        after={
            "email": invitation.email,
            "name": invitation.name,
            "roles": list(invitation.roles),
            "queues": list(invitation.queues),
            "require_totp": invitation.require_totp,
        },
    )
    session.flush()
    return outbound.id
