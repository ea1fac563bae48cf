"""HTML forms (Flask-WTF: every POST carries a CSRF token). Rules live in the services."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from accounts.invitations import PERMISSION_LABELS
from accounts.vocabulary import contact_options

REQUIRED = "Bitte füllen Sie dieses Feld aus."


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        """Unknown values are reported by the services, with the field's name."""


class SignInForm(FlaskForm):
    email = EmailField("E-Mail-Adresse", validators=[DataRequired(REQUIRED)])
    password = PasswordField("Passwort", validators=[DataRequired(REQUIRED)])


class CodeForm(FlaskForm):
    code = StringField(
        "Bestätigungscode",
        description="6 Ziffern aus Ihrer Authenticator-App oder ein Wiederherstellungscode.",
        validators=[DataRequired(REQUIRED), Length(max=32)],
    )


class FirstContactForm(FlaskForm):
    first_contact = EmailField(
        "E-Mail-Adresse (Erstkontakt für JTL)",
        description="An diese Adresse senden wir Pflichtmailings mit kritischen Informationen.",
    )


class ContactPersonForm(FlaskForm):
    salutation = SelectField("Anrede", choices=[], validate_choice=False)
    title = StringField("Titel")
    first_name = StringField("Vorname")
    last_name = StringField("Nachname")
    position = StringField("Position in Ihrer Firma")
    email = EmailField("E-Mail-Adresse")
    phone = StringField("Telefon")
    mobile_fax = StringField("Mobil/Fax")
    gdpr_representative = BooleanField(
        "Diese Person ist Bevollmächtigter im Sinne der DSGVO (AV-Vertrag)"
    )
    external = BooleanField(
        "Externe Person (z. B. externer Datenschutzbeauftragter)",
        description="Externe Personen erhalten standardmäßig keine Newsletter.",
    )
    receives_critical = BooleanField("Erhält kritische Informationen (Pflichtmailings)")
    responsibilities = CheckboxList("Verantwortungsbereiche", choices=[])
    newsletter_channels = CheckboxList("Newsletter-Kanäle", choices=[])

    def service_data(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


def contact_person_form(obj: Any = None) -> ContactPersonForm:
    """The form with today's options from contact_options.yaml (pre-filled from ``obj``)."""
    options = contact_options()
    form = ContactPersonForm(obj=obj)
    form.salutation.choices = [("", "—"), *((s, s) for s in options.salutations)]
    form.responsibilities.choices = [
        (option.id, f"{group.name}: {option.name}")
        for group in options.responsibility_groups
        for option in group.options
    ]
    form.newsletter_channels.choices = [(o.id, o.name) for o in options.newsletter_channels]
    return form


class DistributionListForm(FlaskForm):
    addresses = TextAreaField("E-Mail-Adressen", description="Eine E-Mail-Adresse pro Zeile.")


def _permission_choices() -> list[tuple[str, str]]:
    return list(PERMISSION_LABELS.items())


class InvitationForm(FlaskForm):
    email = EmailField("E-Mail-Adresse", validators=[DataRequired(REQUIRED)])
    permissions = CheckboxList("Berechtigungen", choices=_permission_choices())


class PermissionsForm(FlaskForm):
    permissions = CheckboxList("Berechtigungen", choices=_permission_choices())


class AcceptInvitationForm(FlaskForm):
    name = StringField("Ihr Name", validators=[DataRequired(REQUIRED), Length(max=200)])
    password = PasswordField(
        "Passwort", description="Mindestens 12 Zeichen.", validators=[DataRequired(REQUIRED)]
    )
    password_repeat = PasswordField(
        "Passwort wiederholen",
        validators=[EqualTo("password", "Die Passwörter stimmen nicht überein.")],
    )


class PasswordResetRequestForm(FlaskForm):
    email = EmailField("E-Mail-Adresse", validators=[DataRequired(REQUIRED)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "Neues Passwort", description="Mindestens 12 Zeichen.", validators=[DataRequired(REQUIRED)]
    )
    password_repeat = PasswordField(
        "Neues Passwort wiederholen",
        validators=[EqualTo("password", "Die Passwörter stimmen nicht überein.")],
    )


class TokenForm(FlaskForm):
    name = StringField("Name des Tokens", validators=[DataRequired(REQUIRED), Length(max=120)])
    scopes = CheckboxList("Berechtigungen des Tokens", choices=[])


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = SearchField("Kundennummer, Firma oder E-Mail-Adresse")


class StaffForm(FlaskForm):
    """A member of staff's name, roles and queues (admin pages)."""

    name = StringField("Name", validators=[Length(max=200)])
    roles = CheckboxList("Rollen", choices=[])
    queues = CheckboxList("Queues", choices=[])


class InviteStaffForm(StaffForm):
    email = EmailField("E-Mail-Adresse", validators=[DataRequired(REQUIRED)])
    require_totp = BooleanField(
        "Zwei-Faktor-Anmeldung verlangen",
        description="Wird bei der ersten Anmeldung eingerichtet.",
        default=True,
    )


class NewStaffForm(InviteStaffForm):
    password = PasswordField(
        "Erstes Passwort",
        description="Mindestens 12 Zeichen; teilen Sie es der Person auf sicherem Weg mit.",
        validators=[DataRequired(REQUIRED)],
    )
