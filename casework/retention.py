"""Retention (Act 2021:890): a concluded case's content is purged when its period is over.

The rule: content and personal data of a case are removed at the latest two years after
the case concludes (``config.retention_days``, at most 730); a unit may set a shorter
period (``Unit.retention_days``). A legal hold, placed by a lead of the case's unit with a
reason, pauses the purge until lifted. See docs/retention.md.

Decisions, each for a reason:

* **When a case concludes.** The day it was last concluded (``Case.concluded_on``; a
  reopened case starts over). A duplicate merged into another case is never concluded
  itself: it follows its primary (the primary's ``concluded_on``, the duplicate's own
  unit's period).
* **What goes.** Every ``CaseEnvelope`` row of the case, of every kind (report, files,
  identity, dialogue, notes, reasons): header and body. The header holds the wrapped
  content keys, so once it is gone a stray copy of a body is noise to anyone. Bodies are
  deleted from the store only after the commit (``common.storage.delete_after_commit``): a
  rollback keeps a whole case, never half of one. The reader tag (a MAC over a header that
  is gone) and the assignments (nothing is left to work on) go too; the tipster's dialogue
  at intake goes through the bridge (``casework.bridge.commands.forget_dialogue``).
* **What stays.** The case row and every row of codes, ids and dates (stage changes,
  escalations, conflicts, extensions, holds, identity requests, ``case_readers``): the
  statistics and the timeline need them, and the pointers they hold name envelopes that
  no longer exist. ``case_readers`` stays so that only the case's former readers see the
  purged case's page (reference and dates). The audit log is never touched: its chain
  still verifies.
* **The archive copy.** With ``archive_path`` set, the case's envelopes are copied there
  first, still sealed, with a manifest of ids, kinds and dates: reports are official
  records, and the authority's archiving rules (arkivlagen, its gallringsbeslut) may say
  they are kept. A failure to write the copy purges nothing.
* **Races.** The purge claims the case with a conditional update of ``purged_on``; a
  second purge of the same case finds it claimed and does nothing. A hold is checked
  again after the claim, and placing a hold locks the case row first, so a hold and a
  purge at once end with one of them refused, never with a held case purged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, and_, delete, exists, false, or_, select, update
from sqlalchemy.orm import Session, aliased

import crypto
from common.contract import Stage
from common.storage import delete_after_commit
from common.unit_of_work import emit_on

from .bridge.commands import forget_dialogue
from .case_view import ensure_reader_tag, readable_case, refusal
from .config import MAX_RETENTION_DAYS, CaseworkConfig
from .errors import CaseworkError, NotPermitted
from .events import (
    CasePurged,
    LegalHoldLifted,
    LegalHoldPlaced,
    RetentionChanged,
    RetentionReviewed,
)
from .models import (
    Assignment,
    Case,
    CaseEnvelope,
    Conflict,
    Escalation,
    HoldReasonCode,
    LegalHold,
    Role,
    Unit,
    User,
)
from .models.base import utcnow
from .models.cases import CaseReader
from .readers import READING_ROLES, reader_keys, report_content_key
from .reasons import MAX_REASON, seal_reason
from .retention_archive import archive_case
from .services import Casework


class NotDue(CaseworkError):
    """The case is not concluded, or its retention period is not over."""

    status = 409
    title = _l("The case is not due for purging")
    explanation = _l("Only a concluded case whose retention period is over is purged. "
                     "Nothing was changed.")


class OnHold(CaseworkError):
    """A legal hold pauses the purge."""

    status = 409
    title = _l("The case is under a legal hold")
    explanation = _l("A legal hold pauses the purge of this case. Nothing was changed; "
                     "a unit lead lifts the hold when its reason is gone.")


class HoldLifted(CaseworkError):
    """The hold was lifted already."""

    status = 409
    title = _l("The hold was lifted already")
    explanation = _l("Someone lifted this hold before you. Nothing was changed.")


class AlreadyPurged(CaseworkError):
    """The case's content was purged: nothing is left to hold."""

    status = 409
    title = _l("The case was purged")
    explanation = _l("Its content is gone; nothing was changed.")


# --- what is due --------------------------------------------------------------------


@dataclass(frozen=True)
class DueCase:
    """A case in the retention list: ids, reference and dates only."""

    case_id: str
    reference: str
    unit_id: str
    concluded_on: dt.date
    due_on: dt.date
    held: bool


