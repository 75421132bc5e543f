"""KOF's statistics pages: the dashboard, exports, releases and API tokens.

Thin: each view parses its query or form, calls one function of casework.statistics and
renders. The statistician reads released (disclosure-controlled) figures only.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import Response as FlaskResponse
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from common.contract import Category

from ..case_view import refusal
from ..models import ReleaseKind
from ..services import current, current_unit
from ..statistics import charts, dashboard, releases, tokens
from ..statistics.periods import Period
from ..statistics.report_pdf import report_pdf
from ..web import signed_in

bp = Blueprint("statistics", __name__)


# --- releases and their reports (casework.statistics.releases) --------------------------

RELEASE_KIND_LABELS = {ReleaseKind.QUARTERLY: _l("Quarterly report"),
                       ReleaseKind.ANNUAL: _l("Annual report")}


class PublishForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """Kind and period of a release. The period is not limited to the offered choices
    (an older period may be posted); the domain refuses one that has not ended (409)."""

    kind = SelectField(_l("Kind of release"), validators=[DataRequired()],
                       choices=[SelectChoice(k.value, label)
                                for k, label in RELEASE_KIND_LABELS.items()])
    period = SelectField(_l("Period"), validators=[DataRequired(), Length(max=16)],
                         validate_choice=False,
                         description=_l("A quarter or a year that has ended."))


def _publish_form() -> PublishForm:
    form = PublishForm(prefix="publish")
    today = dt.datetime.now(dt.UTC).date()
    form.period.choices = [SelectChoice(p.label, p.label) for p in releases.ended_periods(today)]
    return form


@bp.get("/statistics/releases/", endpoint="releases")
def releases_index() -> str:
    """The published releases, and the form that publishes one."""
    person = signed_in()
    found = releases.releases(current_unit().session, person.user)
    return render_template("statistics_releases.html", releases=found, form=_publish_form(),
                           kind_labels=RELEASE_KIND_LABELS)


@bp.post("/statistics/releases/")
def publish() -> Response:
    """Publish an ended quarter or year (400 on a bad form, 409 if it has not ended)."""
    form = _publish_form()
    if not form.validate_on_submit():
        raise refusal(_l("choose a kind of release and a period; nothing was published"))
    kind = ReleaseKind(form.kind.data)  # one of the form's choices
    period = Period.parse(form.period.data)  # InvalidPeriod (400) if it is none
    person = signed_in()
    release = releases.publish(current(), current_unit().session, person.user, kind, period)
    flash(_("Release published. This report is what was published."))
    return redirect(url_for("statistics.release", release_id=release.id))


def _chart(figure: releases.ReportFigure) -> Markup:
    """The figure's SVG chart (casework.statistics.charts), drawn from its released table."""
    return charts.bar_chart(figure.table, title=figure.title, description=figure.note,
                            label=figure.label)


@bp.get("/statistics/releases/<release_id>")
def release(release_id: str) -> str:
    """A release's report: every figure, its chart and table, the legend, the audit head."""
    person = signed_in()
    found = releases.report(current_unit().session, person.user, release_id)
    return render_template("statistics_report.html", report=found,
                           charts={f.id: _chart(f) for f in found.figures},
                           rows_of=releases.ordered_keys,
                           kind_label=RELEASE_KIND_LABELS[ReleaseKind(found.release.kind)])


@bp.get("/statistics/releases/<release_id>/report.pdf")
def release_pdf(release_id: str) -> FlaskResponse:
    """The same report as a PDF, ready to publish."""
    person = signed_in()
    found = releases.report(current_unit().session, person.user, release_id)
    body = report_pdf(found, kind_label=str(RELEASE_KIND_LABELS[ReleaseKind(found.release.kind)]))
    name = f"lykta-statistics-{found.release.period}-{found.release.id[:8]}.pdf"
    return FlaskResponse(body, mimetype="application/pdf",
                         headers={"Content-Disposition": f'attachment; filename="{name}"'})


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


# --- the dashboard and its exports (casework.statistics.dashboard, .export) -------------

EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


def _asked_period() -> Period:
    """The ``period`` asked for (default: the current quarter); 400 if malformed."""
    raw = request.args.get("period", "")
    if not raw:
        return Period.current_quarter(dt.datetime.now(dt.UTC).date())
    return Period.parse(raw)


@bp.get("/statistics/", endpoint="dashboard")
def dashboard_page() -> str:
    """A period's figures, protected whole, sliced by unit or category: chart, table and
    what each means; a bad period or filter is a 400 that says which."""
    session = current_unit().session
    period = _asked_period()
    filters = dashboard.parse_filters(session, request.args.get("unit"),
                                      request.args.get("category"))
    board = dashboard.dashboard(session, current().config, period, filters)
    today = dt.datetime.now(dt.UTC).date()
    return render_template("statistics_dashboard.html", board=board,
                           units=dashboard.units(session),
                           periods=dashboard.offered_periods(today, period),
                           categories=[c.value for c in Category], chart_of=dashboard_chart,
                           grid=dashboard.grid, suppressed_counts=dashboard.suppressed_counts,
                           dimension_labels=dashboard.DIMENSION_LABELS)


def dashboard_chart(shown: dashboard.Shown) -> Markup:
    """The SVG of a shown figure (its table follows it in the page)."""
    if shown.table is None:  # a days or amount figure: its table alone
        return Markup("")
    return charts.bar_chart(shown.table, title=shown.title, description=shown.note,
                            label=shown.label, chart_id=shown.id)


@bp.get("/statistics/export", endpoint="export")
def export_file() -> FlaskResponse:
    """The period's released tables (whole, unfiltered) as CSV or JSON, schema
    lykta-statistics/1 (docs/statistics.md); a bad format or period is a 400."""
    fmt = request.args.get("format", "csv")
    if fmt not in EXPORT_TYPES:
        raise refusal(_l('the export format is "csv" or "json"'))
    period = _asked_period()
    body = dashboard.exported(current_unit().session, current().config, period, fmt)
    name = f"lykta-statistics-{period.label}.{fmt}"
    return FlaskResponse(body, mimetype=EXPORT_TYPES[fmt],
                         headers={"Content-Disposition": f'attachment; filename="{name}"'})

