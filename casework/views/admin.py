"""Administration: people, units, the recipient directory. Never content."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from ..accounts import create_user, reset_password
from ..directory import directory_summary
from ..forms import ActionForm, CreateUserForm
from ..models import Role, Unit, User
from ..services import current
from ..web import signed_in

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _create_form() -> CreateUserForm:
    form = CreateUserForm()
    with current().db.session() as db:
        swedish = str(get_locale()) == "sv"
        form.unit.choices = [SelectChoice(u.id, u.name_sv if swedish else u.name_en)
                             for u in db.scalars(select(Unit))]
    return form


@bp.get("/users")
def users() -> str:
    """Everyone, their roles and whether they are enrolled."""
    with current().db.session() as db:
        people = list(db.scalars(select(User).order_by(User.username)))
    return render_template("admin_users.html", people=people, form=_create_form(),
                           action=ActionForm())


def create_user_view() -> Response | tuple[str, int]:
    """Add a person; their one-time password is shown once."""
    form = _create_form()
    services = current()
    if not form.validate_on_submit():
        with services.db.session() as db:
            people = list(db.scalars(select(User).order_by(User.username)))
        return render_template("admin_users.html", people=people, form=form,
                               action=ActionForm()), 400
    with services.db.session() as db:
        user, password = create_user(db, services.config, username=form.username.data or "",
                                     display_name=form.display_name.data or "",
                                     unit_id=form.unit.data or "",
                                     role=Role(form.role.data))
        username = user.username
    flash(_("Created %(username)s. One-time password (shown once): %(password)s",
            username=username, password=password))
    return redirect(url_for("admin.users"))


def reset_password_view(username: str) -> Response:
    """Give a temporary password; the person re-enrols (their sessions end now)."""
    form = ActionForm()
    services = current()
    if form.validate_on_submit():
        # The resetting administrator is recorded: they may not approve a new key that
        # comes out of the re-enrolment (casework.accounts.approve_key).
        by = signed_in().user.username
        with services.db.session() as db:
            password = reset_password(db, services.config, username, by=by)
        flash(_("New one-time password for %(username)s (shown once): %(password)s",
                username=username, password=password))
    return redirect(url_for("admin.users"))


@bp.get("/directory")
def directory() -> str:
    """Who the next exported recipient directory will list."""
    with current().db.session() as db:
        summary = directory_summary(db)
    return render_template("admin_directory.html", summary=summary)


bp.add_url_rule("/users", endpoint="create_user", view_func=create_user_view,
                methods=["POST"])
bp.add_url_rule("/users/<username>/reset", endpoint="reset_password",
                view_func=reset_password_view, methods=["POST"])