@dataclass(frozen=True)
class DueList:
    """The dry run: cases due for purging, and the due ones a hold pauses."""

    due: list[DueCase]
    held: list[DueCase]


def period_of(unit: Unit | None, config: CaseworkConfig) -> int:
    """The unit's retention period in days (the instance's when it sets none)."""
    days = unit.retention_days if unit is not None else None
    # Never longer than the law allows, whatever a row says.
    return min(days or config.retention_days, config.retention_days, MAX_RETENTION_DAYS)


def _held_ids(session: Session, case_ids: Iterable[str]) -> set[str]:
    ids = list(case_ids)
    if not ids:
        return set()
    return set(session.scalars(select(LegalHold.case_id).where(
        LegalHold.case_id.in_(ids), LegalHold.lifted_at.is_(None))))


def _candidates(session: Session, config: CaseworkConfig, today: dt.date,
                units: frozenset[str] | None) -> list[DueCase]:
    """Concluded (or merged into a concluded case), not purged, past the unit's period."""
    primary = aliased(Case)
    concluded = Case.stage == Stage.CONCLUDED.value
    # Per unit: concluded on or before today minus the unit's period. Units are few.
    per_unit = []
    periods: dict[str, int] = {}
    for unit in session.scalars(select(Unit)):
        if units is not None and unit.id not in units:
            continue
        periods[unit.id] = period_of(unit, config)
        cutoff = today - dt.timedelta(days=periods[unit.id])
        per_unit.append(and_(Case.unit_id == unit.id, or_(
            and_(concluded, Case.concluded_on <= cutoff),
            and_(Case.merged_into_id.is_not(None), ~concluded,
                 primary.stage == Stage.CONCLUDED.value, primary.concluded_on <= cutoff))))
    if not per_unit:
        return []
    rows = session.execute(
        select(Case.id, Case.reference, Case.unit_id, Case.concluded_on, Case.stage,
               primary.concluded_on)
        .outerjoin(primary, primary.id == Case.merged_into_id)
        .where(Case.purged_on.is_(None), or_(false(), *per_unit))
        .order_by(Case.unit_id, Case.reference)).all()
    found = []
    for case_id, reference, unit_id, own, stage, primary_on in rows:
        on = own if stage == Stage.CONCLUDED.value and own is not None else primary_on
        if on is None:
            continue  # the query's conditions exclude it; for the type checker
        found.append(DueCase(case_id, reference, unit_id, on,
                             on + dt.timedelta(days=periods[unit_id]), held=False))
    return found


def due_for_purge(session: Session, config: CaseworkConfig, today: dt.date,
                  units: frozenset[str] | None = None) -> DueList:
    """The concluded cases whose period is over and that are not purged (``due``), and
    those of them a legal hold pauses (``held``); ``units`` narrows to those units."""
    found = _candidates(session, config, today, units)
    held = _held_ids(session, (c.case_id for c in found))
    return DueList(due=[c for c in found if c.case_id not in held],
                   held=[DueCase(c.case_id, c.reference, c.unit_id, c.concluded_on, c.due_on,
                                 held=True) for c in found if c.case_id in held])


def review(session: Session, config: CaseworkConfig, today: dt.date) -> DueList:
    """The dry run of the purge job, recorded in the audit log (counts only)."""
    listed = due_for_purge(session, config, today)
    emit_on(session, RetentionReviewed(due=len(listed.due) + len(listed.held),
                                       held=len(listed.held)))
    return listed


def purge_date(session: Session, config: CaseworkConfig, case: Case) -> dt.date | None:
    """The day the case's content becomes due for purging; None while it is open."""
    concluded: dt.date | None = None
    if case.stage == Stage.CONCLUDED.value:
        concluded = case.concluded_on
    elif case.merged_into_id is not None:
        primary = session.get(Case, case.merged_into_id)
        if primary is not None and primary.stage == Stage.CONCLUDED.value:
            concluded = primary.concluded_on
    if concluded is None:
        return None
    return concluded + dt.timedelta(days=period_of(session.get(Unit, case.unit_id), config))


def active_holds(session: Session, case_id: str) -> list[LegalHold]:
    """The holds on the case not yet lifted, oldest first."""
    return list(session.scalars(select(LegalHold).where(
        LegalHold.case_id == case_id, LegalHold.lifted_at.is_(None))
        .order_by(LegalHold.placed_at, LegalHold.id)))


