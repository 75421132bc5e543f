"""Publishing KOF's quarterly and annual releases, and reading them back as a report.

A release is the figures of one ended period, put through disclosure control and frozen:
the released tables (in the export schema, :mod:`.export`), the suppression pattern, the
disclosure settings used, and the audit log's head at the period's end. Decisions:

* **Only an ended period.** The figures of a quarter or year still running change every
  day; a report of them would be contradicted by the next one (and two such releases,
  differenced, would tell the cases of the days between). Refused with 409.
* **A correction is a new release.** A second release of the same period is allowed (a
  late-registered case, a fixed outcome) and never replaces the first: both stay
  published. So it suppresses at least every cell the earlier ones did (``carried``):
  otherwise a cell suppressed in the first and shown in the second would be revealed
  simply by reading the second.
* **The audit head at the period's end**, not at publishing: the last entry logged before
  the period ended (``at`` < ``period.end``). Printed in the report, it lets anyone later
  check, with a verified export of the log, that the entries the figures rest on were not
  rewritten since (docs/statistics.md, "Releases and reports").
* **What is stored is what was published.** The report (HTML, PDF) and the API read the
  stored tables, never the live cases, so a report reads the same in ten years.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.unit_of_work import emit_on

from ..config import CaseworkConfig
from ..errors import CaseworkError, InvalidInput, NotPermitted
from ..events import StatisticsReleased
from ..models import AuditEntry, ReleaseKind, Role, StatisticsRelease, User
from ..models.base import random_id, utcnow
from ..services import Casework
from . import disclosure, disclosure_periods, export
from .counts import family_counts
from .disclosure import ReleasedDays
from .figures import OVER_TIME, AnyFigure, figures, tables_of
from .figures_base import AmountFigure, DaysFigure, Figure
from .magnitudes import Magnitudes, earlier_magnitudes, release_magnitudes
from .periods import Period
from .tables import TOTAL, ReleasedTable

# The kind of period each kind of release covers.
PERIOD_KIND = {ReleaseKind.QUARTERLY: "quarter", ReleaseKind.ANNUAL: "year"}
# How far back the publish form offers ended periods.
OFFERED_YEARS = 2
EMPTY_CHAIN_HASH = "00" * 32  # the head of an empty log (casework.audit.chain.GENESIS)


class PeriodNotEnded(CaseworkError):
    """The period is still running: its figures would change."""

    status = 409
    title = _l("The period has not ended")
    explanation = _l("Only a quarter or a year that has ended can be published: the "
                     "figures of a period still running change every day, and a later "
                     "release would contradict this one. Nothing was published.")


class ReleaseNotFound(CaseworkError):
    """No release has this id."""

    status = 404
    title = _l("No such release")
    explanation = _l("There is no published release with this address.")


def _statistician(user: User) -> None:
    if Role.STATISTICIAN not in user.roles:
        raise NotPermitted()


def ended_periods(today: dt.date, years: int = OFFERED_YEARS) -> list[Period]:
    """The quarters and years that ended within the last ``years`` years, newest first
    (what the publish form offers; older ones may still be published by typing them)."""
    found: list[Period] = []
    quarter = Period.previous_quarter(today)
    for _ in range(4 * years):
        found.append(quarter)
        quarter = Period.previous_quarter(quarter.start)
    for back in range(1, years + 1):
        found.append(Period.parse(str(today.year - back)))
    return found


def audit_head_before(session: Session, end: dt.date) -> tuple[int, str]:
    """The sequence number and hash (hex) of the last audit entry logged before ``end``
    (midnight UTC, exclusive); (0, zeros) when nothing was logged by then."""
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.hash)
        .where(AuditEntry.at < dt.datetime.combine(end, dt.time()))
        .order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (0, EMPTY_CHAIN_HASH) if row is None else (row[0], bytes(row[1]).hex())


def earlier_releases(session: Session, period: Period
                     ) -> tuple[dict[str, set[tuple[str, str]]], list[ReleasedTable]]:
    """What the earlier releases of ``period`` published, oldest first: every cell they
    suppressed, by table (the pattern to carry), and their tables (which an attacker
    holds and may difference against the new one)."""
    carried: dict[str, set[tuple[str, str]]] = {}
    tables: list[ReleasedTable] = []
    for pattern, stored in session.execute(
            select(StatisticsRelease.pattern, StatisticsRelease.tables)
            .where(StatisticsRelease.period == period.label)
            .order_by(StatisticsRelease.released_at, StatisticsRelease.id)).all():
        for table_id, keys in json.loads(pattern).items():
            carried.setdefault(table_id, set()).update((str(r), str(c)) for r, c in keys)
        tables.extend(export.from_json(stored).tables)
    return carried, tables


def carried_pattern(session: Session, period: Period) -> dict[str, set[tuple[str, str]]]:
    """Every cell suppressed in an earlier release of ``period``, by table (pass the
    tables of :func:`earlier_releases` to ``protect`` too: see ``disclosure.protect``)."""
    return earlier_releases(session, period)[0]


def protected_figures(session: Session, config: CaseworkConfig, period: Period
                      ) -> tuple[list[AnyFigure], list[ReleasedTable], Magnitudes]:
    """The period's figures and everything of them that may be published, as a release
    of it would publish them (the dashboard shows the same: one source). Carries the
    pattern of every release of the period already published, with their tables and
    magnitudes in the attacker's hands; and protected with the year and quarters it
    belongs to (:mod:`.disclosure_periods`): against their releases, and so that the one
    published last is protected too, whatever the order."""
    # One pass over the year counts the whole family (.counts.family_counts): the
    # period's own count tables and the four others' come from it.
    counted = family_counts(session, Period.of_year(period.year))
    authorities = config.referral_authorities
    found = figures(session, period, authorities=authorities, counts=counted[period])
    carried, previous = earlier_releases(session, period)
    members = [disclosure_periods.Member(
        other, tables_of(figures(session, other, authorities=authorities, counts_only=True,
                                 counts=counted[other])),
        earlier_releases(session, other)[1])
        for other in disclosure_periods.family(period) if other != period]
    released = disclosure_periods.protect_in_family(
        period, tables_of(found), members, OVER_TIME, k=config.statistics_k,
        protection=config.statistics_protection, carried=carried, previous=previous)
    magnitudes = release_magnitudes(found, released, config.statistics_k,
                                    earlier_magnitudes(session, period))
    return found, released, magnitudes


def publish(casework: Casework, session: Session, user: User, kind: ReleaseKind,
            period: Period, today: dt.date | None = None) -> StatisticsRelease:
    """A statistician publishes ``period``'s figures as a release of ``kind``."""
    _statistician(user)
    if PERIOD_KIND[kind] != period.kind:
        raise InvalidInput(_l("A quarterly release covers a quarter, an annual release a "
                              "year. Nothing was published."))
    today = today or dt.datetime.now(dt.UTC).date()
    if not period.has_ended(today):
        raise PeriodNotEnded()
    config = casework.config
    found, released, magnitudes = protected_figures(session, config, period)
    seq, head = audit_head_before(session, period.end)
    release = StatisticsRelease(
        id=random_id(), kind=kind.value, period=period.label, released_at=utcnow(),
        released_by=user.id, k=config.statistics_k, protection=config.statistics_protection,
        audit_seq=seq, audit_hash=head,
        tables=_stored_tables(released, found, magnitudes, period, kind,
                              config.statistics_k, config.statistics_protection),
        pattern=json.dumps(disclosure.pattern_of(released), sort_keys=True))
    session.add(release)
    session.flush()
    emit_on(session, StatisticsReleased(user.id, release.id, period.label, kind.value))
    return release


