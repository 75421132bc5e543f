"""Conflicts of interest: a reader steps off a case, and the case is rekeyed without them.

Declaring (:func:`declare_conflict`) refuses the declarer at once: the access check
(``case_view.readable_case``) turns away anyone with a :class:`Conflict` row on the case.
That alone is not revocation: their key still opens every content key sealed to it, and
they may have kept content keys. So the next reader who can decrypt **rekeys** the case
(:func:`rekey_case`, run when they open it, from the "rekey now" button, or from
``flask --app casework cases rekey-pending``): every envelope whose header holds a key of
a declarer is re-encrypted under a fresh content key (``crypto.rekey``), to the same
recipients minus the declarers. See docs/conflicts.md for what this does and does not
protect against.

Decisions, each for a reason:

* **Who is sealed to again.** Only keys the case may be proven to have: the users whose
  key ids are in the *report's* header, checked against its reader tag under the old
  report key (a key id someone appended to the database is not turned into a real
  entry), the escrow key of casework.json, and the tipster key (itself covered by the
  tag) for the items casework sealed to the tipster (replies, status updates). Each
  envelope keeps only the recipients it had: nobody gains an item by a rekey.
* **Unknown key ids are dropped.** A key id no user (current or approved key), no escrow
  and no tipster key matches cannot be sealed to (a key id is a hash), and it may be a
  declarer's previous key: an envelope holding one is rekeyed too. A reader whose old key
  is dropped this way keeps their ``case_readers`` row; key recovery with the escrow key
  gives them the case back.
* **Identity envelopes are left alone.** They are in custody (crypto/FORMAT.md): the
  outer layer is sealed to the custodians and escrow, the inner one (inside the outer
  body) to the readers intake sealed the report to. The rekeying reader holds no outer
  key, so cannot rekey either layer, and need not: a declarer who was never released
  holds an inner entry only, which opens nothing without the outer layer; one a
  custodian released has had the identity, and no new content key takes back what was
  read (the plaintext never changes). A custodian who declares keeps their outer entry
  (they still hold no inner one); ``casework.identity`` refuses them as the approver
  of a request on that case (threat-model.md, "Identities under four eyes").
* **All or nothing.** If the rekeying reader cannot open one of the envelopes to rekey
  (e.g. an item sealed before they became a reader), or a body fails authentication,
  nothing changes (409) and the conflict stays pending for another reader.
* **Bodies.** New bodies are written to ``incoming/`` first, then moved in under the name
  of the envelope's next generation (``CaseEnvelope.body_name``) inside the transaction
  (removed again if it rolls back); the old bodies are deleted only once it has
  committed (``common.storage.delete_after_commit``). A crash in between leaves an
  unnamed body, which start-up sweeps.
* **Races.** A rekey first takes the case as every change to its readers does
  (``assignment.hold_case``: the case's row lock on PostgreSQL, the write lock on
  SQLite), then reads the conflicts and headers. An assignment or escalation at the same
  time therefore runs wholly before it (the rekey keeps the entry it added, and drops a
  declarer it re-added) or wholly after it (it adds to the new headers); it can never
  write headers the rekey then overwrites, or the reverse. The pending conflicts are
  still claimed with a conditional update and the envelopes compared with what was
  re-encrypted; a rekey that lost a race anyway changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

import crypto
from common.contract import EnvelopeKind
from common.storage import commit_in_transaction, delete_after_commit
from common.unit_of_work import emit_on

from .assignment import hold_case
from .case_view import ensure_reader_tag, readable_case, refusal
from .errors import CaseworkError, NotPermitted
from .events import CaseRekeyed, ConflictDeclared
from .identity_conflicts import custody_envelope_ids, withdraw_for_conflict
from .models import Case, CaseEnvelope, Conflict, User
from .models.base import utcnow
from .models.cases import CaseReader
from .readers import (
    ReadersTampered,
    check_tag,
    reader_keys,
    report_content_key,
    report_envelope,
    retag,
)
from .reasons import seal_reason
from .services import Casework

log = logging.getLogger("lykta.casework.conflicts")

# Items casework seals to the tipster as well (a reply, a status update): the only ones
# whose new header keeps the tipster key.
TIPSTER_KINDS = frozenset({EnvelopeKind.MESSAGE.value, EnvelopeKind.STATUS.value})


class CannotRekey(CaseworkError):
    """The reader cannot open every envelope that needs rekeying: nothing changed."""

    status = 409
    title = _l("You cannot rekey this case")
    explanation = _l("Some items of this case are not sealed to your key, so you cannot "
                     "re-encrypt them. Nothing was changed; another reader of the case "
                     "must rekey it.")


class RekeyRefused(CaseworkError):
    """An envelope failed its integrity check while being re-encrypted: nothing changed."""

    status = 409
    title = _l("The case was not rekeyed")
    explanation = _l("An encrypted item of this case is damaged or missing, so it cannot be "
                     "re-encrypted. Nothing was changed. Tell the security officer.")


class RekeyRaced(CaseworkError):
    """The case changed while it was being rekeyed: nothing changed."""

    status = 409
    title = _l("The case changed meanwhile")
    explanation = _l("Someone changed this case while it was being rekeyed. Nothing was "
                     "changed; open the case again.")


@dataclass(frozen=True)
class Rekeyed:
    """What a rekey did: envelopes re-encrypted, people removed, unknown key ids dropped."""

    envelopes: int
    removed: int
    dropped: int


# --- declaring ------------------------------------------------------------------------


def declare_conflict(casework: Casework, session: Session, user: User,
                     key: crypto.PrivateKey | None, case_id: str, reason_text: str) -> str:
    """``user``, a reader of the case, declares a conflict of interest; the Conflict id.

    The reason's free text is sealed to the case's other readers (and escrow), never to
    the declarer: they lose access now, so an item they could open would be one more to
    rekey. A second declaration is refused by the access check like any other access.
    """
    case = readable_case(session, user, key, case_id)
    content_key = report_content_key(case, key)
    ensure_reader_tag(casework, session, case, content_key)
    own = _key_ids_of([user])
    others = [k for k in reader_keys(session, casework.config, case, content_key)
              if k.key_id not in own]
    if reason_text.strip() and not others:
        raise refusal(_l("no one else reads this case, so no one could read your reason: "
                         "leave it empty"))
    reason_id = seal_reason(casework, session, case, author_id=user.id, readers=others,
                            text=reason_text) if others else None
    conflict = Conflict(case_id=case.id, user_id=user.id, reason_envelope_id=reason_id)
    session.add(conflict)
    session.flush()
    withdraw_for_conflict(session, case.id, user.id)
    emit_on(session, ConflictDeclared(case.id, user.id))
    return conflict.id


def has_pending_rekey(session: Session, case_id: str) -> bool:
    """True while a declared conflict on the case waits for its rekey."""
    return bool(session.scalar(select(exists().where(Conflict.case_id == case_id,
                                                     Conflict.rekeyed_at.is_(None)))))


# --- rekeying -------------------------------------------------------------------------


def _key_ids_of(people: Iterable[User]) -> set[bytes]:
    """Every key id a person may appear under: their key and their published one."""
    return {crypto.key_id_of(raw) for person in people
            for raw in (person.public_key, person.approved_public_key) if raw is not None}


def _known_keys(session: Session, allowed_ids: set[bytes]) -> dict[bytes, crypto.PublicKey]:
    """The public keys of users, by key id, among ``allowed_ids``."""
    found: dict[bytes, crypto.PublicKey] = {}
    for person in session.scalars(select(User).where(User.public_key.is_not(None))):
        for raw in (person.public_key, person.approved_public_key):
            if raw is not None and crypto.key_id_of(raw) in allowed_ids:
                found[crypto.key_id_of(raw)] = crypto.PublicKey(raw)
    return found


@dataclass(frozen=True)
class _Plan:
    """One envelope to rekey: its state when read, and its new recipients."""

    envelope: CaseEnvelope
    generation: int
    header: bytes
    recipients: list[crypto.PublicKey]
    dropped: int


@dataclass(frozen=True)
class _Suspects:
    """Which key ids make an envelope need a rekey: a declarer's, or one no one owns."""

    declarers: set[bytes]
    attributable: set[bytes]
    # Envelopes of identity requests, sealed to custodians and a requester: left alone
    # like the identity (casework.identity_conflicts).
    custody: set[str]

    def in_header(self, envelope_id: str, kind: str, header: bytes) -> bool:
        if kind == EnvelopeKind.IDENTITY or envelope_id in self.custody:
            return False  # sealed to the custodians: see the module's docstring
        ids = set(crypto.header_key_ids(header))
        # A key id no user, escrow or tipster key matches may be a declarer's previous key.
        return bool(ids & self.declarers or ids - self.attributable)


