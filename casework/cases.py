"""Working a case: replying to the tipster, internal notes.

Reading a case is in ``case_view``, assigning one in ``assignment``, the inbox in
``inbox``; their public names are re-exported here for the views and the tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import bleach
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

import crypto
from common.contract import Author, DialogueMessage, EnvelopeKind
from common.unit_of_work import emit_on

from .assignment import assign, assignable, assignment_choices, excluded_key_ids
from .case_sections import build_sections
from .case_view import (
    ALLOWED_TAGS,
    MAX_SHOWN_BYTES,
    CaseView,
    clean_markup,
    ensure_reader_tag,
    open_case,
    plaintext_of,
    readable_case,
    refusal,
)
from .conflicts import rekey_on_open
from .events import FeedbackRecorded, NoteAdded, ReplySent
from .inbox import PAGE_SIZE, InboxFilters, InboxPage, inbox
from .models import Case, Role, Unit, User
from .readers import READING_ROLES, reader_keys, report_content_key
from .sealing import seal_item
from .services import Casework

__all__ = ["ALLOWED_TAGS", "MAX_SHOWN_BYTES", "MAX_TEXT", "PAGE_SIZE", "READING_ROLES",
           "CasePage", "CaseView", "InboxFilters", "InboxPage", "add_note", "assign",
           "assignable", "assignment_choices", "case_page", "clean_markup", "excluded_key_ids",
           "inbox", "open_case", "plaintext_of", "reply"]

MAX_TEXT = 20_000


@dataclass
class CasePage:
    """What the case page shows: the decrypted case, its unit, and (for a lead of the
    unit) whom it may be given to."""

    view: CaseView
    unit: Unit | None
    assignable: list[User] | None  # None: not a lead of the case's unit
    # What the page's further sections show (casework.case_sections), by name.
    sections: dict[str, Any]


def case_page(casework: Casework, session: Session, user: User,
              key: crypto.PrivateKey | None, case_id: str) -> CasePage:
    """Open a case for its page (see :func:`open_case`).

    A lead of the case's unit is offered the people it may be given to: never one the
    tipster left out of the report.
    """
    # A declared conflict is rekeyed by the next reader who opens the case (if they can).
    rekey_on_open(casework, session, user, key, case_id)
    view = open_case(casework, session, user, key, case_id)
    people = None
    if view.case.unit_id in user.units_with(Role.UNIT_LEAD):
        people = assignable(session, view.case, excluded_key_ids(view.report))
    return CasePage(view, session.get(Unit, view.case.unit_id), people,
                    build_sections(casework, session, user, key, view))


def _verified_recipients(casework: Casework, session: Session, user: User,
                         key: crypto.PrivateKey | None,
                         case_id: str) -> tuple[Case, list[crypto.PublicKey]]:
    """The access check for writing, and the authenticated list to seal to.

    Access is decided first, from the report's recipient header, without decrypting
    anything (:func:`readable_case`). Only then is the report's content key opened (and,
    the first time, the report itself for its exclusions), to verify the reader list's
    tag: sealing needs an authentic list, access does not need the content.
    """
    case = readable_case(session, user, key, case_id)
    content_key = report_content_key(case, key)
    ensure_reader_tag(casework, session, case, content_key)
    return case, reader_keys(session, casework.config, case, content_key)


def reply(casework: Casework, session: Session, user: User, key: crypto.PrivateKey | None,
          case_id: str, text: str, feedback: bool = False) -> str:
    """Seal a reply to the tipster (and the case's readers); it is pushed to intake.

    ``feedback`` marks the reply as the legal feedback to the tipster (EU 2019/1937 Art.
    9(1)(f)): the first such reply records the feedback date; every marked reply is
    recorded as an event. Only the reader decides what counts as feedback: a question
    back to the tipster does not.
    """
    case, readers = _verified_recipients(casework, session, user, key, case_id)
    # The tipster reads replies as plain text (intake escapes everything), so markup is
    # stripped here: what the reviewer sees in the dialogue is what the tipster gets.
    text = bleach.clean(text, tags=set(), attributes={}, strip=True).strip()
    if not text or len(text) > MAX_TEXT:
        raise refusal(_l("a reply needs between 1 and %(max)s characters", max=MAX_TEXT))
    # No name in the payload: the tipster's copy is the same envelope, and a stolen
    # receipt must not tell who handles the case. Readers see the author from the row.
    envelope_id = seal_item(casework, session, case, kind=EnvelopeKind.MESSAGE,
                            document=DialogueMessage(Author.REVIEWER, text).to_json(),
                            recipients=[crypto.PublicKey(case.tipster_public_key), *readers],
                            author_id=user.id, for_tipster=True)
    emit_on(session, ReplySent(case.id, envelope_id, user.id))
    if feedback:
        if case.feedback_on is None:
            case.feedback_on = dt.datetime.now(dt.UTC).date()
        emit_on(session, FeedbackRecorded(case.id, envelope_id, user.id))
    return envelope_id


def add_note(casework: Casework, session: Session, user: User, key: crypto.PrivateKey | None,
             case_id: str, text: str) -> str:
    """An internal note, sealed to the case's readers only (never to the tipster)."""
    case, readers = _verified_recipients(casework, session, user, key, case_id)
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise refusal(_l("a note needs between 1 and %(max)s characters", max=MAX_TEXT))
    envelope_id = seal_item(casework, session, case, kind=EnvelopeKind.NOTE,
                            document={"text": text}, recipients=readers, author_id=user.id,
                            for_tipster=False)
    emit_on(session, NoteAdded(case.id, envelope_id, user.id))
    return envelope_id