def releases(session: Session, user: User) -> list[StatisticsRelease]:
    """Every release, newest first."""
    _statistician(user)
    return list(session.scalars(select(StatisticsRelease)
                                .order_by(StatisticsRelease.released_at.desc(),
                                          StatisticsRelease.id)))


# --- the report: what a release shows -------------------------------------------------


@dataclass(frozen=True)
class ReportFigure:
    """One released figure as the report shows it."""

    id: str
    title: str
    note: str
    table: ReleasedTable
    labels: Mapping[str, str]  # row and column codes -> their names as published

    def label(self, code: str) -> str:
        """The name of a row or column key as published (the key if it has none)."""
        if code == TOTAL:
            return str(_l("Total"))
        return self.labels.get(code, code)


@dataclass(frozen=True)
class ReportDurations:
    """One released durations figure: per group, n, median and 90th percentile."""

    id: str
    title: str
    note: str
    groups: Mapping[str, ReleasedDays]
    labels: Mapping[str, str]

    def label(self, code: str) -> str:
        if code == TOTAL:
            return str(_l("All units"))
        return self.labels.get(code, code)


@dataclass(frozen=True)
class Report:
    """A release and its figures, read back from what was stored (a release of schema
    1 has no durations and no amounts)."""

    release: StatisticsRelease
    figures: list[ReportFigure]
    corrects: list[StatisticsRelease]  # earlier releases of the same period
    durations: list[ReportDurations] = field(default_factory=list)
    amounts: list[ReportFigure] = field(default_factory=list)  # sums of kronor

    @property
    def suppressed_any(self) -> bool:
        return any(f.table.suppressed for f in self.figures)