def _suspects(casework: Casework, session: Session, case: Case,
              declarers: list[User]) -> _Suspects:
    owned = {crypto.key_id_of(raw) for person in session.scalars(select(User))
             for raw in (person.public_key, person.approved_public_key) if raw is not None}
    owned.add(crypto.key_id_of(case.tipster_public_key))
    if casework.config.escrow_public_key is not None:
        owned.add(crypto.key_id_of(casework.config.escrow_public_key))
    return _Suspects(_key_ids_of(declarers), owned, custody_envelope_ids(session, case.id))


def _plan(casework: Casework, session: Session, case: Case, suspects: _Suspects,
          key: crypto.PrivateKey) -> list[_Plan]:
    """The envelopes holding a declarer's (or an unknown) key, and whom each is sealed to
    again."""
    declarer_ids = suspects.declarers
    report = report_envelope(case)
    assert report is not None  # noqa: S101 (readable_case refuses a case without one)
    # The report's reader list was checked against its tag by the caller: only its keys
    # (minus the declarers) may be sealed to again.
    readers = _known_keys(session, set(crypto.header_key_ids(report.header)) - declarer_ids)
    extra: dict[bytes, crypto.PublicKey] = {}
    if casework.config.escrow_public_key is not None:
        escrow = crypto.PublicKey(casework.config.escrow_public_key)
        extra[escrow.key_id] = escrow
    tipster = crypto.PublicKey(case.tipster_public_key)
    plans = []
    for envelope in case.envelopes:
        ids = crypto.header_key_ids(envelope.header)
        if envelope.kind == EnvelopeKind.IDENTITY and declarer_ids.intersection(ids):
            log.warning("an identity envelope holds a declarer's key; left to the custodians")
        if not suspects.in_header(envelope.id, envelope.kind, envelope.header):
            continue
        try:
            crypto.open_content_key(envelope.header, key)
        except crypto.UnknownRecipient as exc:
            raise CannotRekey() from exc
        except crypto.DecryptionError as exc:
            raise RekeyRefused() from exc
        keep = {**readers, **extra}
        if envelope.origin == "casework" and envelope.kind in TIPSTER_KINDS:
            keep[tipster.key_id] = tipster
        recipients = [keep[i] for i in dict.fromkeys(ids) if i in keep]
        dropped = len({i for i in ids if i not in keep} - declarer_ids)
        plans.append(_Plan(envelope, envelope.generation, envelope.header, recipients,
                           dropped))
    return plans