# --- legal holds ----------------------------------------------------------------------


def _parse_code(reason_code: str) -> HoldReasonCode:
    try:
        return HoldReasonCode(reason_code)
    except ValueError:
        raise refusal(_l("choose one of the listed reasons for the hold")) from None


def place_hold(casework: Casework, session: Session, user: User,
               key: crypto.PrivateKey | None, case_id: str, reason_code: str,
               reason_text: str) -> str:
    """A unit lead of the case's unit pauses its purge; the :class:`LegalHold` id.

    The reason's free text is sealed to the case's verified readers (the lead must be one
    of them to write it); a lead the tipster left out may place a hold with its code only.
    """
    code = _parse_code(reason_code)
    if len(reason_text.strip()) > MAX_REASON:
        raise refusal(_l("a reason needs at most %(max)s characters", max=MAX_REASON))
    # Locked (PostgreSQL; SQLite's units hold the write lock already): a purge of this
    # case running now either finished first (purged_on is set: refused below) or waits.
    case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if case is None or case.unit_id not in user.units_with(Role.UNIT_LEAD):
        raise NotPermitted()
    if case.purged_on is not None:
        raise AlreadyPurged()
    reason_id = None
    if reason_text.strip():
        try:
            readable_case(session, user, key, case.id)
        except NotPermitted:
            raise refusal(_l("you do not read this case, so the reason cannot be sealed "
                             "to its readers: give the reason code only")) from None
        content_key = report_content_key(case, key)
        ensure_reader_tag(casework, session, case, content_key)
        readers = reader_keys(session, casework.config, case, content_key)
        reason_id = seal_reason(casework, session, case, author_id=user.id, readers=readers,
                                text=reason_text)
    hold = LegalHold(case_id=case.id, reason_code=code.value, reason_envelope_id=reason_id,
                     placed_by=user.id)
    session.add(hold)
    session.flush()
    emit_on(session, LegalHoldPlaced(case.id, user.id, hold.id, code.value))
    return hold.id


def lift_hold(session: Session, user: User, hold_id: str) -> str:
    """A unit lead of the case's unit lifts a hold; the case's id. Lifting twice is
    refused (409): the first lift stands."""
    hold = session.get(LegalHold, hold_id)
    case = session.get(Case, hold.case_id) if hold is not None else None
    if hold is None or case is None or case.unit_id not in user.units_with(Role.UNIT_LEAD):
        raise NotPermitted()  # the same answer for "no such hold" and "not yours"
    lifted = session.execute(update(LegalHold).where(
        LegalHold.id == hold.id, LegalHold.lifted_at.is_(None))
        .values(lifted_at=utcnow(), lifted_by=user.id)
        .execution_options(synchronize_session="fetch"))
    if cast("CursorResult[Any]", lifted).rowcount != 1:
        raise HoldLifted()
    emit_on(session, LegalHoldLifted(case.id, user.id, hold.id))
    return case.id


# --- a unit's period -------------------------------------------------------------------


def set_unit_retention(session: Session, admin: User, unit_id: str, days: int | None) -> None:
    """An administrator sets a unit's retention period (1..730 days, or None: the default)."""
    if Role.ADMINISTRATOR not in admin.roles:
        raise NotPermitted()
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise refusal(_l("there is no such unit"))
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise refusal(_l("a retention period is between 1 and %(max)s days",
                         max=MAX_RETENTION_DAYS))
    unit.retention_days = days
    emit_on(session, RetentionChanged(admin.id, unit.id, days))


@dataclass(frozen=True)
class UnitPeriod:
    """A unit's retention period as the administrator's page shows it."""

    unit: Unit
    days: int  # in force
    own: int | None  # the unit's own setting (None: the instance default)


def unit_periods(session: Session, config: CaseworkConfig) -> list[UnitPeriod]:
    return [UnitPeriod(u, period_of(u, config), u.retention_days)
            for u in session.scalars(select(Unit).order_by(Unit.id))]


@dataclass(frozen=True)
class Overview:
    """The retention page: what is due and held, and (for administrators) the periods."""

    listed: DueList
    periods: list[UnitPeriod] | None
    default_days: int


