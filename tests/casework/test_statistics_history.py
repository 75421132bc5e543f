"""The outcomes and the open cases of a year and its quarters, against each case's
history read in Python.

``casework.statistics.counts`` reads a case's history only where its row does not tell
the answer (a case reopened since the year began, or concluded without its day): a case
never reopened was concluded at most once, and its stage and ``concluded_on`` say whether
it was open at a quarter's end. This checks that shortcut against the definitions
themselves, on random populations with reopenings (``populate``): open at an end means
received before it, its last move before it not a conclusion; a period's outcome is a
case's last conclusion in the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from casework.models import Case, StageChange
from casework.statistics.counts import Cells, family_counts
from casework.statistics.periods import Period

from .test_disclosure_periods import (  # noqa: F401 (engine: a fixture)
    QUARTERS,
    SETTINGS,
    YEAR,
    engine,
    populate,
)


def band(age: int) -> str:
    """The published age bands, in days since the report was received."""
    if age <= 90:
        return "0-3-months"
    if age <= 182:
        return "3-6-months"
    return "6-12-months" if age <= 365 else "over-12-months"


def open_at_end(cases: Sequence[Case], moves: Sequence[StageChange], period: Period) -> Cells:
    out: Cells = {}
    last_day = period.end - dt.timedelta(days=1)
    for case in cases:
        if case.merged_into_id is not None or case.received_on >= period.end:
            continue
        before = [m for m in moves if m.case_id == case.id and m.at < period.end_at]
        if before and before[-1].to_stage == "concluded":
            continue
        key = (case.unit_id, band((last_day - case.received_on).days))
        out[key] = out.get(key, 0) + 1
    return out


def outcomes(cases: Sequence[Case], moves: Sequence[StageChange], period: Period) -> Cells:
    out: Cells = {}
    for case in cases:
        concluded = [m for m in moves if m.case_id == case.id and m.to_stage == "concluded"
                     and period.start_at <= m.at < period.end_at]
        if concluded and concluded[-1].outcome is not None:
            key = (case.unit_id, concluded[-1].outcome)
            out[key] = out.get(key, 0) + 1
    return out


@SETTINGS
@given(st.integers(0, 10**6), st.integers(0, 40))
def test_outcomes_and_open_cases_follow_each_cases_history(
        engine: Engine, seed: int, count: int) -> None:  # noqa: F811
    with Session(engine) as session:
        populate(session, seed, count)
        counted = family_counts(session, YEAR)
        cases = session.scalars(select(Case)).all()
        moves = sorted(session.scalars(select(StageChange)), key=lambda m: (m.at, m.id))
        reopenings = sum(m.from_stage == "concluded" for m in moves)
        expected = {period: (open_at_end(cases, moves, period), outcomes(cases, moves, period))
                    for period in (*QUARTERS, YEAR)}
        session.rollback()
    assert reopenings or count < 10  # the populations do reopen cases
    for period, (open_cases, concluded) in expected.items():
        assert counted[period]["open_by_age"] == open_cases, period
        assert counted[period]["outcomes_by_unit"] == concluded, period
