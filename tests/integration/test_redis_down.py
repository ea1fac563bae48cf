"""While Redis is down: sign-in says so, and a mailing does not start (and is not changed)."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from helpdesk.app import create_app
from helpdesk.cli import main
from notifications.mailings.models import Mailing, MailingDelivery
from tests.integration.accounts.factories import (
    PASSWORD,
    csrf_token,
    make_customer,
    make_staff,
    sign_in,
    token_for,
)
from tests.integration.accounts.factories import make_account as make_customer_account
from tests.integration.notifications.factories import make_account, make_mailing
from tests.support import free_port


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL on which nothing listens: what every process sees while Redis is down."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def app_without_redis(settings, dead_redis_url):
    app = create_app(dataclasses.replace(settings, redis_url=dead_redis_url))
    app.config["TESTING"] = True
    yield app
    app.extensions["runtime"].db.dispose()


def _mailing_untouched(runtime, mailing_id: int) -> bool:
    with runtime.db.session() as session:
        records = session.scalar(
            select(func.count())
            .select_from(MailingDelivery)
            .where(MailingDelivery.mailing_id == mailing_id)
        )
        mailing = session.get(Mailing, mailing_id)
    return (mailing.state, mailing.started_at, records) == ("draft", None, 0)


def test_sign_in_while_redis_is_down_says_the_service_is_unavailable(app_without_redis):
    runtime = app_without_redis.extensions["runtime"]
    user = make_customer(runtime, make_customer_account(runtime))
    client = app_without_redis.test_client()

    response = client.post(
        "/anmelden",
        data={
            "csrf_token": csrf_token(client, "/anmelden"),
            "email": user.email,
            "password": PASSWORD,
        },
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "vorübergehend nicht verfügbar" in page
    assert "Zu viele" not in page


def test_starting_a_mailing_through_the_api_while_redis_is_down_is_a_clear_503(
    app_without_redis,
):
    runtime = app_without_redis.extensions["runtime"]
    make_account(runtime, first_contact="info@mueller.example")
    mailing_id = make_mailing(runtime)
    headers = {"Authorization": f"Bearer {token_for(runtime, make_staff(runtime, 'ops'), 'ops')}"}

    response = app_without_redis.test_client().post(
        f"/api/v1/mailings/{mailing_id}/send", headers=headers
    )

    assert response.status_code == 503
    assert "Warteschlange ist nicht erreichbar" in response.get_json()["detail"]
    assert _mailing_untouched(runtime, mailing_id)


def test_starting_a_mailing_on_the_page_while_redis_is_down_says_so(app_without_redis):
    runtime = app_without_redis.extensions["runtime"]
    make_account(runtime, first_contact="info@mueller.example")
    mailing_id = make_mailing(runtime)
    ops = make_staff(runtime, "ops")
    client = app_without_redis.test_client()
    # Signing in needs Redis (the attempt counter); the session itself does not.
    with client.session_transaction() as session:
        session["user_id"], session["version"] = ops.id, ops.session_version
    page = f"/ops/mailings/{mailing_id}"

    response = client.post(
        f"{page}/send",
        data={"csrf_token": csrf_token(client, page), "bestaetigt": "ja"},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "Warteschlange ist nicht erreichbar" in response.get_data(as_text=True)
    assert _mailing_untouched(runtime, mailing_id)


def test_starting_a_mailing_from_the_command_line_while_redis_is_down_fails_with_one_line(
    runtime, cli_env, dead_redis_url
):
    make_account(runtime, first_contact="info@mueller.example")
    mailing_id = make_mailing(runtime)

    result = CliRunner().invoke(
        main,
        ["mailings", "send", str(mailing_id), "--as", "ops@example.com"],
        env={**cli_env, "REDIS_URL": dead_redis_url},
    )

    assert result.exit_code == 1
    assert "Warteschlange ist nicht erreichbar" in result.stderr
    assert _mailing_untouched(runtime, mailing_id)


def test_with_redis_up_the_same_sign_in_works(app, runtime):
    user = make_customer(runtime, make_customer_account(runtime))

    sign_in(app.test_client(), user.email)
