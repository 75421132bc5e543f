"""Administration: people, units, the recipient directory. Never content."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from ..accounts import create_user, people, reset_password, set_email, units
from ..case_view import refusal
from ..directory import directory_summary
from ..forms import ActionForm, CreateUserForm, EmailForm
from ..models import Role, User
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _create_form() -> CreateUserForm:
    form = CreateUserForm()
    swedish = str(get_locale()) == "sv"
    form.unit.choices = [SelectChoice(u.id, u.name_sv if swedish else u.name_en)
                         for u in units(current_unit().session)]
    return form


def _people() -> list[User]:
    return people(current_unit().session)


@bp.get("/users")
def users() -> str:
    """Everyone, their roles and whether they are enrolled."""
    return render_template("admin_users.html", people=_people(), form=_create_form(),
                           action=ActionForm())


def create_user_view() -> Response | tuple[str, int]:
    """Add a person; their one-time password is shown once."""
    form = _create_form()
    services = current()
    if not form.validate_on_submit():
        return render_template("admin_users.html", people=_people(), form=form,
                               action=ActionForm()), 400
    user, password = create_user(current_unit().session, services.config,
                                 username=form.username.data or "",
                                 display_name=form.display_name.data or "",
                                 unit_id=form.unit.data or "", role=Role(form.role.data),
                                 by=signed_in().user.id, email=form.email.data or None)
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
        password = reset_password(current_unit().session, services.config, username, by=by)
        flash(_("New one-time password for %(username)s (shown once): %(password)s",
                username=username, password=password))
    return redirect(url_for("admin.users"))


def set_email_view(username: str) -> Response:
    """Set or clear a person's e-mail address (deadline reminders only)."""
    form = EmailForm()
    if not form.validate_on_submit():
        raise refusal(_l("the form was incomplete or too long; nothing was changed"))
    set_email(current_unit().session, username, form.email.data, by=signed_in().user.id)
    flash(_("The e-mail address of %(username)s was saved.", username=username))
    return redirect(url_for("admin.users"))


@bp.get("/directory")
def directory() -> str:
    """Who the next exported recipient directory will list."""
    summary = directory_summary(current_unit().session)
    return render_template("admin_directory.html", summary=summary)


bp.add_url_rule("/users", endpoint="create_user", view_func=create_user_view,
                methods=["POST"])
bp.add_url_rule("/users/<username>/reset", endpoint="reset_password",
                view_func=reset_password_view, methods=["POST"])
bp.add_url_rule("/users/<username>/email", endpoint="set_email", view_func=set_email_view,
                methods=["POST"])
