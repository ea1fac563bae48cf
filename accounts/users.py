"""Users who sign in: creating them, checking passwords and second factors, their rights."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts import addresses, credentials
from accounts.models import CUSTOMER_PERMISSIONS, STAFF_ROLES, User
from accounts.services import NotFound, ValidationError, record_audit
from helpdesk.db import utcnow
from helpdesk.runtime import Runtime
from helpdesk.text import header_text_problem

# Roles that include others: an admin may do what a supervisor does, a supervisor what an
# agent does (all queues). Ops run mailings and nothing else.
IMPLIED_ROLES = {
    "admin": frozenset({"admin", "supervisor", "agent", "ops"}),
    "supervisor": frozenset({"supervisor", "agent"}),
    "agent": frozenset({"agent"}),
    "ops": frozenset({"ops"}),
}
# Derived permissions views declare: "customer" (any customer user), "account.view" (may read
# an account: customers their own, agents any), "session" (signed in with the browser), "token"
# (calling the API with a live token, whatever its scopes).
CUSTOMER = "customer"
ACCOUNT_VIEW = "account.view"
SESSION = "session"
TOKEN = "token"  # noqa: S105 - the derived right of any live API token, not a secret


def granted_permissions(user: User) -> frozenset[str]:
    """What ``user`` may do, before any API token scopes narrow it down."""
    if not user.active:
        return frozenset()
    if user.kind == "customer":
        own = set(CUSTOMER_PERMISSIONS) if user.owner else set(user.permissions)
        return frozenset(own & set(CUSTOMER_PERMISSIONS) | {CUSTOMER, ACCOUNT_VIEW})
    roles: set[str] = set()
    for role in user.roles:
        roles |= IMPLIED_ROLES.get(role, frozenset())
    if "agent" in roles:
        roles.add(ACCOUNT_VIEW)
    return frozenset(roles)


def must_enrol(user: User) -> bool:
    """Two-factor sign-in is required and not yet set up: until it is, the user holds no
    rights but setting it up, and no API token can be issued to them or act for them."""
    return user.require_totp and not user.totp_enabled


def check_permissions(values: Iterable[str], allowed: tuple[str, ...], field: str) -> list[str]:
    chosen = sorted(set(values))
    unknown = sorted(set(chosen) - set(allowed))
    if unknown:
        raise ValidationError({field: f"Unbekannte Berechtigung: {', '.join(unknown)}."})
    return chosen


def checked_address(email: str) -> addresses.Address:
    """The normalised address, or a ValidationError naming the ``email`` field."""
    try:
        return addresses.normalise(email)
    except addresses.InvalidAddress as error:
        raise ValidationError({"email": str(error)}) from None


def display_name(name: str) -> str:
    """A user's name as stored: one line (helpdesk.text), whitespace collapsed."""
    if problem := header_text_problem(name):
        raise ValidationError({"name": problem})
    return " ".join(name.split())[:200]


def _password_hash(password: str) -> str:
    problem = credentials.password_problem(password)
    if problem:
        raise ValidationError({"password": problem})
    return credentials.hash_password(password)


def create_customer_user(
    runtime: Runtime,
    *,
    account_id: int,
    email: str,
    password: str,
    permissions: Iterable[str] = (),
    owner: bool = False,
    name: str = "",
) -> User:
    address = checked_address(email)
    user = User(
        email=address.email,
        email_key=address.key,
        name=display_name(name),
        password_hash=_password_hash(password),
        kind="customer",
        account_id=account_id,
        owner=owner,
        permissions=check_permissions(permissions, CUSTOMER_PERMISSIONS, "permissions"),
    )
    return _insert(runtime, user)


def create_staff_user(
    runtime: Runtime,
    *,
    email: str,
    password: str,
    roles: Iterable[str],
    queues: Iterable[str] = (),
    require_totp: bool = False,
    name: str = "",
    actor: str | None = None,
) -> User:
    """A member of staff; with ``actor`` (someone in the console) also an audit entry."""
    address = checked_address(email)
    user = User(
        email=address.email,
        email_key=address.key,
        name=display_name(name),
        password_hash=_password_hash(password),
        kind="staff",
        roles=check_permissions(roles, STAFF_ROLES, "roles"),
        queues=sorted(set(queues)),
        require_totp=require_totp,
    )
    return _insert(runtime, user, actor)


