"""Page fragments that refresh without reloading: the page's ``static/live.js`` polls a
fragment URL with the ETag it last saw; an unchanged fragment answers 304 before any of its
queries run.

Polling rather than server-sent events: each poll is one short request, so a page held
open all day ties up no gunicorn thread, works through every proxy, and any web process
can answer it. The views build the ETag from something cheap that changes whenever the
fragment would (docs/tickets.md, "Live lists").
"""

from __future__ import annotations

import hashlib

from flask import Response, make_response, request


def etag_of(*parts: object) -> str:
    """A short strong ETag for a fragment decided by ``parts`` (each turned into text)."""
    text = "\x1f".join(str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def not_modified(etag: str) -> Response | None:
    """A 304 when the caller already holds the fragment with ``etag``, else None."""
    if not request.if_none_match.contains(etag):
        return None
    response = Response(status=304)
    return _private(response, etag)


def fragment(html: str, etag: str) -> Response:
    """The rendered fragment, to be checked again (never reused unasked) by the browser."""
    return _private(make_response(html), etag)


def _private(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.cache_control.no_cache = True
    response.cache_control.private = True
    response.vary.add("Cookie")
    return response
