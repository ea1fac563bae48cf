"""Forgotten passwords: a single-use, expiring link by e-mail that sets a new password.

Like an invitation, the link carries a random token and only its keyed digest is stored. A
request for an address without an active user does nothing, so the caller's answer cannot tell
whether the address is known.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select, update

from accounts import addresses, credentials
from accounts.models import PasswordReset, User
from accounts.services import NotFound, ValidationError, record_audit
from helpdesk.db import rows_changed, utcnow
from helpdesk.runtime import Runtime
from helpdesk.security import token_digest
from notifications.outbox.services import MailRequest, enqueue_delivery, queue_new_mail

VALID_FOR = timedelta(hours=1)


def request_reset(runtime: Runtime, email: str) -> None:
    """Mail a reset link to the active user with this address, if there is one."""
    try:
        address = addresses.normalise(email)
    except addresses.InvalidAddress as error:
        raise ValidationError({"email": str(error)}) from None
    token = secrets.token_urlsafe(32)
    settings = runtime.settings
    with runtime.db.session() as session:
        user = session.scalar(
            select(User).where(User.email_key == address.key, User.active.is_(True))
        )
        if user is None:
            return
        reset = PasswordReset(
            user_id=user.id,
            token_digest=token_digest(token, settings.secret_key),
            expires_at=utcnow() + VALID_FOR,
        )
        session.add(reset)
        session.flush()
        outbound = queue_new_mail(
            session,
            MailRequest(
                kind="password_reset",
                dedupe_key=f"password-reset-{reset.id}",
                recipient=user.email,
                subject="Ihr neues Passwort für das Kundencenter",
                template="password_reset",
                context={
                    "url": f"{settings.public_url}/anmelden/passwort-neu/{token}",
                    "valid_minutes": int(VALID_FOR.total_seconds() // 60),
                },
            ),
            settings.mail_domain,
        )
        session.flush()
        outbound_id = outbound.id
    enqueue_delivery(runtime, [outbound_id])


def open_reset(runtime: Runtime, token: str) -> PasswordReset | None:
    """The reset behind a link, if it can still be used."""
    digest = token_digest(token, runtime.settings.secret_key)
    with runtime.db.session() as session:
        reset = session.scalar(select(PasswordReset).where(PasswordReset.token_digest == digest))
    if (
        reset is None
        or reset.used_at is not None
        or reset.revoked_at is not None
        or reset.expires_at <= utcnow()
    ):
        return None
    return reset


def reset_password(runtime: Runtime, token: str, password: str) -> User:
    """Replace the password and spend the link; other links and all sessions of the user end.

    Two-factor sign-in is left as it is: the new password is only the first step again.
    """
    problem = credentials.password_problem(password)
    if problem:
        raise ValidationError({"password": problem})
    digest = token_digest(token, runtime.settings.secret_key)
    now = utcnow()
    with runtime.db.session() as session:
        spent = rows_changed(
            session,
            update(PasswordReset)
            .where(
                PasswordReset.token_digest == digest,
                PasswordReset.used_at.is_(None),
                PasswordReset.revoked_at.is_(None),
                PasswordReset.expires_at > now,
            )
            .values(used_at=now),
        )
        reset = session.scalar(select(PasswordReset).where(PasswordReset.token_digest == digest))
        if not spent or reset is None:
            raise NotFound("password reset")
        user = session.get(User, reset.user_id, with_for_update=True)
        if user is None or not user.active:
            raise NotFound("password reset")
        user.password_hash = credentials.hash_password(password)
        user.session_version += 1
        session.execute(
            update(PasswordReset)
            .where(
                PasswordReset.user_id == user.id,
                PasswordReset.id != reset.id,
                PasswordReset.used_at.is_(None),
                PasswordReset.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        if user.account_id is not None:
            # The audit log belongs to an account; staff users have none.
            record_audit(
                session,
                account_id=user.account_id,
                actor=user.email,
                action="user.password_reset",
                subject_id=user.id,
            )
        return user
