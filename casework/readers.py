"""Who can read a case, and to whom its new items may be sealed.

The report envelope's recipient header says who may read a case. Three rules keep that
list honest:

* ``case_readers`` (the table) follows the report header on every flush, so the inbox
  can filter by readership in SQL (a person the tipster left out never sees the case).
* Items that arrive later from intake are trimmed to the report's readers when stored:
  if intake sealed a follow-up to more people (e.g. to the whole unit because the
  original readers had left), the people the tipster excluded are not given it here.
* New notes and replies are sealed only to a list whose tag (``Case.readers_tag``, a MAC
  under the report's content key) verifies: write access to the database alone cannot
  add a reader by appending a key id to the header and a user row with a chosen key.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction, lazyload

import crypto
from common.contract import EnvelopeKind

from .config import CaseworkConfig
from .errors import CaseworkError, NotPermitted
from .models import Case, CaseEnvelope, Role, User
from .models.cases import CaseReader

log = logging.getLogger("lykta.casework.readers")
READING_ROLES = (Role.REVIEWER, Role.UNIT_LEAD)


class ReadersTampered(CaseworkError):
    """The case's reader list does not match its tag: nothing is sealed to it."""

    status = 409
    title = _l("The case's readers were changed outside casework")
    explanation = _l("Nothing was sealed. The list of people this case is sealed to does "
                     "not match its signature; tell the security officer.")


def report_envelope(case: Case) -> CaseEnvelope | None:
    """The case's report envelope (its header is the reference list of readers)."""
    return next((e for e in case.envelopes if e.kind == EnvelopeKind.REPORT), None)


@functools.lru_cache(maxsize=4096)
def _key_id_of(public_key: bytes) -> bytes:
    # A pure function of public bytes (a hash): safe to remember, and it spares a hash per
    # person per call, twice for every imported report.
    return crypto.key_id_of(public_key)


def _users_by_key_id(session: Session, key_ids: Iterable[bytes]) -> dict[bytes, User]:
    """The people whose current key has one of ``key_ids``, read fresh from the database.

    The whole directory is read as (id, key) columns only, and just the matches are loaded
    as users: a case has a handful of readers, the directory may hold hundreds of people,
    and this runs twice for every report the bridge imports (tests/bridge/test_import_cost.py).
    """
    wanted = set(key_ids)
    if not wanted:
        return {}
    keys: dict[str, bytes | None] = {user_id: key for user_id, key in session.execute(
        select(User.id, User.public_key).where(User.public_key.is_not(None)))}
    # A person already in this session counts with the key they have here (as when whole
    # users were read): a key rotated in this unit and not yet flushed is the current one.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, User) and obj.id in keys:
            keys[obj.id] = obj.public_key
    matched = {user_id: key_id for user_id, key in keys.items()
               if key is not None and (key_id := _key_id_of(key)) in wanted}
    if not matched:
        return {}
    # Memberships stay lazy: only the roles of a reader who is asked for them are read.
    people = session.scalars(select(User).where(User.id.in_(matched))
                             .options(lazyload(User.memberships)))
    return {matched[person.id]: person for person in people}


def case_readers(session: Session, case: Case) -> list[User]:
    """Current readers: the users whose key ids are in the report's recipient header."""
    report = report_envelope(case)
    if report is None:
        return []
    return list(_users_by_key_id(session, crypto.header_key_ids(report.header)).values())


# --- the case_readers table, kept in step with the report header --------------------


def _sync_readers(session: Session, case_id: str, old: bytes | None, new: bytes) -> None:
    """Add a row per user whose current key is in ``new``; drop those removed from it.

    Rows are only dropped for people whose key was in the old header and is not in the
    new one (a removal); someone whose key was rotated stays a reader until re-addressed.
    """
    new_ids = set(crypto.header_key_ids(new))
    old_ids = set(crypto.header_key_ids(old)) if old else set()
    users = _users_by_key_id(session, new_ids | old_ids)
    existing = {r.user_id: r for r in session.scalars(
        select(CaseReader).where(CaseReader.case_id == case_id))}
    pending = {(o.case_id, o.user_id) for o in session.new if isinstance(o, CaseReader)}
    # The row copies the case's received_on (the inbox's index); the case may be new in
    # this very flush, so it comes from the session, not from a query.
    case = session.get(Case, case_id)
    copied = {"received_on": case.received_on} if case is not None else {}
    for key_id, user in users.items():
        if key_id in new_ids:
            if user.id not in existing and (case_id, user.id) not in pending:
                session.add(CaseReader(case_id=case_id, user_id=user.id, **copied))
        elif user.id in existing:
            session.delete(existing[user.id])


