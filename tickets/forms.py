"""HTML forms of the portal and the console (Flask-WTF: every POST carries a CSRF token).

Forms only carry input; the services check it and name bad fields, which ``show_errors`` puts
back on the form.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    MultipleFileField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)

from tickets.services import Upload


class LenientSelect(SelectField):
    """Choices are offered, but the service decides what is valid and names the field."""

    def pre_validate(self, form: Any) -> None:
        """Unknown values are reported by the services, with the field's name."""


def request_uploads(name: str) -> list[Upload]:
    """The files of the request's field ``name``, as streams (read in chunks when stored)."""
    return [
        Upload(upload.filename or "", upload.stream, upload.mimetype)
        for upload in request.files.getlist(name)
        if upload.filename
    ]


class TicketForm(FlaskForm):
    reply_to = EmailField("Antwort an (E-Mail-Adresse)")
    product_family = LenientSelect("Produktfamilie")
    component = LenientSelect("Komponente")
    department = LenientSelect("Abteilung")
    subject = StringField("Betreff")
    text = TextAreaField("Beschreibung")
    priority = LenientSelect("Priorität", default="normal")
    emergency_confirmed = BooleanField(
        "Ich bestätige, dass ein Notfall vorliegt. Mir ist bekannt, dass ein kritisches Ticket, "
        "das kein Notfall ist, verrechnet wird."
    )
    sensitive_label = StringField("Sensible Daten: wofür? (z. B. FTP-Zugang)")
    sensitive_value = PasswordField("Zugangsdaten (werden verschlüsselt gespeichert)")
    attachments = MultipleFileField("Anhänge")


class ReplyForm(FlaskForm):
    text = TextAreaField("Ihre Antwort")
    attachments = MultipleFileField("Anhänge")


class AnswerForm(ReplyForm):
    """An agent's answer in the console: the customer's reply form plus Cc addresses."""

    cc = StringField("Kopie an (CC, mehrere mit Komma getrennt)")


class MergeForm(FlaskForm):
    """Merge this ticket (a duplicate) into the ticket named by number."""

    target = StringField("Zusammenführen in Ticket (Nummer)")


class SensitiveForm(FlaskForm):
    sensitive_label = StringField("Wofür? (z. B. FTP-Zugang)")
    sensitive_value = PasswordField("Zugangsdaten")


class NoteForm(FlaskForm):
    text = TextAreaField("Interne Notiz", id="note-text")  # the reply form has "text" too


class AssignForm(FlaskForm):
    assignee = LenientSelect("Zuweisen an")


class ChangeForm(FlaskForm):
    queue = LenientSelect("Queue")
    priority = LenientSelect("Priorität")
    status = LenientSelect("Status")
    reason = StringField("Grund")


class BillingForm(FlaskForm):
    reason = StringField("Begründung")


class PhoneForm(FlaskForm):
    customer_number = StringField("Kundennummer")
    keyword = StringField("Stichwort des Anrufers", default="Zugang gesperrt")
    reply_to = EmailField("Antwort an (leer: Erstkontakt des Kontos)")
    product_family = LenientSelect("Produktfamilie", default="JTL-Kundenkonto")
    component = LenientSelect("Komponente", default="Fragen zu Firmendaten/Kundenkonto")
    department = LenientSelect("Abteilung")
    priority = LenientSelect("Priorität", default="normal")
    text = TextAreaField("Notiz zum Anruf")


class TagsForm(FlaskForm):
    """Add tags (comma-separated) or remove one (the button of that tag)."""

    add = StringField("Tags hinzufügen (durch Komma getrennt)")
    remove = HiddenField()


class LinkAccountForm(FlaskForm):
    """A ticket of an unknown sender gets its account (routing and SLA evaluated again)."""

    customer_number = StringField("Kundennummer")
    reason = StringField("Grund")
