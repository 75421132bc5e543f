"""The statistics figures (casework.statistics.figures), against a hand count.

A small population of cases is written as direct rows (no envelopes at all: the figures
must not need them) into a migrated database, once for the module; every figure of the
second quarter of 2026, and the art. 27(2) figures of the year, are checked against the
counts worked out by hand in the comments. The SQL issued is recorded and must never
name an envelope table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask_babel import Babel, force_locale
from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from casework.cli import DEFAULT_UNITS
from casework.config import ReferralAuthority
from casework.errors import InvalidInput
from casework.models import (
    Case,
    Conflict,
    Escalation,
    FeedbackExtension,
    IdentityRequest,
    StageChange,
    Unit,
    User,
)
from casework.statistics.figures import (
    AGENCY_GROUPS,
    AmountFigure,
    DaysFigure,
    Figure,
    figures,
    tables_of,
)
from casework.statistics.figures_base import days_between
from casework.statistics.magnitudes import protect_amounts
from casework.statistics.periods import InvalidPeriod, Period
from casework.statistics.tables import TOTAL
from common.vocabulary import AGENCIES
from tests.support.databases import app_database

D = dt.date
T = dt.datetime
Q2 = Period.parse("2026-Q2")
AUTHORITIES = (ReferralAuthority("jo", "Justitieombudsmannen", "Parliamentary Ombudsmen"),
               ReferralAuthority("polisen", "Polismyndigheten", "Swedish Police Authority"))


class Population:
    """Direct rows; ``add`` writes one case and its history."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.user = User(username="reader", display_name="Reader", password_hash="x")
        session.add(self.user)
        session.flush()
        self.ids: dict[str, str] = {}

    def add(self, name: str, unit: str, category: str, received: dt.date, *,
            agency: str | None = None, ack: dt.date | None = None,
            feedback: dt.date | None = None, extended: bool = False,
            changes: tuple[tuple[str, dt.datetime, str | None], ...] = (),
            damage: int | None = None, recovered: int | None = None,
            merged_into: str | None = None) -> None:
        number = len(self.ids) + 1
        case = Case(reference=f"R-{number:04d}", unit_id=unit, category=category,
                    agency=agency, received_on=received, acknowledged_on=ack,
                    feedback_on=feedback, feedback_extended=extended,
                    tipster_public_key=bytes([number]) * 32,
                    intake_receipt_id=f"receipt-{number}", damage_estimate_sek=damage,
                    recovered_sek=recovered,
                    merged_into_id=self.ids.get(merged_into or ""))
        self.session.add(case)
        self.session.flush()
        self.ids[name] = case.id
        stage = "received"
        for to_stage, at, outcome in changes:
            self.session.add(StageChange(case_id=case.id, from_stage=stage,
                                         to_stage=to_stage, outcome=outcome,
                                         reason_code="other", reopened=stage == "concluded",
                                         at=at))
            stage = to_stage
        case.stage = stage


