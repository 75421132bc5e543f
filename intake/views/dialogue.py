"""Signing in with the receipt, the dialogue, follow-up messages, signing out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

import crypto

from ..categories import CATEGORIES, OUTCOMES, STAGES
from ..dialogue import (
    MinutesFormInvalid,
    answer_minutes,
    load_dialogue,
    resume,
    send_message,
    sign_in,
    sign_out,
)
from ..errors import SessionExpired
from ..forms import (
    LoginForm,
    MessageForm,
    MinutesApprovalForm,
    MinutesCorrectionForm,
    SignOutForm,
)
from ..models import ReceiptRecord
from ..services import current
from .helpers import (
    SESSION_KEY,
    collect_uploads,
    current_session,
    remember_session,
    spool_key,
    work_session,
)

bp = Blueprint("dialogue", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    """Ask for the receipt code; open a session for it."""
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("login.html", form=form), 400 if form.is_submitted() else 200
    signed_in = sign_in(current(), form.receipt.data or "")
    remember_session(signed_in.session_id, signed_in.secret)
    return redirect(url_for("dialogue.show"))


def _signed_in() -> tuple[str, ReceiptRecord, crypto.PrivateKey]:
    intake = current()
    session_id, secret = current_session(intake.config.session_idle_seconds,
                                         intake.config.session_absolute_seconds)
    try:
        record, key = resume(intake, session_id, secret)
    except SessionExpired:
        session.pop(SESSION_KEY, None)
        raise
    return session_id, record, key


@bp.get("/dialogue")
def show() -> str:
    """Status, replies and the tipster's own messages."""
    intake = current()
    _, record, key = _signed_in()
    dialogue = load_dialogue(work_session(), intake.store, record, key)
    return render_template("dialogue.html", dialogue=dialogue, stages=STAGES, outcomes=OUTCOMES,
                           categories=CATEGORIES, form=MessageForm(),
                           sign_out_form=SignOutForm(), **_minutes_forms(),
                           max_file_mb=intake.config.max_file_bytes // (1024 * 1024))


@bp.post("/dialogue/message")
def message() -> Response | tuple[str, int]:
    """Send a follow-up message with files."""
    intake = current()
    _, record, key = _signed_in()
    form = MessageForm()
    if not form.validate_on_submit():
        dialogue = load_dialogue(work_session(), intake.store, record, key)
        return render_template("dialogue.html", dialogue=dialogue, stages=STAGES, outcomes=OUTCOMES,
                               categories=CATEGORIES, form=form,
                               sign_out_form=SignOutForm(), **_minutes_forms(),
                               max_file_mb=intake.config.max_file_bytes // (1024 * 1024)), 400
    send_message(intake, work_session(), record, form.text.data or "",
                 collect_uploads("files"), spool_key())
    flash(_l("Your message was sent."))
    return redirect(url_for("dialogue.show"))


def _minutes_forms(approve: MinutesApprovalForm | None = None,
                   correct: MinutesCorrectionForm | None = None) -> dict[str, Any]:
    # Prefixed: both forms sit on the dialogue page beside the message form.
    return {"approve_form": approve or MinutesApprovalForm(prefix="approve"),
            "correct_form": correct or MinutesCorrectionForm(prefix="correct")}


@bp.post("/dialogue/minutes/approve")
def approve_minutes() -> Response:
    """The reporter approves the newest minutes of their oral report."""
    intake = current()
    _, record, key = _signed_in()
    form = MinutesApprovalForm(prefix="approve")
    if not form.validate_on_submit():
        raise MinutesFormInvalid()
    answer_minutes(intake, work_session(), record, key, form.minutes.data or "",
                   approved=True)
    flash(_l("You approved the minutes. The case handlers are told at the next update."))
    return redirect(url_for("dialogue.show"))


@bp.post("/dialogue/minutes/correct")
def correct_minutes() -> Response | tuple[str, int]:
    """The reporter sends corrections to the newest minutes."""
    intake = current()
    _, record, key = _signed_in()
    form = MinutesCorrectionForm(prefix="correct")
    if not form.validate_on_submit():
        if form.minutes.errors or form.csrf_token.errors:
            raise MinutesFormInvalid()
        dialogue = load_dialogue(work_session(), intake.store, record, key)
        return render_template("dialogue.html", dialogue=dialogue, stages=STAGES,
                               outcomes=OUTCOMES, categories=CATEGORIES, form=MessageForm(),
                               sign_out_form=SignOutForm(), **_minutes_forms(correct=form),
                               max_file_mb=intake.config.max_file_bytes // (1024 * 1024)), 400
    answer_minutes(intake, work_session(), record, key, form.minutes.data or "",
                   approved=False, corrections=form.corrections.data or "")
    flash(_l("Your corrections were sent. The case handlers may send new minutes."))
    return redirect(url_for("dialogue.show"))


@bp.post("/logout")
def logout() -> Response:
    """Sign out: the server half of the session is destroyed."""
    form = SignOutForm()
    data = session.get(SESSION_KEY)
    if form.validate_on_submit() and isinstance(data, dict) and "id" in data:
        sign_out(current(), str(data["id"]))
    session.clear()
    flash(_l("You are signed out."))
    return redirect(url_for("dialogue.login"))
