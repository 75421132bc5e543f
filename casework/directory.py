"""The recipient directory that intake needs, from casework's database.

``flask --app casework directory export`` calls it with the approved keys of the
casework users; only keys approved by a second administrator after a reset are listed.
The document's format (building, signing, and intake's parsing) is ``common.directory``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from common.contract import Category
from common.directory import Listed, UnitEntry, build_directory, sign_directory
from common.unit_of_work import emit_on

from .events import DirectoryExported
from .models import DirectoryExport, Role, Unit, User
from .models.accounts import KEY_HOLDING_ROLES

# Which unit receives which report category (policy sections 3 and 9). Casework owns
# routing; intake only follows what the signed directory says.
DEFAULT_ROUTES: dict[str, str] = {
    Category.CORRUPTION: "akt", Category.PROCUREMENT: "akt", Category.FUNDS: "akt",
    Category.BIAS: "etik", Category.ETHICS: "etik", Category.RETALIATION: "etik",
    Category.OTHER: "etik",
}


class DirectoryNotReady(Exception):
    """The directory cannot be exported yet; the message says what is missing."""


def _collect(session: Session) -> tuple[list[UnitEntry], list[Listed]]:
    units: list[UnitEntry] = []
    custodians: list[Listed] = []
    people = list(session.scalars(select(User).where(User.active.is_(True))))
    for unit in session.scalars(select(Unit).order_by(Unit.id)):
        if not unit.receives_reports:
            continue
        # The approved key, not the current one: a key made after an administrator's
        # password reset waits for a second administrator (`keys approve`) before intake
        # seals anything to it (casework.accounts.approve_key).
        readers = [
            Listed(p.display_name, crypto.PublicKey(p.approved_public_key))
            for p in people if p.approved_public_key is not None
            and any(m.unit_id == unit.id and Role(m.role) in KEY_HOLDING_ROLES - {Role.CUSTODIAN}
                    for m in p.memberships)
        ]
        units.append(UnitEntry(unit.id, {"sv": unit.name_sv, "en": unit.name_en}, readers,
                               unit.alternate_unit_id))
    for person in people:
        if person.approved_public_key is not None and Role.CUSTODIAN in person.roles:
            custodians.append(Listed(person.display_name,
                                     crypto.PublicKey(person.approved_public_key)))
    return units, custodians


def keys_awaiting_approval(session: Session) -> list[str]:
    """User names whose current key is not published yet (made after a reset)."""
    people = session.scalars(select(User).where(User.public_key.is_not(None))
                             .order_by(User.username))
    return [p.username for p in people if p.public_key != p.approved_public_key]


def directory_summary(session: Session) -> dict[str, object]:
    """What the next export would list (for the admin page)."""
    units, custodians = _collect(session)
    return {"units": [(u.id, [r.name for r in u.reviewers]) for u in units],
            "custodians": [c.name for c in custodians], "routes": DEFAULT_ROUTES,
            "awaiting_approval": keys_awaiting_approval(session)}


def export_directory(session: Session, *, signing_key: crypto.SigningKey,
                     escrow: crypto.PublicKey | None, valid_for: dt.timedelta) -> bytes:
    """Build, sign and record the next directory (its serial is one above the last)."""
    if escrow is None:
        raise DirectoryNotReady("no escrow public key is configured (run `keys escrow-init`)")
    units, custodians = _collect(session)
    empty = [u.id for u in units if not list(u.reviewers)]
    if empty:
        raise DirectoryNotReady(f"these units have no enrolled reviewer: {', '.join(empty)}")
    serial = (session.scalar(select(func.max(DirectoryExport.serial))) or 0) + 1
    session.add(DirectoryExport(serial=serial))
    emit_on(session, DirectoryExported(serial))
    body = build_directory(serial=serial, units=units, routes=DEFAULT_ROUTES, escrow=escrow,
                           custodians=custodians, valid_for=valid_for)
    return sign_directory(body, signing_key)
