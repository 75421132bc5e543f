"""The figures of issue 12: count tables, durations and sums over case metadata.

The count tables' cells are counted by :mod:`.counts` (for one period, or for a year
and its quarters in one pass); this module gives them their rows, columns and words.
Every query reads rows of codes and dates only (cases, stage changes, escalations,
conflicts, feedback extensions, identity requests) and never an envelope, a reference or
free text; what leaves this module is counts per unit, category, outcome, ... for a whole
period (``tests/casework/test_statistics_figures.py`` checks the SQL issued).

Which cases a figure counts, in short (each figure's note says it in plain words):

- *received*: ``received_on`` in the period. Four tables count these same cases, by
  unit and by category, agency group, acknowledgement and feedback; they share their
  row margins, so they are ``linked`` and must be protected consistently.
- *opened*, *concluded*: events of the period from the stage changes (a case's first
  move to assessed or investigating; its last conclusion in the period), so the figures
  of a past period do not change when a case is later reopened.
- *acknowledged*, *given feedback*: ``acknowledged_on``, ``feedback_on`` in the period
  (the n of the days to acknowledgement and to feedback).
- *escalations*, *recusals*, *extensions*, *identity requests*: the rows made in the
  period.
- *open at the period's end*: the stage the case had at the end, from its stage changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import Session

from common.contract import Category
from common.vocabulary import CATEGORY_CODES

from ..config import ReferralAuthority
from ..i18n import CATEGORY_LABELS, OUTCOME_LABELS
from ..models import IdentityRequestStatus
from .counts import (
    AGE_BANDS,
    AGENCY_GROUPS,
    EXTENDED_ON_TIME,
    GROUP_ORDER,
    LATE,
    MUNICIPAL,
    NATIONAL,
    NOT_YET,
    ON_TIME,
    OTHER_GROUP,
    OUTCOMES,
    OVER_TIME,
    RECEIVED_LINKED,
    REGIONAL,
    Cells,
    Counts,
    count_period,
)
from .figures_annual import annual_figures
from .figures_base import (
    ACKNOWLEDGEMENT,
    AGENCY_GROUP,
    CATEGORY,
    DESTINATION,
    FEEDBACK,
    OUTCOME,
    REQUEST_STATUS,
    UNIT,
    AmountFigure,
    DaysFigure,
    Figure,
    Labels,
    Units,
    by_language,
)
from .figures_time import days_figures, open_by_age
from .periods import Period
from .tables import TOTAL, CountTable

__all__ = ["AGENCY_GROUPS", "OVER_TIME", "AmountFigure", "AnyFigure", "DaysFigure",
           "Figure", "figures", "tables_of"]

AnyFigure = Figure | DaysFigure | AmountFigure

GROUP_LABELS = {NATIONAL: _l("Government agencies"), MUNICIPAL: _l("Municipalities"),
                REGIONAL: _l("Regions"), OTHER_GROUP: _l("Another body, or none named")}
ACK_COLUMNS = (ON_TIME, LATE, NOT_YET)
ACK_LABELS = {ON_TIME: _l("Within 7 days"), LATE: _l("Later than 7 days"),
              NOT_YET: _l("Not yet acknowledged")}
FEEDBACK_COLUMNS = (ON_TIME, EXTENDED_ON_TIME, LATE, NOT_YET)
FEEDBACK_LABELS = {ON_TIME: _l("Within 3 months"),
                   EXTENDED_ON_TIME: _l("Within an extended 6 months"),
                   LATE: _l("Late"), NOT_YET: _l("No feedback yet")}
REQUEST_ROWS = tuple(s.value for s in (IdentityRequestStatus.APPROVED,
                                       IdentityRequestStatus.REFUSED,
                                       IdentityRequestStatus.WITHDRAWN,
                                       IdentityRequestStatus.PENDING))
REQUEST_LABELS = {IdentityRequestStatus.APPROVED.value: _l("Approved"),
                  IdentityRequestStatus.REFUSED.value: _l("Refused"),
                  IdentityRequestStatus.WITHDRAWN.value: _l("Withdrawn"),
                  IdentityRequestStatus.PENDING.value: _l("Not yet decided")}
CASES = _l("cases")


def _linked(table_id: str) -> tuple[str, ...]:
    return tuple(t for t in RECEIVED_LINKED if t != table_id)


def _by_unit(table_id: str, units: Units, cells: Cells) -> CountTable:
    """A one-dimensional table of counts per unit."""
    return CountTable(table_id, units.rows(r for r, _ in cells), (TOTAL,), cells)


def count_tables(counts: Counts, units: Units,
                 authorities: Sequence[ReferralAuthority]) -> dict[str, CountTable]:
    """The shared count tables of one period from its cells (``.counts``): each with
    its rows (every receiving unit, every configured authority, ...), columns and
    links, the same whether the cells were counted for the period alone or with its
    family."""
    # The four linked tables count the same cases: they share their rows.
    rows = units.rows(r for t in RECEIVED_LINKED for r, _ in counts[t])
    tables = {table_id: CountTable(table_id, rows, columns, counts[table_id],
                                   _linked(table_id))
              for table_id, columns in (("received_by_unit_category", CATEGORY_CODES),
                                        ("received_by_agency_group", GROUP_ORDER),
                                        ("acknowledgement_by_unit", ACK_COLUMNS),
                                        ("feedback_by_unit", FEEDBACK_COLUMNS))}
    for table_id in ("acknowledged_by_unit", "fed_back_by_unit", "extensions_by_unit",
                     "followup_opened_by_unit", "recusals_by_unit"):
        tables[table_id] = _by_unit(table_id, units, counts[table_id])
    outcomes = counts["outcomes_by_unit"]
    tables["outcomes_by_unit"] = CountTable(
        "outcomes_by_unit", units.rows(r for r, _ in outcomes), OUTCOMES, outcomes)
    sent = counts["escalations_by_destination"]
    tables["escalations_by_destination"] = CountTable(
        "escalations_by_destination",
        _destinations(units, authorities, (r for r, _ in sent)), (TOTAL,), sent)
    requests = counts["identity_requests"]
    tables["identity_requests"] = CountTable(
        "identity_requests",
        REQUEST_ROWS + tuple(sorted({r for r, _ in requests} - set(REQUEST_ROWS))),
        (TOTAL,), requests)
    ages = counts["open_by_age"]
    tables["open_by_age"] = CountTable("open_by_age", units.rows(r for r, _ in ages),
                                       AGE_BANDS, ages)
    return tables


def received(tables: dict[str, CountTable], units: Units) -> list[Figure]:
    """Reports received, by unit and category, and by unit and agency group; and the
    retaliation reports, a slice of the first (protected with it, never on its own)."""
    categories = tables["received_by_unit_category"]
    groups = tables["received_by_agency_group"]
    category_labels = {**units.labels, **CATEGORY_LABELS}
    return [
        Figure(categories.id, _l("Reports received, by unit and category"),
               _l("Every report received in the period (in writing or orally), counted "
                  "once, by the unit it was filed with and the category it has now."),
               categories, CASES, UNIT, CATEGORY, category_labels),
        Figure(groups.id, _l("Reports received, by unit and the kind of body reported"),
               _l("The same reports, by the kind of public body they are about: "
                  "government agencies, municipalities, regions, or another body (also "
                  "when the report names none)."),
               groups, CASES, UNIT, AGENCY_GROUP, {**units.labels, **GROUP_LABELS}),
        Figure("retaliation_by_unit", _l("Reports of retaliation, by unit"),
               _l("Reports received in the period in the category retaliation: a reporter "
                  "says they were punished for reporting. The same counts as that column "
                  "of the reports received."),
               categories, CASES, UNIT, CATEGORY, category_labels,
               (Category.RETALIATION.value,)),
    ]


def deadlines(tables: dict[str, CountTable], units: Units) -> list[Figure]:
    """Of the cases received in the period: acknowledged within 7 days, and given
    feedback within 3 (or an extended 6) months; and extensions granted in the period."""
    return [
        Figure("acknowledgement_by_unit", _l("Receipt acknowledged within 7 days"),
               _l("Of the reports received in the period: how many were acknowledged "
                  "to the reporter within the 7 days the law allows, later, or not yet."),
               tables["acknowledgement_by_unit"], CASES, UNIT, ACKNOWLEDGEMENT,
               {**units.labels, **ACK_LABELS}),
        Figure("feedback_by_unit", _l("Feedback within 3 months"),
               _l("Of the reports received in the period: how many reporters were given "
                  "feedback within 3 months, within 6 months where the deadline was "
                  "extended for a recorded reason, later, or not yet."),
               tables["feedback_by_unit"], CASES, UNIT, FEEDBACK,
               {**units.labels, **FEEDBACK_LABELS}),
        Figure("acknowledged_by_unit", _l("Reports acknowledged"),
               _l("Reports acknowledged to the reporter in the period, whenever they were "
                  "received: the cases the days to acknowledgement describe."),
               tables["acknowledged_by_unit"], CASES, UNIT, labels=units.labels),
        Figure("fed_back_by_unit", _l("Reporters given feedback"),
               _l("Reporters given feedback in the period, whenever their report was "
                  "received: the cases the days to feedback describe."),
               tables["fed_back_by_unit"], CASES, UNIT, labels=units.labels),
        Figure("extensions_by_unit", _l("Feedback deadlines extended to 6 months"),
               _l("How many times in the period a unit extended a case's feedback "
                  "deadline from 3 to 6 months, with a recorded reason."),
               tables["extensions_by_unit"], CASES, UNIT, labels=units.labels),
    ]


def handling(tables: dict[str, CountTable], units: Units,
             authorities: Sequence[ReferralAuthority]) -> list[Figure]:
    """Follow-up opened, outcomes, escalations and referrals, recusals."""
    return [
        Figure("followup_opened_by_unit", _l("Follow-up opened"),
               _l("Cases whose follow-up began in the period: the report was assessed or "
                  "an investigation was opened for the first time."),
               tables["followup_opened_by_unit"], CASES, UNIT, labels=units.labels),
        Figure("outcomes_by_unit", _l("Outcomes of concluded cases"),
               _l("Cases concluded in the period, by their outcome (a case concluded twice "
                  "in the period counts once, with its last outcome)."),
               tables["outcomes_by_unit"], CASES, UNIT, OUTCOME,
               {**units.labels, **OUTCOME_LABELS}),
        Figure("escalations_by_destination", _l("Escalations and referrals"),
               _l("Cases sent in the period to another unit, to KOF, or referred to an "
                  "authority outside, by where they were sent. A case sent to two places "
                  "counts for each."),
               tables["escalations_by_destination"], _l("escalations"), DESTINATION,
               labels=_destination_labels(units, authorities)),
        Figure("recusals_by_unit", _l("Conflicts of interest declared"),
               _l("How many times in the period a reader declared a conflict of interest "
                  "on a case and stepped aside from it."),
               tables["recusals_by_unit"], _l("declarations"), UNIT, labels=units.labels),
    ]


def _destinations(units: Units, authorities: Sequence[ReferralAuthority],
                  counted: Iterable[str]) -> tuple[str, ...]:
    # Every unit and configured authority has its row (destination codes and unit ids do
    # not overlap: authorities are outside bodies); an authority since removed from the
    # configuration keeps its row where it has a count.
    known = units.ids + tuple(a.code for a in authorities if a.code not in units.ids)
    return known + tuple(sorted(set(counted) - set(known)))


def _destination_labels(units: Units, authorities: Sequence[ReferralAuthority]) -> Labels:
    # Authorities' names are proper names, given in both languages by the configuration.
    return {**{a.code: LazyString(by_language, a.name_sv, a.name_en) for a in authorities},
            **units.labels}


def identity_requests(tables: dict[str, CountTable]) -> Figure:
    """Identity requests made in the period, by where they stand now."""
    return Figure("identity_requests", _l("Requests to learn a reporter's identity"),
                  _l("Requests made in the period to read a confidential reporter's "
                     "identity (each needs a second person's approval), by the decision."),
                  tables["identity_requests"], _l("requests"), REQUEST_STATUS,
                  labels=REQUEST_LABELS)


def figures(session: Session, period: Period, *,
            authorities: Sequence[ReferralAuthority] = (),
            counts_only: bool = False, counts: Counts | None = None) -> list[AnyFigure]:
    """Every figure of ``period``, in the order a report shows them; the art. 27(2)
    figures only for a year. ``authorities``: the configured referral authorities
    (``casework.config.referral_authorities``), so each has its row even at zero.
    ``counts_only``: only the count tables a year shares with its quarters (what
    protecting another period of the family needs), no durations, no art. 27(2).
    ``counts``: the period's cells if already counted (``.counts.family_counts``);
    counted here otherwise."""
    units = Units.load(session)
    tables = count_tables(counts if counts is not None else count_period(session, period),
                          units, authorities)
    receipts = received(tables, units)
    handled = handling(tables, units, authorities)
    found: list[AnyFigure] = [*receipts, *handled, *deadlines(tables, units),
                              *([] if counts_only else days_figures(session, period, units)),
                              open_by_age(tables, units), identity_requests(tables)]
    if period.kind == "year" and not counts_only:
        found.extend(annual_figures(session, period, units, tables["received_by_unit_category"],
                                    tables["outcomes_by_unit"]))
    return found


def tables_of(found: Iterable[AnyFigure]) -> list[CountTable]:
    """Each count table once (a slice shares its table), in order: what to protect."""
    tables: dict[str, CountTable] = {}
    for figure in found:
        if isinstance(figure, Figure):
            tables.setdefault(figure.table.id, figure.table)
    return list(tables.values())
