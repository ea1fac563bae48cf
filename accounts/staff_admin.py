"""Administering staff (admin role): roles and queues, disabling, resetting the second factor
and sessions. Every change is written to the audit log; the last active admin stays one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import STAFF_ROLES, AuditEntry, User
from accounts.services import NotFound, ValidationError, record_audit
from accounts.users import check_permissions, staff_audit_view
from helpdesk.runtime import Runtime

LAST_ADMIN = "Mindestens ein aktiver Administrator muss bleiben."
# Audit actions whose subject is the member of staff (other entries without an account are
# about invitations or failed work, whose ids may equal a user's).
ABOUT_A_MEMBER = (
    "staff.created",
    "staff.joined",
    "staff.changed",
    "staff.disabled",
    "staff.enabled",
    "staff.second_factor_reset",
    "staff.sessions_ended",
    "staff.notifications_changed",
)


def staff_members(runtime: Runtime) -> list[User]:
    """Every member of staff, by e-mail address (one statement)."""
    with runtime.db.session() as session:
        return list(
            session.scalars(select(User).where(User.kind == "staff").order_by(User.email_key))
        )


def staff_member(runtime: Runtime, user_id: int) -> User:
    with runtime.db.session() as session:
        return _staff(session, user_id)


def staff_audit(runtime: Runtime, user_id: int, limit: int = 50) -> list[AuditEntry]:
    """The audit entries about one member of staff, newest first."""
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.account_id.is_(None),
                    AuditEntry.subject_id == user_id,
                    AuditEntry.action.in_(ABOUT_A_MEMBER),
                )
                .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                .limit(limit)
            )
        )


def check_queues(queues: Iterable[str], known: Collection[str]) -> list[str]:
    chosen = sorted(set(queues))
    unknown = [queue for queue in chosen if queue not in known]
    if unknown:
        raise ValidationError({"queues": f"Unbekannte Queue: {', '.join(unknown)}."})
    return chosen


def change_staff(
    runtime: Runtime,
    user_id: int,
    *,
    actor: str,
    name: str,
    roles: Iterable[str],
    queues: Iterable[str],
    known_queues: Collection[str],
) -> User:
    """Set a staff member's name, roles and queues."""
    chosen_roles = check_permissions(roles, STAFF_ROLES, "roles")
    if not chosen_roles:
        raise ValidationError({"roles": "Bitte wählen Sie mindestens eine Rolle."})
    chosen_queues = check_queues(queues, known_queues)

    def change(user: User) -> None:
        user.name = name.strip()
        user.roles = chosen_roles
        user.queues = chosen_queues

    return _change(runtime, user_id, actor, "staff.changed", change, field="roles")


def set_active(runtime: Runtime, user_id: int, *, actor: str, active: bool) -> User:
    """Disable (signs them out everywhere) or re-enable a member of staff."""

    def change(user: User) -> None:
        if user.active and not active:
            user.session_version += 1
        user.active = active

    action = "staff.enabled" if active else "staff.disabled"
    return _change(runtime, user_id, actor, action, change, field="active")


def reset_second_factor(runtime: Runtime, user_id: int, *, actor: str) -> User:
    """Forget the authenticator and recovery codes; a new one is set up at the next sign-in
    where two-factor sign-in is required. Signs the person out everywhere."""

    def change(user: User) -> None:
        user.totp_secret_encrypted = None
        user.totp_enabled_at = None
        user.totp_last_counter = None
        user.recovery_code_hashes = []
        user.session_version += 1

    return _change(runtime, user_id, actor, "staff.second_factor_reset", change, field="active")


def end_sessions(runtime: Runtime, user_id: int, *, actor: str) -> User:
    """Sign the person out of every browser."""

    def change(user: User) -> None:
        user.session_version += 1

    return _change(runtime, user_id, actor, "staff.sessions_ended", change, field="active")


def _change(
    runtime: Runtime,
    user_id: int,
    actor: str,
    action: str,
    change: Callable[[User], None],
    *,
    field: str,
) -> User:
    with runtime.db.session() as session:
        # Locking every admin row serialises two admins demoting each other at once.
        admins = _active_admins(session)
        user = _staff(session, user_id)
        before = staff_audit_view(user)
        change(user)
        if user.id in admins and not _is_active_admin(user) and len(admins) == 1:
            raise ValidationError({field: LAST_ADMIN})
        record_audit(
            session,
            account_id=None,
            actor=actor,
            action=action,
            subject_id=user.id,
            before=before,
            after=staff_audit_view(user),
        )
        return user


def _is_active_admin(user: User) -> bool:
    return user.active and "admin" in user.roles


def _active_admins(session: Session) -> set[int]:
    staff = session.scalars(
        select(User).where(User.kind == "staff", User.active.is_(True)).with_for_update()
    )
    return {user.id for user in staff if "admin" in user.roles}


def _staff(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.kind != "staff":
        raise NotFound(f"staff user {user_id}")
    return user