def _reencrypt(casework: Casework, plans: list[_Plan],
               key: crypto.PrivateKey) -> list[tuple[Path, crypto.SealedEnvelope]]:
    """Write every new body to ``incoming/``; on any failure remove them all and refuse.

    Streamed: ``crypto.rekey`` holds one chunk of plaintext at a time, whatever the size.
    """
    store = casework.store
    incoming: list[Path] = []
    sealed: list[crypto.SealedEnvelope] = []
    try:
        for plan in plans:
            path, out = store.new_incoming()
            incoming.append(path)
            with out, store.open(plan.envelope.body_name) as body:
                sealed.append(crypto.rekey(plan.header, body, out, key, plan.recipients))
            if sealed[-1].envelope_id.hex() != plan.envelope.id:
                raise crypto.TamperedEnvelope("the header names another envelope")
    except BaseException as exc:
        _discard(casework, incoming)
        if isinstance(exc, crypto.CryptoError | FileNotFoundError):
            # Only the type: nothing of the envelope is worth a log line.
            log.warning("a rekey was refused: %s", type(exc).__name__)
            raise RekeyRefused() from exc
        raise
    return list(zip(incoming, sealed, strict=True))


def _discard(casework: Casework, incoming: Iterable[Path]) -> None:
    for path in incoming:
        casework.store.discard(path)


def _claim(session: Session, user: User, conflicts: list[Conflict], case: Case,
           plans: list[_Plan], suspects: _Suspects) -> dt.datetime | None:
    """Mark the conflicts rekeyed, if no one else did; None when someone already had.

    The conditional update takes the write lock (SQLite) or the rows' locks
    (PostgreSQL); a concurrent rekey waits here, then finds nothing left to claim. Under
    the claim, the envelopes must still be exactly what was re-encrypted.
    """
    ids = [c.id for c in conflicts]
    now = utcnow()
    claimed = session.connection().execute(
        update(Conflict).where(Conflict.id.in_(ids), Conflict.rekeyed_at.is_(None))
        .values(rekeyed_at=now, rekeyed_by=user.id)).rowcount
    if claimed == 0:
        return None
    fresh = session.connection().execute(
        select(CaseEnvelope.id, CaseEnvelope.generation, CaseEnvelope.header, CaseEnvelope.kind)
        .where(CaseEnvelope.case_id == case.id)).all()
    now_targets = {row.id: (row.generation, row.header) for row in fresh
                   if suspects.in_header(row.id, row.kind, row.header)}
    planned = {p.envelope.id: (p.generation, p.header) for p in plans}
    if claimed != len(ids) or now_targets != planned:
        session.connection().execute(
            update(Conflict).where(Conflict.id.in_(ids), Conflict.rekeyed_by == user.id,
                                   Conflict.rekeyed_at == now)
            .values(rekeyed_at=None, rekeyed_by=None))
        raise RekeyRaced()
    return now


