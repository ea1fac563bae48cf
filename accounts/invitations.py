"""Invitations by e-mail, and an account owner's user administration (permissions).

The invitation link carries a random token; only its keyed digest is stored. It works once and
expires. The mail goes through the outbox in the same transaction as the invitation. Staff are
invited the same way (``accounts.staff_invitations``); accepting and revoking serve both.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts import addresses, credentials
from accounts.models import CUSTOMER_PERMISSIONS, Account, Invitation, User
from accounts.services import NotFound, ValidationError, record_audit
from accounts.users import check_permissions, checked_address, display_name, staff_audit_view
from helpdesk.config import Settings
from helpdesk.db import rows_changed, utcnow
from helpdesk.labels import labels
from helpdesk.runtime import Runtime
from helpdesk.security import token_digest
from notifications.outbox.models import OutboundMessage
from notifications.outbox.services import MailRequest, enqueue_delivery, queue_mail

VALID_FOR = timedelta(hours=72)
VALID_HOURS = int(VALID_FOR.total_seconds() // 3600)
PERMISSION_LABELS = labels("permission")


@dataclass(frozen=True)
class UserAdministration:
    users: list[User]
    open_invitations: list[Invitation]


def administration(runtime: Runtime, account_id: int) -> UserAdministration:
    now = utcnow()
    with runtime.db.session() as session:
        users = session.scalars(
            select(User)
            .where(User.account_id == account_id)
            .order_by(User.owner.desc(), User.email_key)
        ).all()
        invitations = session.scalars(
            select(Invitation)
            .where(
                Invitation.account_id == account_id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at.desc())
        ).all()
    return UserAdministration(list(users), list(invitations))


def invite(
    runtime: Runtime,
    *,
    account_id: int,
    email: str,
    permissions: Iterable[str],
    inviter: User,
) -> Invitation:
    """Store the invitation and queue its e-mail in one transaction; deliver after commit."""
    address = checked_address(email)
    chosen = check_permissions(permissions, CUSTOMER_PERMISSIONS, "permissions")
    if not chosen:
        raise ValidationError({"permissions": "Bitte wählen Sie mindestens eine Berechtigung."})
    settings = runtime.settings
    token, digest = new_token(settings)
    with runtime.db.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFound(f"account {account_id}")
        refuse_known_address(session, address)
        invitation = Invitation(
            account_id=account_id,
            email=address.email,
            email_key=address.key,
            permissions=chosen,
            token_digest=digest,
            invited_by_id=inviter.id,
            expires_at=utcnow() + VALID_FOR,
        )
        session.add(invitation)
        session.flush()
        outbound = queue_invitation_mail(
            session,
            settings,
            invitation,
            subject=f"Einladung in das Kundencenter von {account.company}",
            template="account_invitation",
            context={
                "company": account.company,
                "customer_number": account.customer_number,
                "inviter": inviter.name or inviter.email,
                "permissions": [PERMISSION_LABELS[p] for p in chosen],
                "url": invitation_url(settings, token),
            },
        )
        record_audit(
            session,
            account_id=account_id,
            actor=inviter.email,
            action="user.invited",
            subject_id=invitation.id,
            after={"email": address.email, "permissions": chosen},
        )
        session.flush()
        outbound_id = outbound.id
    enqueue_delivery(runtime, [outbound_id])
    return invitation


def new_token(settings: Settings) -> tuple[str, str]:
    """A random link token and the keyed digest that is stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token, settings.secret_key)


def invitation_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/einladung/{token}"


def refuse_known_address(session: Session, address: addresses.Address) -> None:
    if session.scalar(select(User.id).where(User.email_key == address.key)) is not None:
        raise ValidationError({"email": "Für diese E-Mail-Adresse gibt es bereits einen Benutzer."})


def queue_invitation_mail(
    session: Session,
    settings: Settings,
    invitation: Invitation,
    *,
    subject: str,
    template: str,
    context: dict[str, Any],
) -> OutboundMessage:
    """The invitation's mail, in the caller's transaction; one per link (a resent invitation
    has a new link and gets a new mail)."""
    return queue_mail(
        session,
        MailRequest(
            kind="invitation",
            dedupe_key=f"invitation-{invitation.id}-{invitation.token_digest[:16]}",
            recipient=invitation.email,
            subject=subject,
            template=template,
            context={**context, "valid_hours": VALID_HOURS},
        ),
        settings.mail_domain,
    )


