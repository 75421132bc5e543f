"""Request hygiene shared by intake and casework: malformed requests end in a 4xx here.

Both apps are plain HTML forms without JavaScript, so a well-formed request is narrow: a
UTF-8 query string, a body that is a form (URL-encoded or multipart) with a name on every
part, files only in the fields that take files, and a session cookie of the shape the
app itself writes. Anything else is refused (or, for the session, forgotten) before
Flask-WTF, the permission check or a view sees it: those layers assume well-typed input,
and a fuzz run found 500s in each of them (tests/fuzz).

The hook runs first of all ``before_request`` functions, so no other hook (CSRF check,
sign-in) reads a request the guard would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, abort, request, session
from flask.globals import request_ctx
from werkzeug.datastructures import FileStorage

# The only request bodies the apps accept: what an HTML form sends.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A neutral host for building (relative) URLs when the request's Host could not be bound.
FALLBACK_HOST = "invalid"

CSRF_RAW = re.compile(r"[0-9a-f]{40}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# One value of a session field: its Python type, or a nested shape for a dict.
FieldShape = type | Mapping[str, Any]


def _matches(value: object, shape: FieldShape) -> bool:
    """True if ``value`` has exactly the declared shape (every field, nothing more)."""
    if isinstance(shape, Mapping):
        return (isinstance(value, dict) and set(value) == set(shape)
                and all(_matches(value[k], s) for k, s in shape.items()))
    # bool is an int subclass: a forged True where a timestamp belongs is malformed.
    if shape is int and isinstance(value, bool):
        return False
    return isinstance(value, shape)


def _flashes_ok(value: object) -> bool:
    # Flask stores flashed messages as (category, message) pairs of strings.
    return isinstance(value, list | tuple) and all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(s, str) for s in p)
        for p in value)


def session_is_well_formed(data: Mapping[str, object],
                           shape: Mapping[str, FieldShape]) -> bool:
    """True if every key of the session is known and has its declared shape."""
    for key, value in data.items():
        if key == "_flashes":
            if not _flashes_ok(value):
                return False
        elif key == "csrf_token":
            # Flask-WTF's raw token, a SHA-1 hex digest; it is compared with
            # hmac.compare_digest, which raises on non-ASCII text.
            if not (isinstance(value, str) and CSRF_RAW.fullmatch(value)):
                return False
        elif key not in shape or not _matches(value, shape[key]):
            return False
    return True


def _utf8(raw: str) -> bool:
    # WSGI hands over the raw bytes as latin-1 code points; a server (or a test) may
    # also pass code points above 255, which no byte string can hold.
    try:
        raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return False
    return True


def _check_form(file_fields: Iterable[str]) -> None:
    allowed = frozenset(file_fields)
    # Parsing here (not first in Flask-WTF) makes the checks below see every part.
    for name, text in request.form.items(multi=True):
        if not isinstance(name, str):
            abort(400)  # a multipart part without a name: Werkzeug keys it None
        if name in allowed:
            abort(400)  # text where the route takes files
        if "\x00" in name or "\x00" in text:
            # No browser sends a NUL in a form field, and PostgreSQL cannot store one.
            abort(400)
    for name, value in request.files.items(multi=True):
        if not isinstance(name, str) or not isinstance(value, FileStorage):
            abort(400)
        if name not in allowed:
            abort(400)  # a file where the route takes text (or no files at all)


def install_request_guard(app: Flask, *, session_shape: Mapping[str, FieldShape],
                          file_fields: Mapping[str, Iterable[str]] | None = None) -> None:
    """Refuse malformed requests first of all hooks.

    ``session_shape`` names every key the app writes into its session (besides Flask's
    flashes and Flask-WTF's token) with its type or nested shape; a session with other
    keys or other types was forged with the secret key or written by an older version,
    and is cleared. ``file_fields`` maps an endpoint to the form fields that take files;
    files anywhere else are refused.
    """
    files_by_endpoint = {k: tuple(v) for k, v in (file_fields or {}).items()}

    def guard() -> None:
        ctx = request_ctx._get_current_object()  # type: ignore[attr-defined]
        if ctx.url_adapter is None:
            # Werkzeug could not bind the Host header (e.g. an IDNA label over 63
            # characters) and will answer 400. The error page still builds links: bind
            # to a neutral host, as only relative URLs are ever built from it.
            ctx.url_adapter = app.url_map.bind(
                FALLBACK_HOST, script_name=request.root_path or "/",
                url_scheme=request.scheme if request.scheme in ("http", "https") else "http")
        if not session_is_well_formed(session, session_shape):
            session.clear()  # forged or stale: the visitor is simply signed out
        query = request.environ.get("QUERY_STRING", "")
        if not _utf8(query) or CONTROL.search(query):
            # Templates echo the query string, so it must decode; and a slash redirect
            # copies it raw into the Location header, where a line break is an error
            # (a 500). Browsers percent-encode both. Drop it so that the error page
            # (which builds a "back here" link) does not trip over it too.
            request.query_string = b""
            request.__dict__.pop("args", None)
            abort(400)
        if not _utf8(request.environ.get("PATH_INFO", "")):
            abort(400)
        # Decoded, a path or a parameter may still hold control characters (%00): no
        # route takes them, and PostgreSQL refuses a NUL in any text it is given, so a
        # NUL reaching a query (an id, a cursor, a user name) would be a 500 there.
        if CONTROL.search(request.path) or any(
                "\x00" in key or "\x00" in value
                for key, value in request.args.items(multi=True)):
            abort(400)
        mimetype = request.mimetype
        if mimetype == "application/json" or mimetype.endswith("+json"):
            abort(415)  # no route takes JSON; Flask-WTF would feed it to the forms
        if request.method in SUBMIT_METHODS and _has_body() and mimetype not in FORM_TYPES:
            abort(415)
        if mimetype in FORM_TYPES:
            _check_form(files_by_endpoint.get(request.endpoint or "", ()))

    funcs: list[Callable[[], Any]] = app.before_request_funcs.setdefault(None, [])
    funcs.insert(0, guard)


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()