def _populate(session: Session) -> None:
    for unit_id, sv, en, alternate, receives in DEFAULT_UNITS:
        session.add(Unit(id=unit_id, name_sv=sv, name_en=en, alternate_unit_id=alternate,
                         receives_reports=receives))
    session.flush()
    p = Population(session)
    # Received in Q2 (2026-04-01 .. 2026-06-30).
    p.add("c1", "etik", "corruption", D(2026, 4, 1), agency="kommun", ack=D(2026, 4, 8),
          feedback=D(2026, 6, 30))  # acknowledged on day 7, feedback on day 90: on time
    p.add("c2", "etik", "corruption", D(2026, 6, 30), agency="skatteverket")  # last day
    p.add("c3", "etik", "retaliation", D(2026, 5, 10), ack=D(2026, 5, 20),
          feedback=D(2026, 9, 1))  # 10 days: late; 114 days, not extended: late
    p.add("c4", "akt", "procurement", D(2026, 4, 15), agency="region", ack=D(2026, 4, 16),
          feedback=D(2026, 9, 20), extended=True)  # 158 days, extended: on time
    p.add("c10", "akt", "corruption", D(2026, 4, 20), ack=D(2026, 4, 20),
          feedback=D(2026, 7, 19),  # day 90
          changes=(("assessed", T(2026, 5, 1), None), ("investigating", T(2026, 6, 15), None)))
    p.add("c11", "etik", "corruption", D(2026, 6, 25),
          changes=(("assessed", T(2026, 7, 1), None),))  # the first moment of Q3
    # Not received in Q2.
    p.add("c5", "akt", "retaliation", D(2026, 7, 1), agency="other")  # first day of Q3
    p.add("c6", "akt", "funds", D(2026, 3, 31), agency="polismyndigheten",
          ack=D(2026, 4, 2))  # last day of Q1; acknowledged in Q2 after 2 days
    p.add("c7", "etik", "ethics", D(2025, 6, 1), agency="kommun")  # open, 394 days
    p.add("c8", "etik", "bias", D(2026, 1, 10), damage=1000, recovered=500, changes=(
        ("acknowledged", T(2026, 1, 12), None), ("assessed", T(2026, 1, 20), None),
        ("investigating", T(2026, 2, 1), None),
        ("concluded", T(2026, 5, 5, 10), "substantiated")))  # 115 days
    p.add("c9", "akt", "corruption", D(2025, 12, 1), changes=(
        ("acknowledged", T(2025, 12, 5), None), ("assessed", T(2025, 12, 10), None),
        ("concluded", T(2026, 2, 1), "dismissed"), ("investigating", T(2026, 4, 10), None),
        ("concluded", T(2026, 6, 1), "not-substantiated")))  # 182 days
    p.add("c12", "etik", "funds", D(2026, 3, 1),
          changes=(("assessed", T(2026, 6, 30, 23, 59, 59), None),))  # the last moment
    p.add("c13", "etik", "other", D(2026, 2, 1), merged_into="c7")
    p.add("c14", "akt", "corruption", D(2026, 1, 5), damage=3000, changes=(
        ("concluded", T(2026, 4, 5), "dismissed"), ("assessed", T(2026, 4, 6), None),
        ("concluded", T(2026, 6, 10), "substantiated")))  # 156 days
    p.add("c15", "etik", "ethics", D(2025, 10, 1), recovered=200,
          changes=(("concluded", T(2026, 1, 15), "dismissed"),))
    p.add("c16", "akt", "funds", D(2025, 11, 1), damage=7000,
          changes=(("concluded", T(2026, 7, 2), "referred"),))  # open at the end of Q2
    user, ids = p.user.id, p.ids
    session.add_all([
        Escalation(case_id=ids["c1"], kind="unit", destination="akt", reason_code="other",
                   at=T(2026, 5, 1)),
        Escalation(case_id=ids["c1"], kind="kof", destination="kof", reason_code="other",
                   at=T(2026, 5, 2)),
        Escalation(case_id=ids["c4"], kind="referral", destination="jo",
                   reason_code="other", at=T(2026, 6, 30, 12)),
        Escalation(case_id=ids["c3"], kind="referral", destination="polisen",
                   reason_code="other", at=T(2026, 7, 1)),
        Escalation(case_id=ids["c9"], kind="referral", destination="old-code",
                   reason_code="other", at=T(2026, 4, 10)),
        Conflict(case_id=ids["c1"], user_id=user, declared_at=T(2026, 4, 5)),
        Conflict(case_id=ids["c4"], user_id=user, declared_at=T(2026, 3, 31, 23)),
        FeedbackExtension(case_id=ids["c4"], reason_code="other", extended_by=user,
                          extended_at=T(2026, 5, 1)),
        IdentityRequest(case_id=ids["c1"], requester_id=user, reason_code="other",
                        status="approved", requested_at=T(2026, 4, 2)),
        IdentityRequest(case_id=ids["c3"], requester_id=user, reason_code="other",
                        status="pending", requested_at=T(2026, 6, 2)),
        IdentityRequest(case_id=ids["c4"], requester_id=user, reason_code="other",
                        status="refused", requested_at=T(2026, 5, 2)),
        IdentityRequest(case_id=ids["c4"], requester_id=user, reason_code="other",
                        status="withdrawn", requested_at=T(2026, 3, 2)),
    ])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = create_engine(app_database("casework", tmp_path_factory.mktemp("stats")))
    with Session(engine) as session, session.begin():
        _populate(session)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def issued(engine: Engine) -> list[str]:
    """Every SQL statement the figures issue (recorded by the fixtures below)."""
    return []


def _figures(engine: Engine, issued: list[str], period: Period) -> dict[str, Any]:
    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        issued.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            found = figures(session, period, authorities=AUTHORITIES)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return {f.id: f for f in found}


@pytest.fixture(scope="module")
def q2(engine: Engine, issued: list[str]) -> dict[str, Any]:
    return _figures(engine, issued, Q2)


