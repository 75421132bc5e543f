"""Domain exceptions of intake, and the one place that turns them into HTTP answers."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("lykta.intake")


class IntakeError(Exception):
    """Base of intake's domain errors: each has a status, a title and an explanation."""

    status = 400
    title = _l("Something went wrong")
    explanation = _l("Please go back and try again.")
    retry_endpoint: str | None = None


class Busy(IntakeError):
    """All Argon2 slots are taken."""

    status = 503
    title = _l("Busy right now")
    explanation = _l(
        "Many people are using the service at this moment. Nothing was saved. "
        "Please wait a minute and try again."
    )


class MalformedReceiptCode(IntakeError):
    """What was typed cannot be a receipt code."""

    status = 400
    title = _l("That is not a receipt code")
    explanation = _l(
        "A receipt code has 20 letters and digits, written in four groups of five, "
        "for example ABCDE-12345-FGHJK-67890. Check what you typed and try again."
    )
    retry_endpoint = "dialogue.login"


class ReceiptCodeTypo(IntakeError):
    """The code is shaped right but its check characters disagree."""

    status = 400
    title = _l("The code seems to contain a typo")
    explanation = _l(
        "The last two characters are a check, and they do not match the rest. "
        "Compare each character with your note and try again. Letters O and I are "
        "read as the digits 0 and 1, and case does not matter."
    )
    retry_endpoint = "dialogue.login"


class UnknownReceipt(IntakeError):
    """A well-formed code that opens no report."""

    status = 401
    title = _l("No report found for that code")
    explanation = _l(
        "The code is well-formed, but no report belongs to it. Check that you are using "
        "the code from this service. Reports whose cases were closed long ago are deleted."
    )
    retry_endpoint = "dialogue.login"


class SessionExpired(IntakeError):
    """The tipster is not signed in (or was signed out after being idle)."""

    status = 401
    title = _l("You are signed out")
    explanation = _l(
        "For your safety you are signed out after a short time without activity. "
        "Sign in again with your receipt code."
    )
    retry_endpoint = "dialogue.login"


class RejectedUpload(IntakeError):
    """An uploaded file broke a rule (size, count, emptiness)."""

    status = 413
    title = _l("The files could not be accepted")
    explanation = _l("Nothing was saved. Please check the files and try again.")

    def __init__(self, explanation: object | None = None, status: int = 413) -> None:
        super().__init__()
        if explanation is not None:
            self.explanation = explanation
        self.status = status


class EveryoneExcluded(IntakeError):
    """The tipster left out every reviewer who could read the report.

    A valid choice that cannot be carried out: said plainly (400) so the tipster can
    untick someone, instead of a server error. Sealing it to the escrow key alone would
    leave a report that nobody works on.
    """

    status = 400
    title = _l("Someone must be able to read your report")
    explanation = _l(
        "You have left out every person who could read this report. Leave at least one "
        "person unticked under \"Persons who must not see this report\". Nothing was saved."
    )
    retry_endpoint = "report.submit"


class ServiceUnavailable(IntakeError):
    """The service cannot accept reports right now (e.g. no reviewer to route to)."""

    status = 503
    title = _l("The service cannot accept reports right now")
    explanation = _l("Nothing was saved. Please try again later.")


def register_error_handlers(app: Flask) -> None:
    """Translate every failure into a plain page with a 4xx/5xx status, never a traceback."""

    @app.errorhandler(IntakeError)
    def domain_error(error: IntakeError) -> tuple[str, int]:
        return render_template("error.html", title=error.title, explanation=error.explanation,
                               retry_endpoint=error.retry_endpoint), error.status

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html",
            title=_l("The form had expired"),
            explanation=_l("For your protection each form is valid for a few hours. "
                           "Nothing was saved. Please fill in the form again."),
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        status = error.code or 500
        titles = {
            404: _l("Page not found"),
            405: _l("That action is not allowed here"),
            413: _l("Too much data"),
        }
        explanations = {
            413: _l("The files were larger than allowed. Nothing was saved."),
        }
        return render_template(
            "error.html",
            title=titles.get(status, _l("Something went wrong")),
            explanation=explanations.get(status, _l("Please go back and try again.")),
        ), status

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        # Only the exception's type is logged: its message or arguments could hold
        # report content.
        log.error("unexpected error: %s", type(error).__name__)
        return render_template(
            "error.html", title=_l("Something went wrong"),
            explanation=_l("An error occurred on our side. Nothing you sent was kept "
                           "unless you got a receipt code."),
        ), 500
