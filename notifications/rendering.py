"""Mail templates under ``templates/mail/``: every mail has a text and an HTML part."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from helpdesk.config import PROJECT_ROOT
from helpdesk.i18n import berlin
from helpdesk.labels import label

MAIL_TEMPLATES = PROJECT_ROOT / "templates" / "mail"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(MAIL_TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(label=label, berlin=berlin)
    return env


def render(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """(text, html) of the template pair ``name.txt`` / ``name.html``."""
    env = environment()
    text = env.get_template(f"{name}.txt").render(context)
    html = env.get_template(f"{name}.html").render(context)
    return text, html
