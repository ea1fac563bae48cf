"""Errors on pages are German pages in the site's layout; the API keeps problem+json."""

from __future__ import annotations

import pytest

from helpdesk.app import MAX_REQUEST_BYTES, create_app
from helpdesk.security import public
from tests.integration.accounts.factories import make_staff, sign_in


@pytest.mark.parametrize(
    ("path", "method", "status", "title"),
    [
        ("/gibt-es-nicht", "get", 404, "Seite nicht gefunden"),
        ("/favicon.ico", "post", 405, "Aktion nicht möglich"),
    ],
)
def test_error_pages_are_german_with_navigation_and_a_way_back(
    client, runtime, path, method, status, title
):
    sign_in(client, make_staff(runtime, "agent").email)

    response = getattr(client, method)(path)

    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in html
    assert 'aria-label="Hauptnavigation"' in html and "Zurück zur Startseite" in html
    assert "Not Found" not in html and "Method Not Allowed" not in html


def test_an_expired_form_says_so_and_offers_to_reload(client, runtime):
    sign_in(client, make_staff(runtime, "agent").email)

    response = client.post(
        "/abmelden", data={"csrf_token": "abgelaufen"}, headers={"Referer": "http://localhost/"}
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Formular abgelaufen" in html and "Seite neu laden" in html
    assert 'aria-label="Hauptnavigation"' in html


def test_the_api_keeps_problem_details(client):
    response = client.get("/api/v1/gibt-es-nicht")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


def test_the_site_icon_is_found(client):
    response = client.get("/favicon.ico", follow_redirects=True)

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"


@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        ("/konsole?cursor=kaputt", 400, "Ungültige Anfrage"),
        ("/ops/mailings", 403, "Kein Zugriff"),
    ],
)
def test_refused_requests_get_german_pages_in_the_layout(client, runtime, path, status, title):
    sign_in(client, make_staff(runtime, "agent").email)

    response = client.get(path)

    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in html
    assert 'aria-label="Hauptnavigation"' in html and "Zurück zur Startseite" in html
    assert "Bad Request" not in html and "Forbidden" not in html


def test_a_too_large_upload_gets_a_german_page(client, runtime):
    sign_in(client, make_staff(runtime, "agent").email)

    response = client.post(
        "/abmelden", data=b"x" * (MAX_REQUEST_BYTES + 1), content_type="text/plain"
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Request Entity Too Large" not in html
    assert 'aria-label="Hauptnavigation"' in html and "Zurück zur Startseite" in html


def test_a_failure_in_the_service_gets_a_german_page(settings):
    app = create_app(settings)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/kaputt")
    @public("a page that fails, for this test")
    def broken() -> str:
        raise RuntimeError("database gone")

    response = app.test_client().get("/kaputt")

    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Internal Server Error" not in html and "database gone" not in html
    assert "Zurück zur Startseite" in html
    app.extensions["runtime"].db.dispose()
