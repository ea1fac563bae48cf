"""Access declarations: every view states who may call it; undeclared views are refused.

``public`` and ``requires`` mark a view; the app's before-request hook enforces the mark
against the request's principal. Domain packages register how a principal is loaded
(session cookie, API token) with ``principal_loader``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, request

View = TypeVar("View", bound=Callable[..., Any])
ACCESS_ATTRIBUTE = "access_rule"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an id for audit trails and the permissions they hold."""

    id: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return self.id != "anonymous"

    def has(self, permission: str) -> bool:
        return permission in self.permissions


ANONYMOUS = Principal("anonymous")


@dataclass(frozen=True)
class AccessRule:
    permissions: tuple[str, ...]  # all required; empty means public
    reason: str = ""


def public(reason: str) -> Callable[[View], View]:
    """Anyone may call the view; ``reason`` says why that is safe."""

    def mark(view: View) -> View:
        setattr(view, ACCESS_ATTRIBUTE, AccessRule((), reason))
        return view

    return mark


def requires(*permissions: str) -> Callable[[View], View]:
    """Only a principal holding every one of ``permissions`` may call the view."""
    if not permissions:
        raise ValueError("requires() needs at least one permission; use public() otherwise")

    def mark(view: View) -> View:
        setattr(view, ACCESS_ATTRIBUTE, AccessRule(tuple(permissions)))
        return view

    return mark


PrincipalLoader = Callable[[], Principal | None]


def principal_loader(app: Flask, loader: PrincipalLoader) -> None:
    """Register a way to find the caller; the first loader that returns a principal wins."""
    app.extensions.setdefault("principal_loaders", []).append(loader)


def current_principal() -> Principal:
    return g.get("principal", ANONYMOUS)


def load_principal() -> None:
    """Before every other check: who is calling, so that every error page, also one for an
    expired form or a too large request, shows the caller's menu."""
    principal = ANONYMOUS
    for loader in current_app.extensions.get("principal_loaders", []):
        found = loader()
        if found is not None:
            principal = found
            break
    g.principal = principal


def enforce_access() -> None:
    """Before every request: refuse views without a declaration, and callers without rights."""
    principal = current_principal()
    if request.endpoint is None:
        return  # 404/405 are answered by Flask itself
    view = current_app.view_functions[request.endpoint]
    rule: AccessRule | None = getattr(view, ACCESS_ATTRIBUTE, None)
    if rule is None:
        abort(403)
    if not rule.permissions:
        return
    if not principal.authenticated:
        abort(401)
    if not all(principal.has(permission) for permission in rule.permissions):
        abort(403)


def token_digest(token: str, secret_key: str) -> str:
    """A keyed digest of an API token or one-time link, so the database never holds the token."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