def rekey_case(casework: Casework, session: Session, user: User,
               key: crypto.PrivateKey | None, case_id: str) -> Rekeyed | None:
    """Rekey the case without every declarer of a conflict on it; None if none is pending.

    ``user`` must be a reader of the case (a declarer is refused by the access check).
    Raises :class:`CannotRekey`, :class:`RekeyRefused`, :class:`RekeyRaced` or
    ``ReadersTampered`` (all 409) having changed nothing.
    """
    case = readable_case(session, user, key, case_id)
    assert key is not None  # noqa: S101 (readable_case refuses a missing key)
    # Before anything is read for the rekey: a change to the readers (assignment,
    # escalation, handover) in progress finishes first, and one that starts now waits.
    # Re-reads the case and its headers once held (CaseBusy, 409, if the wait runs out).
    hold_case(session, case)
    pending = list(session.scalars(select(Conflict).where(Conflict.case_id == case.id,
                                                          Conflict.rekeyed_at.is_(None))))
    if not pending:
        return None
    # Every declarer, not only the pending ones: a declarer's key added back since (e.g.
    # by an assignment) goes out with this rekey too.
    declarers = list(session.scalars(select(User).where(User.id.in_(
        select(Conflict.user_id).where(Conflict.case_id == case.id)))))
    suspects = _suspects(casework, session, case, declarers)
    old_report_key = report_content_key(case, key)
    ensure_reader_tag(casework, session, case, old_report_key)
    check_tag(case, old_report_key)  # ReadersTampered: nothing is sealed to a forged list
    plans = _plan(casework, session, case, suspects, key)
    written = _reencrypt(casework, plans, key)
    try:
        claimed = _claim(session, user, pending, case, plans, suspects)
    except BaseException:
        _discard(casework, (incoming for incoming, _sealed in written))
        raise
    if claimed is None:  # another reader rekeyed it while this one re-encrypted
        _discard(casework, (incoming for incoming, _sealed in written))
        return None
    old_names = []
    for plan, (incoming, sealed) in zip(plans, written, strict=True):
        envelope = plan.envelope
        old_names.append(envelope.body_name)
        envelope.generation = plan.generation + 1
        envelope.header = sealed.header
        envelope.body_size = sealed.body_size
        commit_in_transaction(session, casework.store, incoming, envelope.body_name)
    delete_after_commit(session, casework.store, old_names)
    report = report_envelope(case)
    if report is not None and any(p.envelope is report for p in plans):
        # The tag is a MAC under the report's content key, which is new.
        retag(case, report_content_key(case, key))
    session.flush()  # case_readers follows the report header (casework.readers)
    # And whatever key a declarer had: their rows go, so the case leaves their inbox.
    session.execute(delete(CaseReader).where(CaseReader.case_id == case.id,
                                             CaseReader.user_id.in_([d.id for d in declarers])))
    for conflict in pending:
        session.expire(conflict)
    removed = len({c.user_id for c in pending})
    dropped = sum(p.dropped for p in plans)
    if dropped:
        log.warning("a rekey dropped %d key ids it could not attribute", dropped)
    emit_on(session, CaseRekeyed(case.id, user.id, len(plans), removed))
    return Rekeyed(len(plans), removed, dropped)


def rekey_on_open(casework: Casework, session: Session, user: User,
                  key: crypto.PrivateKey | None, case_id: str) -> None:
    """The automatic rekey when a reader opens a case with a pending conflict.

    Opening the case must not fail because a rekey cannot be done by this reader: every
    refusal below has changed nothing, so the page opens (the access check runs again)
    and the case stays flagged for the next reader.
    """
    if key is None or not has_pending_rekey(session, case_id):
        return
    try:
        rekey_case(casework, session, user, key, case_id)
    except (CannotRekey, RekeyRefused, RekeyRaced, ReadersTampered, NotPermitted):
        return


def rekey_pending_for(session: Session, user: User) -> list[str]:
    """Ids of the cases with a pending rekey that ``user`` reads (for the command line)."""
    # Readership narrows it; rekey_case checks access again, case by case.
    return list(session.scalars(
        select(Case.id).where(
            Case.id.in_(select(Conflict.case_id).where(Conflict.rekeyed_at.is_(None))),
            exists().where(CaseReader.case_id == Case.id, CaseReader.user_id == user.id),
            ~exists().where(Conflict.case_id == Case.id, Conflict.user_id == user.id))
        .order_by(Case.received_on, Case.id)))
