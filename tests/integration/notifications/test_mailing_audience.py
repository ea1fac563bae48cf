"""Who receives a mandatory mailing: resolved in SQL, de-duplicated, never filtered by opt-outs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from accounts.models import Account, LicenseLock
from notifications.mailings import audience
from notifications.mailings.models import Mailing, MailingDelivery
from tests.integration.notifications.factories import make_account, make_mailing


def _resolved(runtime, mailing_id: int) -> dict[str, str]:
    with runtime.db.session() as session:
        mailing = session.get(Mailing, mailing_id)
        audience.resolve(session, mailing)
    with runtime.db.session() as session:
        rows = session.execute(
            select(MailingDelivery.address, MailingDelivery.reason).where(
                MailingDelivery.mailing_id == mailing_id
            )
        ).all()
    return dict(rows)


def _account_with_every_source(runtime):
    return make_account(
        runtime,
        first_contact="Info@Firma.example",
        critical=("chef@firma.example",),
        others=("newsletter-nein@firma.example",),
        emergency=("admin@firma.example", "CHEF@firma.example", "info@firma.example"),
        data_protection=("dsb@firma.example",),
    )


def test_outage_reaches_first_contact_critical_people_and_emergency_list_once_each(runtime):
    _account_with_every_source(runtime)

    assert _resolved(runtime, make_mailing(runtime, purpose="outage")) == {
        "info@firma.example": "first_contact",
        "chef@firma.example": "contact_person",
        "admin@firma.example": "emergency",
    }


def test_data_protection_uses_its_own_list_and_security_no_list(runtime):
    _account_with_every_source(runtime)

    assert set(_resolved(runtime, make_mailing(runtime, purpose="data_protection"))) == {
        "info@firma.example",
        "chef@firma.example",
        "dsb@firma.example",
    }
    assert set(_resolved(runtime, make_mailing(runtime, purpose="security"))) == {
        "info@firma.example",
        "chef@firma.example",
    }


def test_locked_licences_and_newsletter_settings_do_not_stop_a_mailing(runtime):
    account = make_account(
        runtime,
        first_contact="info@gesperrt.example",
        critical=("ohne-newsletter@gesperrt.example",),
    )
    with runtime.db.session() as session:
        session.add(LicenseLock(account_id=account.id, product="JTL-Wawi", since=date(2026, 1, 1)))

    assert set(_resolved(runtime, make_mailing(runtime))) == {
        "info@gesperrt.example",
        "ohne-newsletter@gesperrt.example",
    }


def test_editions_and_customer_numbers_select_accounts_and_inactive_ones_are_left_out(runtime):
    pro = make_account(runtime, first_contact="info@pro.example", edition="pro")
    make_account(runtime, first_contact="info@start.example", edition="start")
    gone = make_account(runtime, first_contact="info@gone.example", edition="pro")
    with runtime.db.session() as session:
        session.get(Account, gone.id).active = False

    by_edition = make_mailing(runtime, audience_kind="editions", audience_values=("pro",))
    by_number = make_mailing(
        runtime, audience_kind="accounts", audience_values=(pro.customer_number, "K-unbekannt")
    )

    assert set(_resolved(runtime, by_edition)) == {"info@pro.example"}
    assert set(_resolved(runtime, by_number)) == {"info@pro.example"}


def test_products_select_the_active_accounts_using_any_of_them(runtime):
    make_account(runtime, first_contact="info@kasse.example", products=("JTL-POS",))
    make_account(runtime, first_contact="info@beides.example", products=("JTL-POS", "JTL-Wawi"))
    make_account(runtime, first_contact="info@hosting.example", products=("Hosting by JTL",))
    make_account(runtime, first_contact="info@shop.example", products=("JTL-Shop",))
    make_account(runtime, first_contact="info@ohne.example")
    gone = make_account(runtime, first_contact="info@gone.example", products=("JTL-POS",))
    with runtime.db.session() as session:
        session.get(Account, gone.id).active = False

    by_product = make_mailing(
        runtime, audience_kind="products", audience_values=("JTL-POS", "Hosting by JTL")
    )

    assert set(_resolved(runtime, by_product)) == {
        "info@kasse.example",
        "info@beides.example",
        "info@hosting.example",
    }


def test_resolving_again_adds_nothing(runtime):
    _account_with_every_source(runtime)
    mailing_id = make_mailing(runtime, purpose="outage")

    first = _resolved(runtime, mailing_id)
    second = _resolved(runtime, mailing_id)

    assert first == second
    with runtime.db.session() as session:
        assert session.get(Mailing, mailing_id).recipients == 3
