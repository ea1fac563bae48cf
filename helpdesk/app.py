"""The application factory: configuration, extensions and blueprints, bound in one place."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from helpdesk import health, security
from helpdesk.config import PROJECT_ROOT, Settings, load_settings
from helpdesk.runtime import Runtime, install

csrf = CSRFProtect()
MAX_REQUEST_BYTES = 25 * 1024 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    runtime = install(Runtime(settings))
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        SESSION_COOKIE_NAME="helpdesk_session",
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.extensions["runtime"] = runtime
    csrf.init_app(app)

    _register_blueprints(app, settings)
    app.before_request(security.enforce_access)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _register_blueprints(app: Flask, settings: Settings) -> None:
    from accounts.pages import register as register_accounts
    from notifications.mailings.api import api as mailings_api
    from notifications.mailings.views import blueprint as mailings_pages
    from tickets.api.views import api as tickets_api
    from tickets.console.views import blueprint as tickets_console
    from tickets.portal.views import portal as tickets_portal
    from tickets.routing.views import register as register_routing
    from tickets.services import routing_status
    from tickets.sla.views import blueprint as sla_pages

    app.register_blueprint(health.blueprint)
    health.register(app, "routing_rules", routing_status)
    app.register_blueprint(tickets_api)
    csrf.exempt(tickets_api)  # JSON API: no cookies are trusted there, only bearer tokens
    app.register_blueprint(tickets_portal)
    app.register_blueprint(tickets_console)
    app.register_blueprint(sla_pages)
    register_accounts(app, csrf)
    register_routing(app)
    app.register_blueprint(mailings_api)
    csrf.exempt(mailings_api)  # JSON API: bearer tokens only
    app.register_blueprint(mailings_pages)
    if settings.development:
        from helpdesk.devmail import blueprint as devmail

        app.register_blueprint(devmail)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'",
    )
    return response


def _http_error(error: HTTPException) -> Any:
    """JSON problem details on the API and health endpoints, plain pages elsewhere."""
    if request.path.startswith(("/api/", "/healthz")):
        status = error.code or 500
        body = {"title": HTTPStatus(status).phrase, "status": status, "detail": error.description}
        return jsonify(body), status, {"Content-Type": "application/problem+json"}
    return error
