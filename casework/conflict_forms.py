"""Forms of the conflict section (declaring a conflict of interest, rekeying a case), and
the case-page section builder that fills them."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

import crypto

from .case_view import CaseView
from .conflict_flags import ConflictRow, case_conflicts
from .models import User
from .reasons import MAX_REASON
from .services import Casework


class DeclareConflictForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """A reader declares a conflict of interest on the case they are reading."""

    confirm = BooleanField(
        _l("I have a conflict of interest in this case"),
        validators=[DataRequired(message=_l("Tick the box to confirm."))])
    reason = TextAreaField(
        _l("Reason (optional)"), validators=[Length(max=MAX_REASON)],
        description=_l("Sealed to the case's other readers; you will not be able to read "
                       "it yourself."))


class RekeyForm(FlaskForm):  # type: ignore[misc]  # FlaskForm is Any (pyproject.toml)
    """The "rekey now" button (carries the CSRF token)."""


@dataclass(frozen=True)
class ConflictSection:
    """The case page's conflict section: who declared, whether a rekey waits, the forms."""

    conflicts: list[ConflictRow]
    pending: bool
    declare_form: DeclareConflictForm
    rekey_form: RekeyForm


def build_section(_casework: Casework, session: Session, _user: User,
                  _key: crypto.PrivateKey | None, view: CaseView) -> ConflictSection:
    """For ``case_sections``. Only a reader gets the page (a declarer is refused before),
    so both forms are offered; the domain functions check again."""
    rows = case_conflicts(session, view.case.id)
    return ConflictSection(rows, any(r.rekeyed_at is None for r in rows),
                           DeclareConflictForm(prefix="conflict"), RekeyForm(prefix="rekey"))