def report(session: Session, user: User, release_id: str) -> Report:
    """The release ``release_id`` (404 if there is none) and its figures."""
    _statistician(user)
    release = session.get(StatisticsRelease, release_id[:32])
    if release is None:
        raise ReleaseNotFound()
    earlier = [r for r in session.scalars(
        select(StatisticsRelease).where(StatisticsRelease.period == release.period,
                                        StatisticsRelease.released_at < release.released_at)
        .order_by(StatisticsRelease.released_at))]
    durations, amounts = load_magnitudes(release.tables)
    return Report(release, load_figures(release.tables), earlier, durations, amounts)


# --- the stored form: the export schema (casework.statistics.export) ------------------


def _stored_tables(released: Sequence[ReleasedTable], found: Sequence[AnyFigure],
                   magnitudes: Magnitudes, period: Period, kind: ReleaseKind, k: int,
                   protection: int) -> str:
    """The released figures as a ``lykta-statistics`` document. A table several figures
    show (each a slice of it) takes the title and note of the first, preferably the one
    that shows it whole; its keys' names are frozen in the language of publishing."""
    titles: dict[str, object] = {}
    notes: dict[str, object] = {}
    labels: dict[str, dict[str, str]] = {}
    for other in found:
        if isinstance(other, DaysFigure | AmountFigure):
            titles[other.id], notes[other.id] = other.title, other.note
            codes = other.groups if isinstance(other, DaysFigure) else other.rows
            labels[other.id] = {code: other.label(code) for code in sorted(codes)
                                if code != TOTAL}
    counted = [f for f in found if isinstance(f, Figure)]
    for figure in sorted(counted, key=lambda f: f.columns is not None):
        table_id = figure.table.id
        if table_id in titles:
            continue
        titles[table_id], notes[table_id] = figure.title, figure.note
        keys = {*figure.table.rows, *figure.table.columns} - {TOTAL}
        labels[table_id] = {key: figure.label(key) for key in sorted(keys)}
    return export.to_json(released, period=period, kind=kind.value, k=k,
                          protection=protection, titles=titles, notes=notes, labels=labels,
                          durations=magnitudes.days,
                          amounts=list(magnitudes.amounts.values()))


def load_figures(text: str) -> list[ReportFigure]:
    """The figures of a stored release: each table with its title, note and names."""
    document = export.from_json(text)
    return [ReportFigure(id=table.id, title=document.titles.get(table.id, table.id),
                         note=document.notes.get(table.id, ""), table=table,
                         labels=document.labels.get(table.id, {}))
            for table in document.tables]


def load_magnitudes(text: str) -> tuple[list[ReportDurations], list[ReportFigure]]:
    """The durations and sums of a stored release (none in a schema 1 release)."""
    document = export.from_json(text)
    durations = [ReportDurations(figure_id, document.titles.get(figure_id, figure_id),
                                 document.notes.get(figure_id, ""), groups,
                                 document.labels.get(figure_id, {}))
                 for figure_id, groups in document.durations.items()]
    amounts = [ReportFigure(id=table.id, title=document.titles.get(table.id, table.id),
                            note=document.notes.get(table.id, ""), table=table,
                            labels=document.labels.get(table.id, {}))
               for table in document.amounts]
    return durations, amounts


def ordered_keys(table: ReleasedTable) -> Iterable[tuple[str, tuple[str, ...]]]:
    """Each row of ``table`` (inner rows, then the total) with the columns to print."""
    columns = table.columns if table.columns == (TOTAL,) else (*table.columns, TOTAL)
    for row in (*table.rows, TOTAL):
        yield row, columns
