"""What every request and response gets, whatever the door: security headers, ids in URLs
written in ASCII digits within range, and JSON bodies that cannot nest without limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import BaseConverter, ValidationError

from helpdesk.config import Settings
from helpdesk.text import parse_id

# Mails shown in the e-mail history and the mailing preview carry inline styles (CSS is inlined
# for mail clients), so styles may be inline; scripts come only from our own files.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
MAX_JSON_DEPTH = 64
SEARCH_TEXT = "q"


def install(app: Flask, settings: Settings) -> None:
    """Bind the converter, the JSON provider and the headers; before blueprints are mounted."""
    app.url_map.converters["int"] = IdConverter
    app.json = LimitedJSONProvider(app)
    app.before_request(refuse_nul)
    app.after_request(security_headers(settings))


def refuse_nul() -> None:
    """A NUL character in the path, the query or a form field means nothing here, and no
    database takes it. Free search text (``q``) is the exception: searches ignore NUL. (JSON
    bodies are checked field by field, with the field named.)"""
    query = [(k, v) for k, v in request.args.items(multi=True) if k != SEARCH_TEXT]
    fields = (*query, *request.form.items(multi=True))
    if "\x00" in request.path or any("\x00" in name + value for name, value in fields):
        abort(400, "NUL character in the request.")


class IdConverter(BaseConverter):
    """``<int:...>`` in a route: ASCII digits only, at most MAX_ID; anything else is a 404."""

    regex = "[0-9]{1,10}"
    weight = 50

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class LimitedJSONProvider(DefaultJSONProvider):
    """Request bodies nested deeper than MAX_JSON_DEPTH answer 400 before they are parsed."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if nested_too_deep(s):
            raise BadRequest(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        return super().loads(s, **kwargs)


def nested_too_deep(document: str | bytes) -> bool:
    """Whether arrays and objects nest deeper than MAX_JSON_DEPTH in ``document`` (brackets
    inside strings do not count)."""
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else document
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False  # fewer brackets than levels: no need to walk it
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def security_headers(settings: Settings) -> Callable[[Response], Response]:
    strict_transport = settings.public_url.startswith("https://")

    def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if strict_transport:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    return add_headers
