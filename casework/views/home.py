"""The start page after sign-in: what this role can do."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..forms import ActionForm
from ..web import signed_in

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    """A role-aware start page."""
    person = signed_in()
    return render_template("home.html", user=person.user, has_key=person.key is not None,
                           form=ActionForm())
