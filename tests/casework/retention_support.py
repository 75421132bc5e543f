"""What the retention tests share: a concluded case made directly (a row and sealed
envelopes, no intake), dates, and the bytes of the database files on disk."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

import crypto
from casework.models import Case, CaseEnvelope, Unit
from casework.sealing import seal_item
from common.contract import EnvelopeKind, Stage
from tests.support.databases import stored_bytes

from .conftest import services

TODAY = dt.datetime.now(dt.UTC).date()


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


@dataclass(frozen=True)
class Made:
    """A case made for a test: its id, reference and envelope ids."""

    case_id: str
    reference: str
    envelope_ids: list[str]


def make_case(app: Flask, unit: str = "etik", *, concluded_days_ago: int | None = 800,
              items: int = 2, text: str = "Sealed words", merged_into: str | None = None,
              received_days_ago: int = 1000) -> Made:
    """A case of ``unit`` with ``items`` sealed envelopes (a report, then notes), concluded
    that many days ago (None: still open). Test set-up only: the domain never does this."""
    casework = services(app)
    reader = crypto.PrivateKey.generate().public_key
    with app.app_context(), casework.unit() as work:
        case = Case(reference="LY-" + secrets.token_hex(4).upper(), unit_id=unit,
                    category="ethics", received_on=days_ago(received_days_ago),
                    tipster_public_key=crypto.PrivateKey.generate().public_key.raw,
                    intake_receipt_id=secrets.token_hex(16), merged_into_id=merged_into)
        if concluded_days_ago is not None:
            case.stage, case.outcome = Stage.CONCLUDED.value, "dismissed"
            case.concluded_on = days_ago(concluded_days_ago)
        work.session.add(case)
        work.session.flush()
        ids = [seal_item(casework, work.session, case,
                         kind=EnvelopeKind.REPORT if i == 0 else EnvelopeKind.NOTE,
                         document={"text": f"{text} {i}"}, recipients=[reader],
                         author_id=None, for_tipster=False) for i in range(items)]
        return Made(case.id, case.reference, ids)


def set_period(app: Flask, unit: str, days: int | None) -> None:
    with services(app).db.session() as db:
        row = db.get(Unit, unit)
        assert row is not None
        row.retention_days = days


def envelope_rows(app: Flask, case_id: str) -> list[CaseEnvelope]:
    with services(app).db.session() as db:
        return list(db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case_id)))


def case_row(app: Flask, case_id: str) -> Case:
    with services(app).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None
        return case


def database_files(app: Flask) -> bytes:
    """The SQLite database file and its companions, as bytes on disk (on PostgreSQL: what
    its rows hold; tests/support/databases.py)."""
    return stored_bytes(services(app).config.database_url)


def store_bytes(app: Flask) -> bytes:
    """Every file under the envelope store (bodies and incoming/), concatenated."""
    root = services(app).store.root
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())
