"""The application factory: configuration, extensions and blueprints, bound in one place."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify, redirect, request, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException, Unauthorized
from werkzeug.middleware.proxy_fix import ProxyFix

from helpdesk import health, http, i18n, labels, logs, metrics, security
from helpdesk.config import PROJECT_ROOT, Settings, load_settings
from helpdesk.error_pages import error_page
from helpdesk.navigation import navigation
from helpdesk.runtime import Runtime, install
from helpdesk.security import principal_loader, public

csrf = CSRFProtect()
MAX_REQUEST_BYTES = 25 * 1024 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    runtime = install(Runtime(settings))
    logs.setup(settings, "web")

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
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    # First: every request gets its id and its timer before any other hook can answer it.
    logs.init_app(app)
    metrics.init_app(app, settings)
    app.before_request(security.load_principal)  # before the CSRF check may answer
    csrf.init_app(app)
    http.install(app, settings)
    i18n.init_app(app)
    labels.init_app(app)

    _register_blueprints(app, settings)
    app.before_request(security.enforce_access)
    app.register_error_handler(401, _sign_in_first)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _register_blueprints(app: Flask, settings: Settings) -> None:
    """Every door of the service, mounted here and nowhere else."""
    from accounts import api as accounts_api
    from accounts.auth import load_principal
    from accounts.pages import account, security, signin, staff, staff_admin
    from notifications import metrics as notifications_metrics
    from notifications.failed_work import views as failed_work
    from notifications.mailings import api as mailings_api
    from notifications.mailings import genuine_views
    from notifications.mailings import views as mailings_pages
    from notifications.mailings.providers import providers_status
    from tickets import metrics as tickets_metrics
    from tickets.api import views as tickets_api
    from tickets.console import alerts as agent_alerts
    from tickets.console import live as console_live
    from tickets.console import routing as console_routing
    from tickets.console import saved_views, text_modules
    from tickets.console import views as console
    from tickets.portal import views as portal
    from tickets.routing import routing_status
    from tickets.routing import views as routing_api
    from tickets.sla import views as sla_pages
    from tickets.sla.live import sla_status

    principal_loader(app, load_principal)
    app.register_blueprint(health.blueprint)
    health.register(app, "routing_rules", routing_status)
    health.register(app, "sla_policies", sla_status)
    health.register(app, "mailing_providers", lambda runtime: providers_status(runtime.settings))
    metrics.register_gauges(app, "tickets", tickets_metrics.gauges)
    metrics.register_gauges(app, "notifications", notifications_metrics.gauges)
    pages = (
        signin.blueprint,
        account.blueprint,
        security.blueprint,
        staff.blueprint,
        staff_admin.blueprint,
        portal.portal,
        console.blueprint,
        console_live.blueprint,
        console_routing.blueprint,
        text_modules.blueprint,
        saved_views.blueprint,
        agent_alerts.blueprint,
        sla_pages.blueprint,
        mailings_pages.blueprint,
        failed_work.blueprint,
        genuine_views.blueprint,
    )
    for blueprint in pages:
        app.register_blueprint(blueprint)
    # JSON APIs trust no cookie, only bearer tokens, so they carry no CSRF token.
    apis = (
        tickets_api.api,
        accounts_api.api,
        accounts_api.token_api,
        routing_api.blueprint,
        mailings_api.api,
    )
    for blueprint in apis:
        app.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    if settings.development:
        from helpdesk.devmail import blueprint as devmail

        app.register_blueprint(devmail)
    app.context_processor(navigation)
    _declare_static(app)


def _declare_static(app: Flask) -> None:
    """Flask's own static view carries no access rule; stylesheets and scripts are public."""
    serve = app.view_functions["static"]

    @public("stylesheets and scripts of the pages; nothing secret lives in static/")
    def static(filename: str) -> Any:
        return serve(filename=filename)

    app.view_functions["static"] = static

    @app.get("/favicon.ico")
    @public("the site icon browsers ask for on every page")
    def favicon() -> Any:
        return redirect(url_for("static", filename="favicon.svg"), 301)


def _is_api() -> bool:
    return request.path.startswith(("/api/", "/healthz"))


def _problem(status: int, detail: str | None) -> Any:
    body = {"title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    return jsonify(body), status, {"Content-Type": "application/problem+json"}


def _sign_in_first(error: Unauthorized) -> Any:
    """Pages send anonymous visitors to the sign-in form; the API answers 401."""
    if _is_api():
        return _problem(401, error.description)
    return redirect(url_for("signin.sign_in"))


def _http_error(error: HTTPException) -> Any:
    """JSON problem details on the API and health endpoints, plain pages elsewhere."""
    if _is_api():
        return _problem(error.code or 500, error.description)
    return error_page(error)
