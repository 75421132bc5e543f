"""The yearly figures of Directive 2019/1937 art. 27(2).

Art. 27(2) asks for: the number of reports received; the number of investigations and
proceedings opened and their outcome; and, where ascertained, the estimated financial
damage and the amounts recovered. The first is the total of the reports received; the
outcomes are the year's table of outcomes; the amounts are what a conclusion recorded
(``Case.damage_estimate_sek``, ``Case.recovered_sek``, both optional).

An amount leaves casework only as a sum per unit (and over all units) of the cases
concluded in the year that recorded it, with the number of those cases as a count table
that disclosure control protects like any other. A sum is suppressed when fewer than k
cases contribute, when their count is suppressed, when its two largest contributions
dominate it, or to protect another suppressed sum
(:func:`~casework.statistics.magnitudes.protect_amounts`).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Subquery, func, select
from sqlalchemy.orm import Session

from common.contract import Stage

from ..i18n import OUTCOME_LABELS
from ..models import Case
from .figures_base import (
    OUTCOME,
    UNIT,
    AmountFigure,
    AmountGroup,
    Figure,
    Units,
    amount_groups,
    cells_of,
)
from .periods import Period
from .stage_history import first_moves, last_conclusions
from .tables import TOTAL, CountTable


def _opened(session: Session, opened: Subquery) -> dict[tuple[str, str], int]:
    return cells_of((unit, TOTAL, n) for unit, n in session.execute(
        select(opened.c.unit_id, func.count()).group_by(opened.c.unit_id)))


def _amounts(session: Session, period: Period, column: Any) -> dict[str, AmountGroup]:
    """Per unit (and TOTAL), of the year's concluded cases that recorded ``column``: how
    many, their sum and the two largest amounts. The amounts are read into memory (one
    per such case, never with its id) and only these aggregates leave."""
    last = last_conclusions(period)
    return amount_groups((unit, amount) for unit, amount in session.execute(
        select(Case.unit_id, column).select_from(last).join(Case, Case.id == last.c.case_id)
        .where(column.is_not(None), column >= 0)))


def annual_figures(session: Session, period: Period, units: Units,
                   received: CountTable, outcomes: CountTable
                   ) -> list[Figure | AmountFigure]:
    """The art. 27(2) figures of a year (``received`` and ``outcomes``: the year's
    tables of those, which these figures show again and never count apart)."""
    investigations = _opened(session, first_moves(period, (Stage.INVESTIGATING,)))
    found: list[Figure | AmountFigure] = [
        Figure("art27_received", _l("Art. 27(2): reports received"),
               _l("Every report received in the year, by unit: the first figure the "
                  "Directive asks Member States to report."),
               received, _l("cases"), UNIT, labels=units.labels, columns=(TOTAL,)),
        Figure("art27_investigations_opened", _l("Art. 27(2): investigations opened"),
               _l("Cases in which an investigation was opened for the first time in the "
                  "year."),
               CountTable("art27_investigations_opened",
                          units.rows(r for r, _ in investigations), (TOTAL,), investigations),
               _l("cases"), UNIT, labels=units.labels),
        Figure("art27_outcomes", _l("Art. 27(2): outcomes"),
               _l("Cases concluded in the year, by outcome: substantiated, not "
                  "substantiated, referred to another authority, dismissed, or closed "
                  "without follow-up."),
               outcomes, _l("cases"), UNIT, OUTCOME, {**units.labels, **OUTCOME_LABELS}),
    ]
    for key, column, counted_title, counted_note, sum_title, sum_note in (
        ("damage", Case.damage_estimate_sek,
         _l("Art. 27(2): cases with an estimated financial damage"),
         _l("Cases concluded in the year whose conclusion recorded an estimate of the "
            "financial damage."),
         _l("Art. 27(2): estimated financial damage (kronor)"),
         _l("The sum of the estimated damage those cases recorded, by unit. A sum is "
            "shown only when at least k cases contribute and no two cases make up most "
            "of it.")),
        ("recovered", Case.recovered_sek,
         _l("Art. 27(2): cases with an amount recovered"),
         _l("Cases concluded in the year whose conclusion recorded an amount recovered."),
         _l("Art. 27(2): amounts recovered (kronor)"),
         _l("The sum of the amounts those cases recorded as recovered, by unit. A sum is "
            "shown only when at least k cases contribute and no two cases make up most "
            "of it.")),
    ):
        groups = _amounts(session, period, column)
        cells = {(unit, TOTAL): n for unit, (n, *_rest) in groups.items() if unit != TOTAL}
        table = CountTable(f"art27_{key}_recorded", units.rows(r for r, _ in cells),
                           (TOTAL,), cells)
        found.append(Figure(table.id, counted_title, counted_note, table, _l("cases"), UNIT,
                            labels=units.labels))
        found.append(AmountFigure(f"art27_{key}_sek", sum_title, sum_note, groups,
                                  table.rows, units.labels, table.id))
    return found
