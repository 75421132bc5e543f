"""Domain exceptions of casework, and the one place that turns them into HTTP answers."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

import crypto

log = logging.getLogger("lykta.casework")


class CaseworkError(Exception):
    """Base of casework's domain errors: each carries a status and a plain message."""

    status = 400
    title: str | LazyString = _l("Something went wrong")
    explanation: str | LazyString = _l("Please go back and try again.")


class InvalidCredentials(CaseworkError):
    """Wrong user name, password or code (never says which)."""

    status = 401
    title = _l("Sign-in failed")
    explanation = _l("The user name, password or code was wrong. Check them and try again.")


class AccountLocked(CaseworkError):
    """Too many failed sign-ins: locked for a while (exponential back-off)."""

    status = 429
    title = _l("Account temporarily locked")
    explanation = _l("There were too many failed sign-in attempts. Wait a few minutes and "
                     "try again, or ask an administrator.")


class SessionExpired(CaseworkError):
    """Not signed in, idle too long, or past the absolute session limit."""

    status = 401
    title = _l("You are signed out")
    explanation = _l("Your session ended (after 15 minutes idle or 8 hours in all). "
                     "Sign in again.")


class NotPermitted(CaseworkError):
    """The signed-in role may not do this."""

    status = 403
    title = _l("Not permitted")
    explanation = _l("Your role does not allow this. Separation of duties is enforced here.")


class InvalidInput(CaseworkError):
    """A domain rule refused the input; the message says which."""

    def __init__(self, explanation: str | LazyString) -> None:
        # A lazy message is translated when shown (the web page's language, or English
        # on the command line), not when raised.
        super().__init__(explanation)
        self.explanation = explanation


# Werkzeug's names of the HTTP errors casework can answer with, translated; in English
# they read exactly as Werkzeug names them. Other codes keep Werkzeug's (English) name.
HTTP_TITLES: dict[int, str | LazyString] = {
    400: _l("Bad Request"),
    404: _l("Not Found"),
    405: _l("Method Not Allowed"),
    413: _l("Request Entity Too Large"),
    415: _l("Unsupported Media Type"),  # a body that is not a form (common/request_guard.py)
}


# The last resort when error.html itself cannot render: plain markup that needs no URL
# adapter, no session and no template, so the answer keeps its 4xx status.
FALLBACK_PAGE = ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
                 "</head><body><main><h1>{title}</h1><p>{explanation}</p></main></body></html>\n")


def error_page(title: str | LazyString, explanation: str | LazyString,
               status: int) -> tuple[str, int]:
    """Render error.html; if that fails, answer with the same status in plain markup."""
    try:
        return render_template("error.html", title=title, explanation=explanation), status
    except Exception as exc:
        # Only the type, as everywhere: the message could carry request content.
        log.error("the error page failed: %s", type(exc).__name__)
        return FALLBACK_PAGE.format(title=escape(str(title)),
                                    explanation=escape(str(explanation))), status


# The statistics API (casework/views/api.py) answers its errors as JSON, with a code.
API_BLUEPRINT = "api"
API_PREFIX = "/api/"
ERROR_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large",
               415: "unsupported_media_type", 429: "rate_limited", 503: "unavailable"}


def wants_json() -> bool:
    """True for the API's routes, and for a path under it that no route matched."""
    return request.blueprint == API_BLUEPRINT or request.path.startswith(API_PREFIX)


def json_error(message: str | LazyString, status: int,
               headers: dict[str, str] | None = None) -> Response:
    """``{"error": code, "message": ...}`` with the status (and e.g. Retry-After)."""
    response = jsonify(error=ERROR_CODES.get(status, "server_error" if status >= 500
                                             else "error"), message=str(message))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def register_error_handlers(app: Flask) -> None:
    """Every failure becomes a plain page with the right status, never a traceback."""

    @app.errorhandler(CaseworkError)
    def domain_error(error: CaseworkError) -> tuple[str, int] | Response:
        if wants_json():
            return json_error(error.explanation, error.status,
                              getattr(error, "headers", None))
        return error_page(error.title, error.explanation, error.status)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        return error_page(_l("The form had expired"),
                          _l("Nothing was saved. Reload the page and try again."), 400)

    @app.errorhandler(crypto.CryptoError)
    def integrity_error(_error: crypto.CryptoError) -> tuple[str, int]:
        # A sealed item that fails authentication was damaged or forged on the way
        # (e.g. on a seized intake server): say so, never show partial plaintext.
        log.warning("an envelope failed its integrity check")
        return error_page("Damaged or forged item",
                          "An encrypted item of this case failed its integrity check and "
                          "was not shown.", 422)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | Response:
        title = HTTP_TITLES.get(error.code or 500, error.name)
        if wants_json():
            return json_error(title, error.code or 500)
        return error_page(title, _l("Go back and try again."), error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int] | Response:
        # Only the type: messages could carry case content.
        log.error("unexpected error: %s", type(error).__name__)
        if wants_json():
            return json_error(_l("An error occurred on our side."), 500)
        return error_page(_l("Something went wrong"), _l("An error occurred on our side."), 500)
