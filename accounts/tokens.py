"""API tokens for integrations: shown once, stored as a keyed digest, scoped and revocable."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select, update

from accounts.models import CUSTOMER_PERMISSIONS, STAFF_ROLES, ApiToken, User
from accounts.services import NotFound, ValidationError
from accounts.users import ACCOUNT_VIEW, CUSTOMER, IMPLIED_ROLES, granted_permissions, must_enrol
from helpdesk.db import rows_changed, utcnow
from helpdesk.labels import allowed
from helpdesk.runtime import Runtime
from helpdesk.security import token_digest
from helpdesk.text import header_text_problem

PREFIX = "hd_"
# last_used_at is refreshed at most this often, so that reads stay free of writes.
USE_RECORD_INTERVAL = timedelta(minutes=5)


def issue(runtime: Runtime, user_id: int, name: str, scopes: Iterable[str]) -> tuple[ApiToken, str]:
    """Create a token for ``user_id`` limited to ``scopes``; return it and its plain text."""
    if problem := header_text_problem(name):
        raise ValidationError({"name": problem})
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise ValidationError({"name": "Bitte geben Sie einen Namen (bis 120 Zeichen) ein."})
    chosen = sorted(set(scopes))
    with runtime.db.session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id}")
        if must_enrol(user):
            raise ValidationError(
                {"scopes": "Richten Sie zuerst die Zwei-Faktor-Anmeldung ein (Pflicht für Sie)."}
            )
        grantable = grantable_scopes(user)
        if not chosen:
            raise ValidationError({"scopes": "Bitte wählen Sie mindestens eine Berechtigung."})
        if not set(chosen) <= grantable:
            # Only a tampered form can send a scope the page did not offer.
            shown = allowed("scope", sorted(grantable), ids=False) or "keine"
            raise ValidationError({"scopes": f"Erlaubt sind: {shown}."})
        plain = PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            user_id=user_id,
            name=name,
            token_digest=token_digest(plain, runtime.settings.secret_key),
            prefix=plain[:10],
            scopes=chosen,
        )
        session.add(token)
    return token, plain


def grantable_scopes(user: User) -> frozenset[str]:
    """A token may carry the user's own permissions or roles; derived rights follow them."""
    if must_enrol(user):
        return frozenset()
    return granted_permissions(user) & frozenset(CUSTOMER_PERMISSIONS + STAFF_ROLES)


def tokens_of(runtime: Runtime, user_id: int) -> list[ApiToken]:
    with runtime.db.session() as session:
        return list(
            session.scalars(
                select(ApiToken)
                .where(ApiToken.user_id == user_id)
                .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())
            )
        )


def revoke(runtime: Runtime, user_id: int, token_id: int) -> None:
    with runtime.db.session() as session:
        revoked = rows_changed(
            session,
            update(ApiToken)
            .where(
                ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)
            )
            .values(revoked_at=utcnow()),
        )
        token = session.get(ApiToken, token_id)
        if not revoked and (token is None or token.user_id != user_id):
            raise NotFound(f"token {token_id}")


def revoke_named(runtime: Runtime, user_id: int, name: str) -> None:
    with runtime.db.session() as session:
        session.execute(
            update(ApiToken)
            .where(
                ApiToken.user_id == user_id, ApiToken.name == name, ApiToken.revoked_at.is_(None)
            )
            .values(revoked_at=utcnow())
        )


def authenticate(runtime: Runtime, plain: str) -> tuple[ApiToken, User] | None:
    """The live token and its active user for a bearer value, else None."""
    if not plain.startswith(PREFIX) or len(plain) > 100:
        return None
    digest = token_digest(plain, runtime.settings.secret_key)
    now = utcnow()
    with runtime.db.reading() as session:
        found = session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_digest == digest, ApiToken.revoked_at.is_(None), User.active)
        ).first()
    if found is None:
        return None
    token, user = found
    if token.last_used_at is None or now - token.last_used_at > USE_RECORD_INTERVAL:
        with runtime.db.session() as session:
            session.execute(
                update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            )
        token.last_used_at = now
    return token, user


def token_permissions(token: ApiToken, user: User) -> frozenset[str]:
    """The token's scopes, never more than the user holds now, with what they imply; nothing
    while the user still has to set up a required second factor."""
    if must_enrol(user):
        return frozenset()
    held = granted_permissions(user)
    scoped: set[str] = set()
    for scope in token.scopes:
        scoped |= IMPLIED_ROLES.get(scope, frozenset({scope}))
    scoped &= held
    if not scoped:
        return frozenset()
    if user.kind == "customer":
        scoped |= {CUSTOMER, ACCOUNT_VIEW}
    elif "agent" in scoped:
        scoped.add(ACCOUNT_VIEW)
    return frozenset(scoped)