@pytest.fixture(scope="module")
def year(engine: Engine, issued: list[str]) -> dict[str, Any]:
    return _figures(engine, issued, Period.parse("2026"))


def _cells(figure: Figure) -> dict[tuple[str, str], int]:
    return {k: v for k, v in figure.table.cells.items() if v}


# --- counts ------------------------------------------------------------------------------


def test_received_by_unit_and_category_and_agency_group(q2: dict[str, Any]) -> None:
    # c1, c2 (the last day), c3, c11 in etik; c4, c10 in akt. Not c5 (the first day of
    # Q3) nor c6 (the last day of Q1).
    table = q2["received_by_unit_category"].table
    assert _cells(q2["received_by_unit_category"]) == {
        ("etik", "corruption"): 3, ("etik", "retaliation"): 1,
        ("akt", "procurement"): 1, ("akt", "corruption"): 1}
    assert table.rows == ("akt", "etik")  # receiving units; KOF has no count here
    assert table.total == 6
    assert _cells(q2["received_by_agency_group"]) == {
        ("etik", "municipal"): 1, ("etik", "national"): 1, ("etik", "other"): 2,
        ("akt", "regional"): 1, ("akt", "other"): 1}
    linked = {"received_by_unit_category", "received_by_agency_group",
              "acknowledgement_by_unit", "feedback_by_unit"}
    for table_id in linked:
        table = q2[table_id].table
        assert set(table.linked) == linked - {table_id}
        assert {r: table.row_total(r) for r in table.rows} == {"akt": 2, "etik": 4}


def test_retaliation_is_a_slice_of_the_received_table(q2: dict[str, Any]) -> None:
    figure = q2["retaliation_by_unit"]
    assert figure.table is q2["received_by_unit_category"].table
    assert figure.columns == ("retaliation",)
    assert figure.table.count("etik", "retaliation") == 1


def test_deadlines(q2: dict[str, Any]) -> None:
    assert _cells(q2["acknowledgement_by_unit"]) == {
        ("etik", "on-time"): 1, ("etik", "late"): 1, ("etik", "not-yet"): 2,
        ("akt", "on-time"): 2}
    assert _cells(q2["feedback_by_unit"]) == {
        ("etik", "on-time"): 1, ("etik", "late"): 1, ("etik", "not-yet"): 2,
        ("akt", "on-time-extended"): 1, ("akt", "on-time"): 1}
    assert _cells(q2["extensions_by_unit"]) == {("akt", TOTAL): 1}


def test_handling(q2: dict[str, Any]) -> None:
    # c10 (assessed 1 May), c14 (closed at once, then reopened into assessment: its
    # follow-up began in Q2), c12 (the last second of Q2); not c11 (the first second of
    # Q3), not c9 (first assessed in 2025, reopened in Q2).
    assert _cells(q2["followup_opened_by_unit"]) == {("akt", TOTAL): 2, ("etik", TOTAL): 1}
    # c14 concluded twice in Q2 counts once, with its last outcome.
    assert _cells(q2["outcomes_by_unit"]) == {
        ("etik", "substantiated"): 1, ("akt", "not-substantiated"): 1,
        ("akt", "substantiated"): 1}
    escalations = q2["escalations_by_destination"]
    assert escalations.table.rows == ("akt", "etik", "kof", "jo", "polisen", "old-code")
    assert _cells(escalations) == {("akt", TOTAL): 1, ("kof", TOTAL): 1, ("jo", TOTAL): 1,
                                   ("old-code", TOTAL): 1}
    assert _cells(q2["recusals_by_unit"]) == {("etik", TOTAL): 1}
    assert _cells(q2["identity_requests"]) == {("approved", TOTAL): 1,
                                               ("refused", TOTAL): 1, ("pending", TOTAL): 1}


def test_open_cases_by_age(q2: dict[str, Any]) -> None:
    # At 30 June: c1 (90 days), c2, c3, c11 and c4, c10 under 3 months; c6 (91 days),
    # c12 3-6; c16 (concluded only in July) 6-12; c7 over a year. c13 is a merged
    # duplicate; c8, c9, c14, c15 were concluded.
    assert _cells(q2["open_by_age"]) == {
        ("etik", "0-3-months"): 4, ("etik", "3-6-months"): 1, ("etik", "over-12-months"): 1,
        ("akt", "0-3-months"): 2, ("akt", "3-6-months"): 1, ("akt", "6-12-months"): 1}


