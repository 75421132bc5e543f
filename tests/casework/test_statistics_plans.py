"""The figures read a period's rows, not the whole history: their query plans.

Migration 0012 adds ``ix_stage_changes_stage_at`` (to_stage, at, case_id) and
``ix_cases_stage_concluded`` (stage, concluded_on). Every statement of the figures that
reads the stage changes must reach them through an index (by stage and moment, or a
case's own history), never by scanning the table; the open cases at the period's end
come from index ranges (open now, concluded since the start), not a scan of every case.
Checked with EXPLAIN on SQLite and PostgreSQL over several years of history.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from casework import migrate
from casework.models import Case, StageChange, Unit
from casework.statistics.figures import figures
from casework.statistics.periods import Period

PERIOD = Period.parse("2025")  # a year: the art. 27(2) figures too
YEARS = 5  # of history before the period's end


def fill(session: Session, count: int) -> None:
    """``count`` cases over five years, each received, acknowledged and most concluded
    (some reopened and concluded again)."""
    rng = random.Random(7)
    session.execute(insert(Unit), [{"id": u, "name_sv": u, "name_en": u,
                                    "receives_reports": True} for u in ("etik", "akt")])
    cases: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    first = PERIOD.end - dt.timedelta(days=365 * YEARS)
    for i in range(count):
        received = first + dt.timedelta(days=rng.randrange(365 * YEARS))
        case_id = f"{i:032x}"
        at = dt.datetime.combine(received, dt.time(9))
        path = ["acknowledged", "assessed", "investigating", "concluded"]
        if rng.random() < 0.1:
            path += ["investigating", "concluded"]
        if rng.random() < 0.08:
            path = path[:rng.randrange(1, len(path))]
        stage = "received"
        for to_stage in path:
            at += dt.timedelta(days=rng.randrange(1, 60))
            moves.append({"id": f"{len(moves):032x}", "case_id": case_id,
                          "from_stage": stage, "to_stage": to_stage, "reason_code": "x",
                          "outcome": "substantiated" if to_stage == "concluded" else None,
                          "reopened": stage == "concluded", "at": at})
            stage = to_stage
        cases.append({"id": case_id, "reference": f"LY-{i}", "unit_id": ("etik", "akt")[i % 2],
                      "category": "ethics", "stage": stage, "received_on": received,
                      "priority": "normal", "tipster_public_key": bytes(32),
                      "intake_receipt_id": case_id, "created_at": dt.datetime(2026, 1, 1),
                      "acknowledged_on": received + dt.timedelta(days=3),
                      "concluded_on": at.date() if stage == "concluded" else None})
    session.execute(insert(Case), cases)
    session.execute(insert(StageChange), moves)
    session.flush()


def statements(engine: Engine, session: Session) -> list[tuple[str, Any]]:
    """The figures' statements (and their parameters) that read the stage changes or
    the open cases."""
    seen: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "stage_changes" in statement and not statement.startswith("EXPLAIN"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        with Flask(__name__).test_request_context():
            figures(session, PERIOD)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(seen) >= 7  # follow-up, outcomes, closure, open, art. 27(2) ...
    return seen


def test_the_figures_read_stage_changes_by_index_on_sqlite(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'plans.sqlite'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        fill(session, 3000)
        for statement, params in statements(engine, session):
            plan = " / ".join(str(row[3]) for row in session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, params))
            assert "SCAN stage_changes" not in plan, (statement, plan)
            assert "ix_stage_changes_stage_at" in plan or \
                "ix_stage_changes_case_at" in plan, (statement, plan)
            if "julianday" in statement and "CASE WHEN" in statement:  # open by age
                assert "SCAN cases" not in plan and "MULTI-INDEX OR" in plan, plan
                assert "ix_cases_stage_concluded" in plan, plan
    engine.dispose()


def test_the_figures_read_stage_changes_by_index_on_postgresql(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    with Session(engine) as session:
        fill(session, 4000)
        session.commit()
        session.execute(text("ANALYZE"))
        for statement, params in statements(engine, session):
            plan = "\n".join(row[0] for row in session.connection().exec_driver_sql(
                "EXPLAIN " + statement, params))
            assert "Seq Scan on stage_changes" not in plan, (statement, plan)
    engine.dispose()