def _trim_to_readers(session: Session, envelope: CaseEnvelope) -> None:
    """Drop header entries of an imported item for keys the report was not sealed to.

    Intake chooses the readers of a follow-up from the receipt's record; when they are
    gone it may seal to a whole unit, exclusions lost. Casework keeps only the entries of
    the report's readers (and the escrow key, which is never a user), so an excluded
    reviewer is not given the item through casework. Intake's own copy is intake's to fix.
    """
    case = session.get(Case, envelope.case_id)
    report = report_envelope(case) if case is not None else None
    if report is None or report is envelope:
        return
    allowed = set(crypto.header_key_ids(report.header))
    ids = crypto.header_key_ids(envelope.header)
    users = _users_by_key_id(session, ids)
    for key_id in ids:
        if key_id in users and key_id not in allowed:
            try:
                envelope.header = crypto.remove_recipient(envelope.header, key_id)
            except crypto.CryptoError:
                # It would leave no recipient at all: kept as it came, and said so.
                log.warning("an imported item is sealed only to non-readers; kept as it came")
                break
            log.warning("an imported item was sealed to a non-reader; entry removed")


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    """Keep ``case_readers`` and imported headers in step, on every path that writes."""
    with session.no_autoflush:
        for obj in list(session.new):
            # Not the identity: its outer layer is sealed to the custodians (and escrow),
            # who are not the report's readers; trimming it would leave only escrow.
            if isinstance(obj, CaseEnvelope) and obj.origin == "intake" \
                    and obj.kind not in (EnvelopeKind.REPORT, EnvelopeKind.IDENTITY):
                _trim_to_readers(session, obj)
        for obj in list(session.new) + list(session.dirty):
            if not isinstance(obj, CaseEnvelope) or obj.kind != "report":
                continue
            history = inspect(obj).attrs.header.history
            if obj in session.new:
                _sync_readers(session, obj.case_id, None, obj.header)
            elif history.has_changes():
                old = history.deleted[0] if history.deleted else None
                _sync_readers(session, obj.case_id, old, obj.header)


# --- the reader list's tag -----------------------------------------------------------


def _tagged_ids(case: Case, report: CaseEnvelope) -> list[bytes]:
    # The tipster key is in the list too: it sits in the case row, where an attacker with
    # the database could otherwise swap it for their own and be sealed every reply.
    return [*crypto.header_key_ids(report.header), crypto.key_id_of(case.tipster_public_key)]


def report_content_key(case: Case, key: crypto.PrivateKey | None) -> crypto.ContentKey:
    """Open the report's content key: the access check that decrypts nothing else."""
    report = report_envelope(case)
    if key is None or report is None:
        raise NotPermitted()
    try:
        return crypto.open_content_key(report.header, key)
    except crypto.UnknownRecipient as exc:
        # Left out by the tipster (conflict of interest) or removed after a declaration.
        raise NotPermitted() from exc


def establish_tag(session: Session, case: Case, content_key: crypto.ContentKey,
                  report: dict[str, Any]) -> None:
    """Tag the report's reader list the first time a reader opens the case.

    Trust on first use, narrowed: no key of the header may be one the tipster excluded
    (the sealed report says which), nor, when the report lists the readers intake sealed
    it to, one outside that list; else the list is refused rather than blessed. The
    import-time acknowledgement is the only item sealed before this. (Unit membership is
    not required: a reader may have moved units since, and the attacker this guards
    against can write membership rows as easily as headers.)
    """
    envelope = report_envelope(case)
    if envelope is None or case.readers_tag is not None:
        return
    excluded = {str(k) for k in report.get("excluded_key_ids", [])}
    # Intake may list the readers it sealed to inside the (authenticated) report; when
    # it does, a user key outside that list was added after sealing.
    listed = report.get("recipient_key_ids")
    sealed_to = {str(k) for k in listed} if isinstance(listed, list) else None
    for key_id in _users_by_key_id(session, crypto.header_key_ids(envelope.header)):
        if key_id.hex() in excluded or (sealed_to is not None and key_id.hex() not in sealed_to):
            log.warning("a case's reader list holds a key it may not hold; not tagged")
            raise ReadersTampered()
    case.readers_tag = crypto.recipient_list_tag(content_key, _tagged_ids(case, envelope))


def retag(case: Case, content_key: crypto.ContentKey) -> None:
    """Re-tag after a reader was legitimately added (by someone holding the content key)."""
    envelope = report_envelope(case)
    if envelope is not None:
        case.readers_tag = crypto.recipient_list_tag(content_key,
                                                     _tagged_ids(case, envelope))


def check_tag(case: Case, content_key: crypto.ContentKey | None) -> None:
    """Raise :class:`ReadersTampered` unless the reader list matches its tag under K.

    Anyone adding a reader with the content key in hand (an assignment, a key recovery
    with the escrow key) calls this before changing the header and ``retag`` after.
    """
    envelope = report_envelope(case)
    if case.readers_tag is None and content_key is None:
        return  # only the acknowledgement at import, before any reader opened the case
    if envelope is None or case.readers_tag is None or content_key is None \
            or not crypto.verify_recipient_list(content_key, _tagged_ids(case, envelope),
                                                case.readers_tag):
        # The case id only: nothing of its content.
        log.warning("reader list of case %s does not match its tag; nothing sealed", case.id)
        raise ReadersTampered()


def reader_keys(session: Session, config: CaseworkConfig, case: Case,
                content_key: crypto.ContentKey | None = None) -> list[crypto.PublicKey]:
    """Public keys to seal a new note or reply of ``case`` to: readers plus escrow.

    ``content_key`` is the report's, opened by the person sealing: the reader list must
    match its tag under it. Without it (only the automatic acknowledgement at import, when
    the case has no tag yet) the header's list is used as it came from intake. Only
    active people are sealed to; when every reader has gone, new items go to the escrow
    key (and the tipster, for replies), never to the rest of the unit.
    """
    check_tag(case, content_key)
    keys = [crypto.PublicKey(p.public_key) for p in case_readers(session, case)
            if p.public_key is not None and p.active]
    if config.escrow_public_key is not None:
        keys.append(crypto.PublicKey(config.escrow_public_key))
    return keys