def test_days(q2: dict[str, Any]) -> None:
    ack: DaysFigure = q2["days_to_acknowledgement"]
    # etik: c1 7, c3 10; akt: c10 0, c4 1, c6 2.
    assert ack.groups == {"etik": (2, 8.5, 10.0), "akt": (3, 1.0, 2.0), TOTAL: (5, 2.0, 10.0)}
    assert q2["days_to_feedback"].groups == {"etik": (1, 90.0, 90.0), "akt": (0, None, None),
                                             TOTAL: (1, 90.0, 90.0)}
    assert q2["days_to_closure"].groups == {"etik": (1, 115.0, 115.0),
                                            "akt": (2, 169.0, 182.0), TOTAL: (3, 156.0, 182.0)}
    # Every durations figure's n are the row margins of a count table (the outcomes;
    # the cases acknowledged, given feedback): protected as counts, with the year and
    # its quarters, and the release hides the n wherever that table hides the margin.
    for figure_id in ("days_to_acknowledgement", "days_to_feedback", "days_to_closure"):
        days: DaysFigure = q2[figure_id]
        counted = q2[days.counts_table].table
        assert {u: days.groups[u][0] for u in counted.rows} == {
            u: counted.row_total(u) for u in counted.rows}, figure_id
        assert days.groups[TOTAL][0] == counted.total, figure_id


def test_period_boundaries_move_cases_between_quarters(engine: Engine,
                                                       issued: list[str]) -> None:
    q1 = _figures(engine, issued, Period.parse("2026-Q1"))
    q3 = _figures(engine, issued, Period.parse("2026-Q3"))
    # c6 (31 March) is Q1's; c5 (1 July) is Q3's; c11's first follow-up (1 July 00:00) too.
    assert q1["received_by_unit_category"].table.count("akt", "funds") == 1
    assert q3["received_by_unit_category"].table.count("akt", "retaliation") == 1
    assert q3["followup_opened_by_unit"].table.count("etik") == 1
    assert q1["recusals_by_unit"].table.count("akt") == 1  # 31 March 23:00
    assert q3["escalations_by_destination"].table.count("polisen") == 1


def test_annual_figures_only_for_a_year(q2: dict[str, Any], year: dict[str, Any]) -> None:
    assert not [k for k in q2 if k.startswith("art27_")]
    assert year["art27_received"].columns == (TOTAL,)
    assert year["art27_received"].table is year["received_by_unit_category"].table
    # c8 (February), c9 (reopened into investigation in April), c10 (June).
    assert _cells(year["art27_investigations_opened"]) == {("etik", TOTAL): 1,
                                                          ("akt", TOTAL): 2}
    assert year["art27_outcomes"].table is year["outcomes_by_unit"].table
    # Concluded in 2026 (last conclusion): c8 1000, c14 3000, c16 7000; recovered: c8
    # 500, c15 200.
    assert _cells(year["art27_damage_recorded"]) == {("etik", TOTAL): 1, ("akt", TOTAL): 2}
    damage: AmountFigure = year["art27_damage_sek"]
    recovered: AmountFigure = year["art27_recovered_sek"]
    assert (damage.cases, damage.total_sek, damage.largest_sek) == (3, 11000, 7000)
    assert damage.groups == {"etik": (1, 1000, 1000, 0), "akt": (2, 10000, 7000, 3000),
                             TOTAL: (3, 11000, 7000, 3000)}
    assert (recovered.cases, recovered.total_sek) == (2, 700)
    assert damage.counts_table == "art27_damage_recorded"
    # Every sum here fails a rule: under k cases, or two cases make up all of it (a unit
    # where no case recorded an amount shows 0).
    for amount, k in ((damage, 3), (damage, 4), (recovered, 2)):
        released = protect_amounts(amount, k)
        assert all(cell.value is None for key, cell in released.cells.items()
                   if amount.groups.get(key[0], (0,))[0]), (amount.id, k)


def test_no_figure_reads_an_envelope(q2: dict[str, Any], year: dict[str, Any],
                                     issued: list[str]) -> None:
    assert issued  # the listener saw the figures' queries
    for statement in issued:
        lowered = statement.lower()
        assert "case_envelopes" not in lowered
        assert "reference" not in lowered and "tipster_public_key" not in lowered


