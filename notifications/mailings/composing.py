"""Composing a mandatory mailing: check the draft, render the mail once with per-account slots.

The Jinja templates and CSS inlining run once per mailing; each recipient's text and HTML are
the frozen skeleton with the account's company and customer number put into the slots.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import css_inline
import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from helpdesk.config import Settings
from helpdesk.errors import ValidationError
from helpdesk.labels import label
from helpdesk.text import body_text_problem, header_text_problem
from notifications import rendering
from notifications.mailings.models import AUDIENCE_KINDS, BODY_FORMATS, PURPOSES, Mailing
from vocabulary import EDITIONS

TEMPLATE = "mandatory_mailing"
SUBJECT_MAX = 250
BODY_MAX = 50_000
ALLOWED_TAGS = nh3.ALLOWED_TAGS - {"img", "area", "map"}
_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"')\]]+")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


class DraftError(ValidationError):
    """A draft that cannot become a mailing; ``errors`` maps each bad field to a German message."""


@dataclass(frozen=True)
class MailingDraft:
    product_family: str
    purpose: str
    subject: str
    body: str
    body_format: str = "markdown"
    audience_kind: str = "all"
    audience_values: tuple[str, ...] = field(default=())
    follows_id: int | None = None


@dataclass(frozen=True)
class Personalised:
    subject: str
    text: str
    html: str


def check_draft(draft: MailingDraft, families: dict[str, str], link_hosts: tuple[str, ...]) -> None:
    """Raise DraftError naming every bad field; ``families`` maps family names to colours.

    Links may only point to ``link_hosts`` (``MAILING_LINK_HOSTS``).
    """
    errors: dict[str, str] = {}
    subject = draft.subject
    if not subject.strip():
        errors["subject"] = "Der Betreff ist erforderlich."
    elif header_text_problem(subject):
        errors["subject"] = "Der Betreff darf keine Zeilenumbrüche oder Steuerzeichen enthalten."
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = f"Höchstens {SUBJECT_MAX} Zeichen: ein kurzer Satz."
    if draft.product_family not in families:
        errors["product_family"] = "Unbekannte Produktfamilie."
    if draft.purpose not in PURPOSES:
        errors["purpose"] = "Bitte wählen Sie einen Anlass aus der Liste."
    if draft.body_format not in BODY_FORMATS:
        errors["body_format"] = "Bitte wählen Sie ein Textformat aus der Liste."
    if not draft.body.strip():
        errors["body"] = "Der Text ist erforderlich."
    elif len(draft.body) > BODY_MAX or body_text_problem(draft.body):
        errors["body"] = f"Höchstens {BODY_MAX} Zeichen, keine Steuerzeichen."
    elif foreign := foreign_links(draft, link_hosts):
        errors["body"] = "Links nur auf das Kundencenter erlaubt, nicht: " + ", ".join(foreign)
    if draft.audience_kind not in AUDIENCE_KINDS:
        errors["audience"] = "Bitte wählen Sie aus, wer das Mailing erhält."
    elif draft.audience_kind != "all" and not draft.audience_values:
        errors["audience"] = "Bitte mindestens einen Wert angeben."
    elif draft.audience_kind == "editions" and not set(draft.audience_values) <= set(EDITIONS):
        errors["audience"] = f"Editionen: {', '.join(EDITIONS)}."
    elif draft.audience_kind == "products" and not set(draft.audience_values) <= set(families):
        unknown = sorted(set(draft.audience_values) - set(families))
        errors["audience"] = f"Unbekannte Produkte: {', '.join(unknown)}."
    if errors:
        raise DraftError(errors)


def foreign_links(draft: MailingDraft, hosts: tuple[str, ...]) -> list[str]:
    """Every link target in the body that is not an http(s) URL on one of ``hosts``."""
    targets = [match.group(0) for match in _URL.finditer(draft.body)]
    if draft.body_format == "markdown":
        for token in _markdown.parse(draft.body):
            for child in token.children or ():
                if child.type == "link_open":
                    targets.append(str(child.attrGet("href") or ""))
    bad = []
    for target in targets:
        parts = urlsplit(target if "://" in target else f"http://{target}")
        if parts.scheme not in ("http", "https") or (parts.hostname or "") not in hosts:
            bad.append(target)
    return sorted(set(bad))


def body_html(draft_body: str, body_format: str) -> Markup:
    """The body as sanitised HTML: Markdown rendered without raw HTML, then cleaned by nh3."""
    if body_format == "markdown":
        rendered = _markdown.render(draft_body)
    else:
        rendered = "".join(f"<p>{escape(p)}</p>" for p in draft_body.split("\n\n") if p.strip())
    cleaned = nh3.clean(
        rendered, tags=ALLOWED_TAGS, url_schemes={"http", "https"}, link_rel="noopener"
    )
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above


def freeze(
    mailing: Mailing, settings: Settings, original: Mailing | None = None
) -> tuple[str, str, str]:
    """(slot_token, text skeleton, HTML skeleton) for a mailing whose fields are set."""
    token = secrets.token_hex(8)
    context: dict[str, Any] = {
        "subject": mailing.subject,
        "product_family": mailing.product_family,
        "banner_colour": mailing.banner_colour,
        "purpose_label": label(mailing.purpose, "purpose"),
        "body_text": mailing.body.strip(),
        "body_html": body_html(mailing.body, mailing.body_format),
        "company": f"{token}company",
        "customer_number": f"{token}customer",
        "portal_url": settings.public_url,
        "ticket_url": f"{settings.public_url}/tickets/neu",
        "dkim_domain": settings.dkim_domain,
        "original_subject": original.subject if original else None,
    }
    text, html = rendering.render(TEMPLATE, context)
    return token, text, css_inline.inline(html)


def personalise(mailing: Mailing, company: str, customer_number: str) -> Personalised:
    """The mail for one account: the skeleton with the account's values in its slots."""
    token = mailing.slot_token
    text = mailing.text_skeleton.replace(f"{token}company", company).replace(
        f"{token}customer", customer_number
    )
    html = mailing.html_skeleton.replace(f"{token}company", str(escape(company))).replace(
        f"{token}customer", str(escape(customer_number))
    )
    return Personalised(mailing.subject, text, html)