def overview(session: Session, config: CaseworkConfig, user: User,
             today: dt.date) -> Overview:
    """Administrators: every unit. Leads: their units' cases (references and dates)."""
    if Role.ADMINISTRATOR in user.roles:
        return Overview(due_for_purge(session, config, today), unit_periods(session, config),
                        config.retention_days)
    units = user.units_with(Role.UNIT_LEAD)
    if not units:
        raise NotPermitted()
    return Overview(due_for_purge(session, config, today, units), None, config.retention_days)


# --- a purged case's page ---------------------------------------------------------------


@dataclass(frozen=True)
class PurgedPage:
    """What a purged case's page shows: its row, its unit and its timeline (codes only)."""

    case: Case
    unit: Unit | None
    timeline: list[Any]


def purged_page(casework: Casework, session: Session, user: User,
                case_id: str) -> PurgedPage | None:
    """The page of a purged case for one of its former readers; None if not purged."""
    from .case_view import CaseView
    from .timeline import case_timeline

    case = purged_case(session, user, case_id)
    if case is None:
        return None
    # No key: every reason it could open was purged with the case.
    timeline = case_timeline(casework, session, user, None, CaseView(case=case, report={}))
    return PurgedPage(case, session.get(Unit, case.unit_id), timeline)


def purged_case(session: Session, user: User, case_id: str) -> Case | None:
    """The case, if it was purged and ``user`` read it; None if it was not purged.

    A purged case has no header left to check readership against: its former readers
    (``case_readers``) with a reading role in its unit or one it was escalated to see its
    reference and dates, anyone else the same refusal as for a case that does not exist.
    """
    case = session.get(Case, case_id)
    if case is None or case.purged_on is None:
        return None
    units = user.units_with(*READING_ROLES)
    if case.unit_id not in units and not session.scalar(select(exists().where(
            Escalation.case_id == case.id, Escalation.destination.in_(units)))):
        raise NotPermitted()
    if not session.scalar(select(exists().where(
            CaseReader.case_id == case.id, CaseReader.user_id == user.id))) \
            or session.scalar(select(exists().where(Conflict.case_id == case.id,
                                                    Conflict.user_id == user.id))):
        raise NotPermitted()
    return case


# --- purging ----------------------------------------------------------------------------


def purge_case(casework: Casework, session: Session, case: Case,
               today: dt.date | None = None) -> int | None:
    """Purge ``case``'s content; the number of envelopes removed, None if already purged.

    Refuses (409, nothing changed) a case under a legal hold or not yet due. Irreversible
    once the unit of work commits; the bodies leave the store after the commit.
    """
    today = today or dt.datetime.now(dt.UTC).date()
    if case.purged_on is not None:
        return None
    due_on = purge_date(session, casework.config, case)
    if due_on is None or due_on > today:
        raise NotDue()
    if active_holds(session, case.id):
        raise OnHold()
    # The claim: of two purges at once, one sets purged_on, the other finds it set.
    claimed = session.execute(update(Case).where(Case.id == case.id, Case.purged_on.is_(None))
                              .values(purged_on=today, readers_tag=None)
                              .execution_options(synchronize_session=False))
    if cast("CursorResult[Any]", claimed).rowcount != 1:
        session.expire(case)
        return None
    # Under the claim (the case row is locked): a hold placed meanwhile wins.
    if session.scalar(select(exists().where(LegalHold.case_id == case.id,
                                            LegalHold.lifted_at.is_(None)))):
        raise OnHold()
    envelopes = list(session.scalars(select(CaseEnvelope).where(
        CaseEnvelope.case_id == case.id).order_by(CaseEnvelope.created_at, CaseEnvelope.id)))
    if casework.config.archive_path is not None:
        archive_case(casework.store, case, envelopes, casework.config.archive_path, today)
    names = [e.body_name for e in envelopes]
    session.execute(delete(CaseEnvelope).where(CaseEnvelope.case_id == case.id)
                    .execution_options(synchronize_session=False))
    session.execute(delete(Assignment).where(Assignment.case_id == case.id)
                    .execution_options(synchronize_session=False))
    for envelope in envelopes:
        session.expunge(envelope)
    session.expire(case)
    delete_after_commit(session, casework.store, names)
    forget_dialogue(session, case)
    emit_on(session, CasePurged(case.id, len(envelopes)))
    return len(envelopes)
