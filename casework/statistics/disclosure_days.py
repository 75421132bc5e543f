"""Disclosure control of a durations figure's groups: n, median and 90th percentile.

A group's n is a count like any other; its median and 90th percentile are order
statistics, the durations of one or two real cases. So a group is published only for k
cases or more, in whole days, and never where the count table whose margin is its n hides
that margin (``DaysFigure.counts_table``, protected with the count tables, across the
year and its quarters too: :mod:`.disclosure_periods`). Apart from :mod:`.disclosure`,
which protects the count tables, because the rules differ: nothing here is solved.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from .tables import TOTAL, ReleasedTable, Suppression

__all__ = ["ReleasedDays", "release_days", "whole_days"]


class _DaysFigure(Protocol):
    @property
    def groups(self) -> Mapping[str, tuple[int, float | None, float | None]]: ...


@dataclass(frozen=True)
class ReleasedDays:
    """One group of a days figure as published: n, median and 90th percentile in whole
    days, or all three None with the reason."""

    n: int | None
    median: int | None
    p90: int | None
    suppressed: Suppression | None = None


def whole_days(value: float | None) -> int | None:
    """A duration as published: whole days, a half rounded up (the median of an even
    number of cases is the mean of the middle two)."""
    return None if value is None else math.floor(value + 0.5)


def release_days(figure: _DaysFigure, k: int, counts: ReleasedTable | None = None,
                 hidden: Iterable[str] = ()) -> dict[str, ReleasedDays]:
    """Publish a days figure's groups: a group of fewer than k cases shows nothing (its
    n would count fewer than k, its median and percentile describe one or two cases).
    A median or percentile is an order statistic, one real case's duration: it is only
    ever published for k cases or more, and in whole days.

    ``hidden``: groups to hide whatever their size (an earlier release of the period
    hid them, or showed other values: see :mod:`.magnitudes`).

    ``counts``: the released table whose row margins (and grand total, for the group
    :data:`TOTAL`) are these groups' n (``DaysFigure.counts_table``): a group is hidden
    wherever that table hides its margin, or its n would give the margin away.

    A group keyed :data:`TOTAL` is the overall figure of which the others are parts: if
    it is published and exactly one part is hidden, that part's n would be the total
    minus the others, so the smallest other part is hidden too. A group of 0 cases shows
    n = 0 and no median.
    """
    out: dict[str, ReleasedDays] = {}
    carried = set(hidden)
    for name, (n, median, p90) in figure.groups.items():
        margin = None if counts is None else counts.cells.get(
            (TOTAL, TOTAL) if name == TOTAL else (name, TOTAL))
        if 0 < n < k:
            out[name] = ReleasedDays(None, None, None, Suppression.PRIMARY)
        elif name in carried:
            out[name] = ReleasedDays(None, None, None, Suppression.CARRIED)
        elif margin is not None and margin.value is None:
            out[name] = ReleasedDays(None, None, None,
                                     margin.suppressed or Suppression.SECONDARY)
        else:
            out[name] = ReleasedDays(n, whole_days(median) if n else None,
                                     whole_days(p90) if n else None)
    overall = out.get(TOTAL)
    parts = [g for g in figure.groups if g != TOTAL]
    hidden = [g for g in parts if out[g].suppressed]
    if overall is not None and overall.suppressed is None and len(hidden) == 1:
        shown = sorted((figure.groups[g][0], g) for g in parts
                       if g not in hidden and figure.groups[g][0] > 0)
        if shown:
            out[shown[0][1]] = ReleasedDays(None, None, None, Suppression.SECONDARY)
        else:  # the hidden part is the whole total: hide the total instead
            out[TOTAL] = ReleasedDays(None, None, None, Suppression.SECONDARY)
    return out
