"""Disclosure control of the magnitude figures: durations in days and sums of kronor.

Count tables go through :func:`.disclosure.protect`; what this module releases is the
rest, from the same figures, for the dashboard and releases alike
(:func:`release_magnitudes`, called by ``releases.protected_figures``): neither shows a
value the other would hide.

**Durations** (median and 90th percentile days, ``disclosure.release_days``): a group of
fewer than k cases is hidden, with its n; so is one whose n would give away a margin its
count table hides. A percentile is an order statistic, one real case's duration, so it
is published only in whole days and only for k cases or more.

**Sums of kronor** (art. 27(2), :func:`protect_amounts`), a magnitude table: one sum
per unit and their total. A sum is hidden (primary) when

- fewer than k cases contribute, or their count is hidden in the count table;
- the (2, 85 %) dominance rule fails: its two largest contributions make up more than
  85 % of it. Either of the two could subtract its own amount and learn the other's
  within 15 % of the sum; passing the rule implies the p % rule for p = 15 (the rest is
  at least 15 % of the sum, so at least 15 % of the largest contribution).

Then secondary suppression, with the linear programs of :mod:`.disclosure_lp` over the
one additive equation (the units' sums add up to the total): every hidden sum must keep
an attacker's interval at least :func:`amount_protection` wide (15 % of the sum, at
least one krona), or more sums are hidden, the cheapest (smallest) first.

**Releases of one period.** A sum or a group hidden in an earlier release of the period
is hidden again; one an earlier release showed is shown again only with the SAME value
(a changed value is hidden): the difference of two values would be the figure of the
cases added between the releases, perhaps one case. So a correction never publishes a
new magnitude for a population an earlier release described.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import StatisticsRelease
from . import export
from .disclosure_days import ReleasedDays, release_days, whole_days
from .disclosure_lp import EPS, Model, deviation, interval
from .figures_base import AmountFigure, AmountGroup, DaysFigure, Figure
from .periods import Period
from .tables import TOTAL, ReleasedCell, ReleasedTable, Suppression

DOMINANCE_CONTRIBUTORS = 2  # the (n, k) dominance rule: n = 2 ...
DOMINANCE_PERCENT = 85  # ... k = 85 %
AMOUNT_PROTECTION_PERCENT = 15  # a hidden sum's interval: at least 15 % of it
MAX_ROUNDS = 50  # protector LPs before hiding every sum of the figure

Key = tuple[str, str]


@dataclass(frozen=True)
class Magnitudes:
    """The released durations (figure id -> group -> released) and sums (figure id ->
    a one-column table: a row per unit, TOTAL the sum over all units)."""

    days: Mapping[str, Mapping[str, ReleasedDays]]
    amounts: Mapping[str, ReleasedTable]


def dominated(group: AmountGroup) -> bool:
    """The (2, 85 %) rule fails: the two largest contributions exceed 85 % of the sum."""
    _n, total, largest, second = group
    return total > 0 and 100 * (largest + second) > DOMINANCE_PERCENT * total


def amount_protection(value: int) -> int:
    """How wide an attacker's interval of a hidden sum must stay (kronor)."""
    return max(1, math.ceil(value * AMOUNT_PROTECTION_PERCENT / 100))


def _earlier_hidden(key: object, value: object,
                    earlier: Iterable[Mapping[Any, object]]) -> bool:
    """Hidden by an earlier release (absent there: no constraint), or shown there with
    another value."""
    for before in earlier:
        if key not in before:
            continue
        shown = before[key]
        if shown is None or shown != value:
            return True
    return False


def protect_amounts(figure: AmountFigure, k: int, counts: ReleasedTable | None = None,
                    earlier: Sequence[ReleasedTable] = ()) -> ReleasedTable:
    """The sums of ``figure`` as they may be published (a row per unit and TOTAL).

    ``counts``: the released count table of the contributing cases (a sum is hidden
    where its count is). ``earlier``: the same figure in earlier releases of the period.
    """
    keys: list[Key] = [(row, TOTAL) for row in figure.rows] + [(TOTAL, TOTAL)]
    groups = {key: figure.groups.get(key[0], (0, 0, 0, 0)) for key in keys}
    before = [{key: cell.value for key, cell in table.cells.items()} for table in earlier]
    reason: dict[Key, Suppression] = {}
    for key in keys:
        n, total, _largest, _second = groups[key]
        count = None if counts is None else counts.cells.get(key)
        if 0 < n < k or dominated(groups[key]) or (count is not None and count.value is None):
            reason[key] = Suppression.PRIMARY
        elif _earlier_hidden(key, total, before):
            reason[key] = Suppression.CARRIED
    reason = _secondary(keys, {key: groups[key][1] for key in keys}, reason)
    return ReleasedTable(figure.id, figure.rows, (TOTAL,), {
        key: ReleasedCell(None, reason[key]) if key in reason
        else ReleasedCell(groups[key][1]) for key in keys})


