"""KOF's statistics pages: the dashboard, exports, releases and API tokens.

Thin: each view parses its query or form, calls one function of casework.statistics and
renders. The statistician reads released (disclosure-controlled) figures only.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..case_view import refusal
from ..services import current_unit
from ..statistics import tokens
from ..web import signed_in

bp = Blueprint("statistics", __name__)


# --- API tokens (casework.statistics.tokens) ---------------------------------------------


class TokenForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """A new API token: who will hold it."""

    name = StringField(_l("Who holds the token"), validators=[
        DataRequired(), Length(max=tokens.MAX_NAME)],
        description=_l("For example the transparency portal. The token is shown once."))


class RevokeForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """The "revoke" button (carries the CSRF token)."""


def _tokens_page(form: TokenForm, created: str | None = None) -> str:
    return render_template("statistics_tokens.html", tokens=tokens.list_tokens(
        current_unit().session), form=form, revoke=RevokeForm(), created=created)


@bp.get("/statistics/tokens/", endpoint="tokens")
def tokens_index() -> str:
    """The API tokens (name, created, last used, revoked) and the form for a new one."""
    return _tokens_page(TokenForm(prefix="token"))


@bp.post("/statistics/tokens/")
def token_create() -> Response | tuple[str, int]:
    """Create a token and show it once (the page is never stored: no-store)."""
    form = TokenForm(prefix="token")
    if not form.validate_on_submit():
        return _tokens_page(form), 400
    _token, text = tokens.create_token(current_unit().session, signed_in().user,
                                       form.name.data or "")
    response = Response(_tokens_page(TokenForm(prefix="token", formdata=None), created=text),
                        mimetype="text/html")
    response.headers["Cache-Control"] = "no-store, max-age=0"
    return response


@bp.post("/statistics/tokens/<token_id>/revoke")
def token_revoke(token_id: str) -> Response:
    """Revoke a token: the API refuses it from the next request on."""
    if not RevokeForm().validate_on_submit():
        raise refusal(_l("the form had no valid token; nothing was changed"))
    tokens.revoke_token(current_unit().session, signed_in().user, token_id)
    flash(_("API token revoked."))
    return redirect(url_for("statistics.tokens"))
