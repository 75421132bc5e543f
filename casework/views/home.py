"""The start page after sign-in: what this role can do."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..bridge import last_success, sync_is_stale
from ..forms import ActionForm
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """A role-aware start page."""
    person = signed_in()
    services = current()
    session = current_unit().session
    return render_template("home.html", user=person.user, has_key=person.key is not None,
                           form=ActionForm(), sync_last=last_success(session),
                           sync_stale=sync_is_stale(services, session))