def _secondary(keys: list[Key], values: Mapping[Key, int],
               reason: dict[Key, Suppression]) -> dict[Key, Suppression]:
    """More sums hidden until every hidden one keeps its protection (the LP audit)."""
    if not reason:
        return reason
    model = Model()
    index = {key: model.add(key, float(values[key]), known=key not in reason, current=True,
                            inner=key[0] != TOTAL) for key in keys}
    model.equations.append({index[key]: (-1.0 if key[0] == TOTAL else 1.0) for key in keys})
    weight = [1.0 + float(values[key]) for key in keys]
    queue = sorted(reason, key=keys.index)
    rounds = 0
    while queue:
        target = queue.pop(0)
        needed = amount_protection(values[target])
        lo, hi = interval(model, index[target])
        if hi - lo >= needed - EPS:
            continue
        rounds += 1
        moved = deviation(model, index[target], float(needed), weight)
        added = [key for key in keys if moved and index[key] in moved and model.known[index[key]]]
        if not added or rounds > MAX_ROUNDS:
            return {key: reason.get(key, Suppression.SECONDARY) for key in keys}
        for key in added:
            reason[key] = Suppression.SECONDARY
            model.known[index[key]] = False
        # The cells hidden so far are checked again against the larger unknown set.
        queue = sorted(reason, key=keys.index)
    return reason


def protect_days(figure: DaysFigure, k: int, counts: ReleasedTable | None = None,
                 earlier: Sequence[Mapping[str, ReleasedDays]] = ()
                 ) -> dict[str, ReleasedDays]:
    """The groups of a durations figure as they may be published (see the module)."""
    # One value per group to compare: (n, median, p90) as shown, or None where hidden.
    before = [{name: None if days.suppressed or days.n is None
               else (days.n, days.median, days.p90) for name, days in groups.items()}
              for groups in earlier]
    hidden = [name for name, (n, median, p90) in figure.groups.items()
              if _earlier_hidden(name, (n, whole_days(median) if n else None,
                                        whole_days(p90) if n else None), before)]
    return release_days(figure, k, counts, hidden)


def release_magnitudes(found: Iterable[object], released: Sequence[ReleasedTable], k: int,
                       earlier: Sequence[Magnitudes] = ()) -> Magnitudes:
    """Every durations and amounts figure of ``found``, released; ``released``: the
    count tables as :func:`.disclosure.protect` released them."""
    by_id = {t.id: t for t in released}
    days: dict[str, Mapping[str, ReleasedDays]] = {}
    amounts: dict[str, ReleasedTable] = {}
    for figure in found:
        if isinstance(figure, DaysFigure):
            days[figure.id] = protect_days(
                figure, k, by_id.get(figure.counts_table),
                [e.days[figure.id] for e in earlier if figure.id in e.days])
        elif isinstance(figure, AmountFigure):
            amounts[figure.id] = protect_amounts(
                figure, k, by_id.get(figure.counts_table),
                [e.amounts[figure.id] for e in earlier if figure.id in e.amounts])
        elif not isinstance(figure, Figure):  # pragma: no cover (a new kind of figure)
            raise TypeError(f"no disclosure control for {type(figure).__name__}")
    return Magnitudes(days, amounts)


def earlier_magnitudes(session: Session, period: Period) -> list[Magnitudes]:
    """What the earlier releases of ``period`` published of the magnitudes, oldest
    first (a release of schema 1 published none)."""
    found = []
    for (stored,) in session.execute(
            select(StatisticsRelease.tables).where(StatisticsRelease.period == period.label)
            .order_by(StatisticsRelease.released_at, StatisticsRelease.id)).all():
        document = export.from_json(stored)
        found.append(Magnitudes(document.durations, {t.id: t for t in document.amounts}))
    return found


__all__ = ["Magnitudes", "amount_protection", "dominated", "earlier_magnitudes",
           "protect_amounts", "protect_days", "release_magnitudes"]
