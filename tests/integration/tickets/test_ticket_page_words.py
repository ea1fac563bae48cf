"""What a ticket page says in plain words: why the priority changed, no empty product line."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from tests.integration.accounts.factories import make_account, make_customer, make_staff, sign_in
from tests.integration.tickets.factories import make_ticket
from tests.integration.tickets.test_console import world
from tickets.inbound.services import take_message
from tickets.models import Ticket


def test_the_customer_page_says_why_routing_raised_the_chosen_priority(app, runtime):
    _account, customer, _agent, ticket = world(app, runtime)  # locked access: normal -> high

    page = customer.get(f"/tickets/{ticket.number}").get_data(as_text=True)

    assert (ticket.requested_priority, ticket.effective_priority) == ("normal", "high")
    assert (
        "Sie hatten „Normal“ gewählt. Nach unseren Support-Regeln bearbeiten wir Anliegen wie "
        "Ihres mit der Priorität „Hoch“."
    ) in page


def test_an_email_ticket_without_product_shows_no_product_line(app, runtime):
    ticket_id = make_ticket(runtime, product_family="", component="", channel="email")
    with runtime.db.reading() as session:
        number = session.get(Ticket, ticket_id).number
    client = app.test_client()
    sign_in(client, make_staff(runtime, "supervisor").email)

    page = client.get(f"/konsole/tickets/{number}").get_data(as_text=True)

    assert "Zugang gesperrt" in page
    assert "<dt>Produkt</dt>" not in page and "Produkt /" not in page


def test_a_ticket_that_came_by_email_shows_its_first_message_once(app, runtime, settings):
    account = make_account(runtime)
    customer = make_customer(runtime, account)
    mail = EmailMessage()
    mail["From"] = customer.email
    mail["To"] = settings.support_mailboxes[0]
    mail["Subject"] = "Drucker druckt nicht"
    mail["Message-ID"] = make_msgid(domain="kunde.example")
    mail.set_content("Der Etikettendrucker druckt seit heute Morgen nicht mehr.")
    outcome = take_message(
        runtime,
        mail.as_bytes(),
        mailbox=settings.support_mailboxes[0],
        envelope_sender=customer.email,
    )
    staff, own = app.test_client(), app.test_client()
    sign_in(staff, make_staff(runtime, "supervisor").email)
    sign_in(own, customer.email)

    console = staff.get(f"/konsole/tickets/{outcome.ticket}").get_data(as_text=True)
    portal = own.get(f"/tickets/{outcome.ticket}").get_data(as_text=True)

    assert console.count("seit heute Morgen nicht mehr") == 1
    assert portal.count("seit heute Morgen nicht mehr") == 1