def open_invitation(runtime: Runtime, token: str) -> Invitation | None:
    """The invitation behind a link, if it can still be accepted."""
    digest = token_digest(token, runtime.settings.secret_key)
    with runtime.db.session() as session:
        invitation = session.scalar(select(Invitation).where(Invitation.token_digest == digest))
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= utcnow()
    ):
        return None
    return invitation


def accept(runtime: Runtime, token: str, *, name: str, password: str) -> User:
    """Create the invited user; the link is spent in the same transaction."""
    problem = credentials.password_problem(password)
    if problem:
        raise ValidationError({"password": problem})
    name = display_name(name)
    digest = token_digest(token, runtime.settings.secret_key)
    now = utcnow()
    try:
        with runtime.db.session() as session:
            spent = rows_changed(
                session,
                update(Invitation)
                .where(
                    Invitation.token_digest == digest,
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                    Invitation.expires_at > now,
                )
                .values(accepted_at=now),
            )
            invitation = session.scalar(select(Invitation).where(Invitation.token_digest == digest))
            if not spent or invitation is None:
                raise NotFound("invitation")
            user = _joining_user(invitation, name, credentials.hash_password(password))
            session.add(user)
            session.flush()
            staff = user.kind == "staff"
            record_audit(
                session,
                account_id=invitation.account_id,
                actor=user.email,
                action="staff.joined" if staff else "user.joined",
                subject_id=user.id,
                after=staff_audit_view(user)
                if staff
                else {"email": user.email, "permissions": user.permissions},
            )
            return user
    except IntegrityError:
        raise ValidationError(
            {"email": "Für diese E-Mail-Adresse gibt es bereits einen Benutzer."}
        ) from None


def _joining_user(invitation: Invitation, name: str, password_hash: str) -> User:
    """The user an accepted invitation creates: a customer user or a member of staff."""
    if invitation.kind == "staff":
        return User(
            email=invitation.email,
            email_key=invitation.email_key,
            name=name,
            password_hash=password_hash,
            kind="staff",
            roles=list(invitation.roles),
            queues=list(invitation.queues),
            require_totp=invitation.require_totp,
        )
    return User(
        email=invitation.email,
        email_key=invitation.email_key,
        name=name,
        password_hash=password_hash,
        kind="customer",
        account_id=invitation.account_id,
        permissions=list(invitation.permissions),
    )


def revoke(runtime: Runtime, account_id: int | None, invitation_id: int, actor: str) -> None:
    """Withdraw an open invitation of the account (``account_id`` None: a staff invitation)."""
    with runtime.db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None or invitation.account_id != account_id:
            raise NotFound(f"invitation {invitation_id}")
        if invitation.revoked_at is None and invitation.accepted_at is None:
            invitation.revoked_at = utcnow()
            record_audit(
                session,
                account_id=account_id,
                actor=actor,
                action="invitation.revoked" if account_id else "staff.invitation_revoked",
                subject_id=invitation_id,
                before={"email": invitation.email},
            )


def set_permissions(
    runtime: Runtime, account_id: int, user_id: int, permissions: Iterable[str], actor: str
) -> User:
    """Change a (non-owner) user's permissions; an owner always holds all of them."""
    chosen = check_permissions(permissions, CUSTOMER_PERMISSIONS, "permissions")
    with runtime.db.session() as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None or user.account_id != account_id:
            raise NotFound(f"user {user_id}")
        if user.owner:
            raise ValidationError({"permissions": "Der Kontoinhaber hat immer alle Rechte."})
        if sorted(user.permissions) != chosen:
            record_audit(
                session,
                account_id=account_id,
                actor=actor,
                action="user.permissions_changed",
                subject_id=user_id,
                before={"permissions": sorted(user.permissions)},
                after={"permissions": chosen},
            )
            user.permissions = chosen
            user.session_version += 1
        return user


def remove_user(runtime: Runtime, account_id: int, user_id: int, actor: str) -> None:
    with runtime.db.session() as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None or user.account_id != account_id:
            raise NotFound(f"user {user_id}")
        if user.owner:
            raise ValidationError({"user": "Der Kontoinhaber kann nicht entfernt werden."})
        record_audit(
            session,
            account_id=account_id,
            actor=actor,
            action="user.removed",
            subject_id=user_id,
            before={"email": user.email, "permissions": sorted(user.permissions)},
        )
        session.delete(user)
