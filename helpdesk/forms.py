"""Form plumbing shared by every page: the button form, a service's field errors on a form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field

from helpdesk.errors import ValidationError


class ActionForm(FlaskForm):
    """A button that changes something (claim, close, revoke, sign out): only the CSRF token."""


def show_errors(form: FlaskForm, error: ValidationError) -> None:
    """Put a service's field messages onto the form's fields (or the form as a whole)."""
    for name, message in error.errors.items():
        field: Field | None = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
