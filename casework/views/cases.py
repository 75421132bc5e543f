"""The inbox, the case page, replies, notes and attachments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from ..case_view import refusal
from ..cases import (
    add_note,
    assign,
    assignment_choices,
    case_page,
    inbox,
    plaintext_of,
    reply,
)
from ..forms import ActionForm, AssignForm, NoteForm, ReplyForm
from ..inbox import Overdue
from ..models import Priority, Stage
from ..retention import purged_page
from ..services import current, current_unit
from ..web import signed_in

bp = Blueprint("cases", __name__, url_prefix="/cases")
TextAction = Callable[..., str]


INBOX_ARGS = ("unit", "stage", "assignee", "overdue", "priority", "label", "mine", "sort",
              "after")
MAX_INBOX_QUERY = 2048  # bytes of query string: far above any link the inbox makes


@bp.get("/")
def index() -> str:
    """The inbox of the cases the person reads, filtered (casework.inbox)."""
    person = signed_in()
    db = current_unit().session
    # Oversized or ambiguous (a filter given twice) query strings are refused, not guessed.
    if len(request.query_string) > MAX_INBOX_QUERY \
            or any(len(request.args.getlist(name)) > 1 for name in INBOX_ARGS):
        raise refusal(_l("the inbox's filters are not valid"))
    args = {name: request.args.get(name) or None for name in INBOX_ARGS}
    page = inbox(db, person.user, unit=args["unit"], stage=args["stage"],
                 assignee=args["assignee"], overdue=args["overdue"],
                 priority=args["priority"], label=args["label"], mine=args["mine"] or "",
                 sort=args["sort"], cursor=args["after"])
    return render_template("inbox.html", page=page, stages=[s.value for s in Stage],
                           priorities=[p.value for p in Priority],
                           overdue_kinds=[o.value for o in Overdue],
                           units=page.units, unit_rows=page.unit_rows, args=request.args)


@bp.get("/<case_id>")
def show(case_id: str) -> str:
    """A decrypted case: report, files, dialogue, notes."""
    person = signed_in()
    # A purged case's row stays: its former readers see that (and when) it was purged.
    purged = purged_page(current(), current_unit().session, person.user, case_id)
    if purged is not None:
        return render_template("case_purged.html", case=purged.case, unit=purged.unit,
                               sections={"timeline": purged.timeline})
    page = case_page(current(), current_unit().session, person.user, person.key, case_id)
    assign_form = None
    if page.assignable is not None:
        assign_form = AssignForm()
        assign_form.person.choices = [SelectChoice(p.id, p.display_name)
                                      for p in page.assignable]
    # Prefixes keep the two text areas' ids (and labels) apart on one page.
    return render_template("case.html", view=page.view, reply_form=ReplyForm(prefix="reply"),
                           note_form=NoteForm(prefix="note"), action=ActionForm(),
                           assign_form=assign_form, unit=page.unit,
                           sections=page.sections)


def assign_view(case_id: str) -> Response:
    """A unit lead gives the case to a person of the unit."""
    form = AssignForm()
    person = signed_in()
    services = current()
    db = current_unit().session
    lead = person.user
    # The same exclusions as the page offered (the domain function checks again).
    form.person.choices = [SelectChoice(p.id, p.display_name) for p in
                           assignment_choices(services, db, lead, person.key, case_id)]
    if form.validate_on_submit():
        changed = assign(services, db, lead, person.key, case_id, form.person.data or "")
        flash(_("Assigned. Their key was added to %(count)s envelopes; nothing was "
                "re-encrypted.", count=changed))
    else:
        flash(_("Choose a person of the unit."))
    return redirect(url_for("cases.show", case_id=case_id))


def _post_text(case_id: str, form: ReplyForm | NoteForm, action: TextAction,
               saved: str, refused: str) -> Response:
    """Validate a one-field text form, run ``action`` on it, say what happened."""
    person = signed_in()
    services = current()
    if form.validate_on_submit():
        action(services, current_unit().session, person.user, person.key, case_id,
               form.text.data or "")
        flash(saved)
    else:
        flash(refused)
    return redirect(url_for("cases.show", case_id=case_id))


def reply_view(case_id: str) -> Response:
    """Send a reply to the tipster (sealed to their key, pushed to intake); marked as the
    legal feedback if the reader ticked the box."""
    form = ReplyForm(prefix="reply")
    return _post_text(case_id, form, partial(reply, feedback=bool(form.feedback.data)),
                      _("Reply sealed for the tipster. It reaches them at the next sync."),
                      _("The reply was empty or too long; nothing was sent."))


def note_view(case_id: str) -> Response:
    """Add an internal note (never shown to the tipster)."""
    return _post_text(case_id, NoteForm(prefix="note"), add_note,
                      _("Note saved (encrypted to the case's readers)."),
                      _("The note was empty or too long; nothing was saved."))


# A scrubbed copy needs the whole file in memory (the scrubbers parse it); larger files
# are offered as sent only, streamed.
MAX_SCRUB_BYTES = 64 * 1024 * 1024


@bp.get("/<case_id>/files/<envelope_id>")
def download(case_id: str, envelope_id: str) -> Response:
    """Download an attachment (or a message too large to show) as sent, streamed, or as
    a metadata-scrubbed copy."""
    person = signed_in()
    services = current()
    pieces, entry = plaintext_of(services, current_unit().session, person.user, person.key,
                                 case_id, envelope_id)
    filename = str(entry.get("filename") or "attachment")
    content_type = "application/octet-stream"
    body: Iterator[bytes] | bytes = pieces
    if request.args.get("scrubbed") == "1":
        from ..scrub import CannotScrub, scrub

        data = bytearray()
        for piece in pieces:
            data += piece
            if len(data) > MAX_SCRUB_BYTES:
                flash(_("No scrubbed copy: the file is too large. Download it as sent."))
                return redirect(url_for("cases.show", case_id=case_id))
        try:
            body, filename = scrub(bytes(data), filename)
        except CannotScrub as exc:
            flash(_("No scrubbed copy: %(reason)s", reason=str(exc)))
            return redirect(url_for("cases.show", case_id=case_id))
    # A generator body is streamed chunk by chunk (each authenticated before it is sent).
    response = Response(body, mimetype=content_type)
    # Always a download, never rendered: an attached HTML file must not run in our origin.
    response.headers["Content-Disposition"] = _attachment_header(filename)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _attachment_header(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                         for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


bp.add_url_rule("/<case_id>/reply", endpoint="reply", view_func=reply_view, methods=["POST"])
bp.add_url_rule("/<case_id>/notes", endpoint="note", view_func=note_view, methods=["POST"])
bp.add_url_rule("/<case_id>/assign", endpoint="assign", view_func=assign_view,
                methods=["POST"])