def test_every_table_is_well_formed(q2: dict[str, Any], year: dict[str, Any]) -> None:
    for found in (q2, year):
        tables = tables_of(found.values())
        assert len({t.id for t in tables}) == len(tables)
        for table in tables:
            assert len(set(table.rows)) == len(table.rows)
            for row, column in table.cells:
                assert row in table.rows and column in table.columns, (table.id, row, column)
            for linked in table.linked:
                assert linked in {t.id for t in tables}
        for figure in found.values():
            if isinstance(figure, Figure) and figure.columns:
                assert set(figure.columns) <= {*figure.table.columns, TOTAL}


def test_labels_and_notes_are_plain_language(q2: dict[str, Any]) -> None:
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context(), force_locale("en"):
        figure = q2["received_by_agency_group"]
        assert figure.label("etik") == "Ethics committee"
        assert figure.label("municipal") == "Municipalities"
        assert figure.label(TOTAL) == "Total"
        assert q2["escalations_by_destination"].label("jo") == "Parliamentary Ombudsmen"
        for item in q2.values():
            assert str(item.title) and len(str(item.note)) > 40


def test_every_agency_has_a_group() -> None:
    assert set(AGENCY_GROUPS) == set(AGENCIES)


def test_days_between_compiles_for_both_databases() -> None:
    expression = days_between(Case.feedback_on, Case.received_on)
    assert "julianday" in str(expression.compile(dialect=sqlite.dialect()))
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    assert str(expression.compile(dialect=dialect)) == "(cases.feedback_on - cases.received_on)"


# --- periods -----------------------------------------------------------------------------


def test_periods() -> None:
    assert (Q2.start, Q2.end, Q2.label) == (D(2026, 4, 1), D(2026, 7, 1), "2026-Q2")
    q4 = Period.parse("2026-Q4")
    assert (q4.start, q4.end) == (D(2026, 10, 1), D(2027, 1, 1))
    year = Period.parse("2026")
    assert (year.kind, year.start, year.end, year.label) == ("year", D(2026, 1, 1),
                                                             D(2027, 1, 1), "2026")
    assert year.quarters()[1] == Q2
    assert Q2.contains(D(2026, 6, 30)) and not Q2.contains(D(2026, 7, 1))
    assert Period.current_quarter(D(2026, 5, 17)) == Q2
    assert Period.previous_quarter(D(2026, 7, 1)) == Q2
    assert Period.previous_quarter(D(2026, 2, 1)) == Period.parse("2025-Q4")
    assert Period.previous_year(D(2026, 3, 1)) == Period.parse("2025")
    assert Q2.start_at == T(2026, 4, 1) and Q2.end_at == T(2026, 7, 1)


@pytest.mark.parametrize("text", ["", "2026-Q5", "2026-Q0", "2026-q3", " 2026", "2026 ",
                                  "26-Q1", "1999", "9999", "2026-Q3x", "2026-Q", "x" * 10_000,
                                  "\uff12\uff10\uff12\uff16", None, 2026, ["2026"]])
def test_malformed_periods_are_refused(text: object) -> None:
    with pytest.raises(InvalidPeriod) as refused:
        Period.parse(text)
    assert isinstance(refused.value, InvalidInput) and refused.value.status == 400


def test_a_period_cannot_be_built_inconsistent() -> None:
    with pytest.raises(InvalidPeriod):
        Period("quarter", 2026)
    with pytest.raises(InvalidPeriod):
        Period("year", 2026, 2)
    with pytest.raises(InvalidPeriod):
        Period("month", 2026, 2)  # type: ignore[arg-type]


# --- PostgreSQL --------------------------------------------------------------------------


def test_postgresql_gives_the_same_figures(postgres_url: str, q2: dict[str, Any],
                                           year: dict[str, Any]) -> None:
    """The date arithmetic and grouping run for real on PostgreSQL, not only compiled:
    the same population gives every figure of the quarter and the year as on SQLite."""
    from casework import migrate

    migrate.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    try:
        with Session(engine) as session, session.begin():
            _populate(session)
        for period, expected in ((Q2, q2), (Period.parse("2026"), year)):
            with Session(engine) as session:
                found = {f.id: f for f in figures(session, period, authorities=AUTHORITIES)}
            assert set(found) == set(expected)
            for figure_id, figure in expected.items():
                if isinstance(figure, Figure):
                    assert _cells(found[figure_id]) == _cells(figure), figure_id
                else:
                    assert found[figure_id] == figure, figure_id
    finally:
        engine.dispose()
