"""Who is calling: sessions and bearer tokens become a Principal; rate limits; access helpers.

Browser pages trust only the signed session cookie; ``/api/`` trusts only ``Authorization:
Bearer`` tokens. A cookie can never be ridden into the CSRF-exempt JSON API, and a token
(which a script holds, without CSRF protection) never opens a page.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import abort, current_app, g, request, session
from redis.exceptions import RedisError

from accounts import tokens
from accounts.metrics import SIGNIN_FAILURES, SIGNIN_LOCKOUTS
from accounts.models import User
from accounts.users import SESSION, TOKEN, granted_permissions, must_enrol
from helpdesk.runtime import current
from helpdesk.security import Principal, current_principal

SIGN_IN_WINDOW = 15 * 60
SIGN_IN_LIMITS = {"email": 10, "ip": 50, "code": 5}
RESET_WINDOW = 60 * 60
RESET_LIMITS = {"email": 3, "ip": 20}
PENDING_VALID_FOR = 10 * 60


class TooManyAttempts(Exception):
    """Sign-in attempts or reset requests for this address, client or user exceeded the limit."""


class LimiterUnavailable(Exception):
    """Redis, which counts the attempts, cannot be reached: nobody is let try until it is back."""


def load_principal() -> Principal | None:
    """``/api/`` trusts only a bearer token, every other path only the session cookie (whose
    forms carry a CSRF token): each credential works at the one door it was made for."""
    if request.path.startswith("/api/"):
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return _token_principal(header.removeprefix("Bearer ").strip())
        return None
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    with current().db.session() as db:
        user = db.get(User, user_id)
    if user is None or not user.active or session.get("version") != user.session_version:
        session.clear()
        return None
    if must_enrol(user):
        # Two-factor sign-in became mandatory: nothing but setting it up until it is done.
        return Principal(user.email, frozenset({SESSION}), _attributes(user, must_enrol=True))
    return Principal(user.email, granted_permissions(user) | {SESSION}, _attributes(user))


def _token_principal(plain: str) -> Principal | None:
    found = tokens.authenticate(current(), plain)
    if found is None:
        return None
    token, user = found
    permissions = tokens.token_permissions(token, user) | {TOKEN}
    attributes = _attributes(
        user, token_id=token.id, token_name=token.name, scopes=list(token.scopes)
    )
    return Principal(
        f"token:{token.id}", permissions, attributes | {"must_enrol": must_enrol(user)}
    )


def _attributes(user: User, **extra: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {"user_id": user.id, "kind": user.kind, "email": user.email}
    if user.kind == "customer":
        attributes["account_id"] = user.account_id
        attributes["owner"] = user.owner
    else:
        attributes["queues"] = list(user.queues)
        attributes["roles"] = list(user.roles)
    return attributes | extra


def _fresh_session() -> None:
    """Clear the session, and the CSRF token this request already issued from it: a form
    rendered later in the same request (the recovery codes page and its sign-out button) gets
    a token of the new session instead of one the next request would refuse."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def start_session(user: User) -> None:
    """Sign ``user`` in: a fresh session (no fixation), bound to their session version."""
    _fresh_session()
    session.permanent = False
    session["user_id"] = user.id
    session["version"] = user.session_version


def set_pending(user: User, step: str) -> None:
    """Password accepted; ``step`` ("code" or "enrol") must follow before the session starts."""
    _fresh_session()
    session["pending"] = {"user_id": user.id, "step": step, "since": int(time.time())}


def pending(step: str) -> int | None:
    """The user id waiting for ``step``, if the password was accepted recently."""
    state = session.get("pending")
    if not isinstance(state, dict) or state.get("step") != step:
        return None
    if time.time() - state.get("since", 0) > PENDING_VALID_FOR:
        session.pop("pending", None)
        return None
    user_id = state.get("user_id")
    return user_id if isinstance(user_id, int) else None


def end_session() -> None:
    _fresh_session()


def _email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _limit_keys(email: str | None = None, user_id: int | None = None) -> list[tuple[str, int]]:
    keys = [(f"signin:ip:{request.remote_addr}", SIGN_IN_LIMITS["ip"])]
    if email is not None:
        keys.append((f"signin:email:{_email_hash(email)}", SIGN_IN_LIMITS["email"]))
    if user_id is not None:
        keys.append((f"signin:code:{user_id}", SIGN_IN_LIMITS["code"]))
    return keys


def check_attempts(email: str | None = None, user_id: int | None = None) -> None:
    """Raise TooManyAttempts if the failures counted for this caller reached a limit."""
    keys = _limit_keys(email, user_id)
    try:
        counts = current().redis.mget([key for key, _ in keys])
    except RedisError as error:
        raise LimiterUnavailable(str(error)) from error
    for (key, limit), count in zip(keys, counts, strict=True):
        if count is not None and int(count) >= limit:
            raise TooManyAttempts(key.split(":")[1])


def count_failure(email: str | None = None, user_id: int | None = None) -> None:
    """Count a failed password or code in Redis; the counters expire after the window."""
    keys = _limit_keys(email, user_id)
    try:
        with current().redis.pipeline() as pipe:
            for key, _limit in keys:
                pipe.set(key, 0, ex=SIGN_IN_WINDOW, nx=True)  # the window starts at the first
                pipe.incr(key)
            results = pipe.execute()
    except RedisError as error:
        raise LimiterUnavailable(str(error)) from error
    SIGNIN_FAILURES.labels("code" if user_id is not None else "password").inc()
    for (key, limit), count in zip(keys, results[1::2], strict=True):
        if int(count) == limit:  # this failure reached the limit: a lockout begins
            SIGNIN_LOCKOUTS.labels(key.split(":")[1]).inc()


def count_reset_request(email: str) -> None:
    """Count a password-reset request per address and client; raise TooManyAttempts over the
    limit, LimiterUnavailable when Redis is unreachable (rather than mailing without limit)."""
    keys = [
        (f"reset:ip:{request.remote_addr}", RESET_LIMITS["ip"]),
        (f"reset:email:{_email_hash(email)}", RESET_LIMITS["email"]),
    ]
    try:
        with current().redis.pipeline() as pipe:
            for key, _limit in keys:
                pipe.set(key, 0, ex=RESET_WINDOW, nx=True)  # the window starts at the first one
                pipe.incr(key)
            results = pipe.execute()
    except RedisError as error:
        raise LimiterUnavailable(str(error)) from error
    for (key, limit), count in zip(keys, results[1::2], strict=True):
        if int(count) > limit:
            raise TooManyAttempts(key.split(":")[1])


def require_account_access(account_id: int) -> None:
    """Abort with 403 unless the caller may see this account (customers: only their own)."""
    principal = current_principal()
    if principal.attributes.get("kind") == "customer":
        if principal.attributes.get("account_id") != account_id:
            abort(403)
    elif not principal.has("account.view"):
        abort(403)


def may_see_contacts() -> bool:
    """Whether the caller may read contact persons and distribution lists, as the pages grant
    them: customers with ``customer.contacts`` (their Ansprechpartner pages), staff who may read
    accounts (the staff account page)."""
    principal = current_principal()
    if principal.attributes.get("kind") == "customer":
        return principal.has("customer.contacts")
    return principal.has("account.view")