def staff_audit_view(user: User) -> dict[str, object]:
    """What the audit log records of a member of staff, before and after a change."""
    return {
        "email": user.email,
        "name": user.name,
        "roles": list(user.roles),
        "queues": list(user.queues),
        "active": user.active,
        "require_totp": user.require_totp,
    }


def _insert(runtime: Runtime, user: User, actor: str | None = None) -> User:
    try:
        with runtime.db.session() as session:
            session.add(user)
            if actor is not None:
                session.flush()
                record_audit(
                    session,
                    account_id=None,
                    actor=actor,
                    action="staff.created",
                    subject_id=user.id,
                    after=staff_audit_view(user),
                )
        return user
    except IntegrityError:
        raise ValidationError(
            {"email": "Für diese E-Mail-Adresse gibt es bereits einen Benutzer."}
        ) from None


def get_user(runtime: Runtime, user_id: int) -> User:
    with runtime.db.session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id}")
        return user


def user_by_email(runtime: Runtime, email: str) -> User | None:
    with runtime.db.session() as session:
        return session.scalar(select(User).where(User.email_key == email.strip().lower()))


def check_password(runtime: Runtime, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same effort either way)."""
    user = user_by_email(runtime, email) if len(email) <= addresses.MAX_LENGTH else None
    stored = user.password_hash if user is not None and user.active else None
    if not credentials.verify_password(stored, password) or user is None:
        return None
    if credentials.needs_rehash(user.password_hash):
        with runtime.db.session() as session:
            session.execute(
                update(User)
                .where(User.id == user.id)
                .values(password_hash=credentials.hash_password(password))
            )
    return user


def record_sign_in(runtime: Runtime, user_id: int) -> None:
    with runtime.db.session() as session:
        session.execute(update(User).where(User.id == user_id).values(last_login_at=utcnow()))


def check_second_factor(runtime: Runtime, user_id: int, code: str) -> bool:
    """Accept a current TOTP code (once) or an unused recovery code (consumed)."""
    secret_key = runtime.settings.secret_key
    with runtime.db.session() as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None or not user.active or user.totp_secret_encrypted is None:
            return False
        secret = credentials.decrypt_totp_secret(secret_key, user.totp_secret_encrypted)
        counter = credentials.totp_counter(secret, code, user.totp_last_counter)
        if counter is not None:
            user.totp_last_counter = counter
            return True
        digest = credentials.recovery_digest(secret_key, code)
        if digest in user.recovery_code_hashes:
            user.recovery_code_hashes = [d for d in user.recovery_code_hashes if d != digest]
            return True
        return False


def enable_totp(runtime: Runtime, user_id: int, secret: str, code: str) -> list[str]:
    """Turn on two-factor sign-in once ``code`` proves the app has ``secret``.

    Returns the recovery codes, in plain text for the one time they are shown.
    """
    counter = credentials.totp_counter(secret, code, None)
    if counter is None:
        raise ValidationError({"code": "Der Code stimmt nicht. Bitte prüfen Sie die Uhrzeit."})
    codes = credentials.new_recovery_codes()
    secret_key = runtime.settings.secret_key
    with runtime.db.session() as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound(f"user {user_id}")
        user.totp_secret_encrypted = credentials.encrypt_totp_secret(secret_key, secret)
        user.totp_enabled_at = utcnow()
        user.totp_last_counter = counter
        user.recovery_code_hashes = [credentials.recovery_digest(secret_key, c) for c in codes]
        user.session_version += 1
    return codes


def disable_totp(runtime: Runtime, user_id: int, code: str) -> None:
    """Turn off two-factor sign-in (not allowed where it is enforced); needs a valid code."""
    user = get_user(runtime, user_id)
    if user.require_totp:
        raise ValidationError({"code": "Für Ihr Konto ist die Zwei-Faktor-Anmeldung Pflicht."})
    if not check_second_factor(runtime, user_id, code):
        raise ValidationError({"code": "Der Code stimmt nicht."})
    with runtime.db.session() as session:
        session.execute(
            update(User)
            .where(User.id == user_id)
            .values(
                totp_secret_encrypted=None,
                totp_enabled_at=None,
                totp_last_counter=None,
                recovery_code_hashes=[],
                session_version=User.session_version + 1,
            )
        )
