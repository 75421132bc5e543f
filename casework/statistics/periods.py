"""The periods statistics are counted over: a calendar quarter or a calendar year.

A figure never names a date finer than its period, so the period is the only time a
released table carries. ``start`` is the first day, ``end`` the first day after it
(exclusive), so that adjacent periods meet without overlapping: a case received on the
last day of a quarter counts in that quarter, one received the next day in the next.

Dates on a case (received, acknowledged, feedback) are compared as dates; moments
(a stage change, an escalation, a declared conflict) are stored in UTC without a time
zone and are compared with :attr:`Period.start_at` and :attr:`Period.end_at`, midnight
UTC: an event in the first hour or two of a Swedish New Year's Day counts in the old
year. That is consistent across releases, which is what matters for differencing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from flask_babel import lazy_gettext as _l

from ..errors import InvalidInput

PeriodKind = Literal["quarter", "year"]

# "2026-Q3" or "2026"; nothing else (no whitespace, no lower-case q, no other widths).
_PERIOD = re.compile(r"(?P<year>[0-9]{4})(?:-Q(?P<quarter>[1-4]))?")
# Lykta did not exist before 2000, and a year past 9998 would overflow ``end``.
FIRST_YEAR = 2000
LAST_YEAR = 9998


class InvalidPeriod(InvalidInput):
    """The period is not "YYYY-Qn" or "YYYY" within the supported years (400)."""


@dataclass(frozen=True)
class Period:
    """A calendar quarter (``quarter`` 1-4) or a calendar year (``quarter`` None)."""

    kind: PeriodKind
    year: int
    quarter: int | None = None

    def __post_init__(self) -> None:
        if not FIRST_YEAR <= self.year <= LAST_YEAR:
            raise InvalidPeriod(_l("a period's year must be between %(first)s and %(last)s",
                                   first=FIRST_YEAR, last=LAST_YEAR))
        if (self.kind == "quarter") != (self.quarter in (1, 2, 3, 4)) or \
                self.kind not in ("quarter", "year"):
            raise InvalidPeriod(_l("a period is a quarter (1 to 4) of a year, or a year"))

    # --- construction ---------------------------------------------------------------

    @classmethod
    def parse(cls, text: object) -> Period:
        """``"2026-Q3"`` or ``"2026"``; anything else raises :class:`InvalidPeriod`."""
        match = _PERIOD.fullmatch(text) if isinstance(text, str) and len(text) <= 7 else None
        if match is None:
            raise InvalidPeriod(_l('write a period as a year ("2026") or a quarter '
                                   '("2026-Q3")'))
        year = int(match["year"])
        if match["quarter"] is None:
            return cls("year", year)
        return cls("quarter", year, int(match["quarter"]))

    @classmethod
    def of_year(cls, year: int) -> Period:
        return cls("year", year)

    @classmethod
    def quarter_of(cls, day: dt.date) -> Period:
        """The quarter ``day`` falls in."""
        return cls("quarter", day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def current_quarter(cls, today: dt.date) -> Period:
        return cls.quarter_of(today)

    @classmethod
    def previous_quarter(cls, today: dt.date) -> Period:
        """The last quarter that has ended by ``today`` (what a quarterly report covers)."""
        return cls.quarter_of(cls.quarter_of(today).start - dt.timedelta(days=1))

    @classmethod
    def previous_year(cls, today: dt.date) -> Period:
        """The last calendar year that has ended (what the spring's annual report covers)."""
        return cls("year", today.year - 1)

    # --- what it covers -------------------------------------------------------------

    @property
    def start(self) -> dt.date:
        """The first day of the period."""
        if self.quarter is None:
            return dt.date(self.year, 1, 1)
        return dt.date(self.year, 3 * (self.quarter - 1) + 1, 1)

    @property
    def end(self) -> dt.date:
        """The first day after the period (exclusive)."""
        if self.quarter is None or self.quarter == 4:
            return dt.date(self.year + 1, 1, 1)
        return dt.date(self.year, 3 * self.quarter + 1, 1)

    @property
    def start_at(self) -> dt.datetime:
        """Midnight UTC at the start (naive, as moments are stored)."""
        return dt.datetime.combine(self.start, dt.time())

    @property
    def end_at(self) -> dt.datetime:
        """Midnight UTC after the last day (exclusive)."""
        return dt.datetime.combine(self.end, dt.time())

    @property
    def label(self) -> str:
        """"2026-Q3" or "2026": the only time a released table names."""
        return str(self.year) if self.quarter is None else f"{self.year}-Q{self.quarter}"

    def __str__(self) -> str:
        return self.label

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def quarters(self) -> tuple[Period, ...]:
        """The quarters of a year (a quarter is its own only quarter)."""
        if self.quarter is not None:
            return (self,)
        return tuple(Period("quarter", self.year, q) for q in (1, 2, 3, 4))

    def has_ended(self, today: dt.date) -> bool:
        """True once ``today`` is past the period (a release of it is final in shape)."""
        return today >= self.end


@dataclass(frozen=True)
class Span:
    """Consecutive periods counted in one pass (``casework.statistics.counts``): one
    period, or a year's four quarters. Each query reads the span's rows once and labels
    each row with the period it falls in (:meth:`bucket`), instead of reading the year
    and then each quarter again."""

    periods: tuple[Period, ...]

    def __post_init__(self) -> None:
        if not self.periods or any(a.end != b.start for a, b in
                                   zip(self.periods, self.periods[1:], strict=False)):
            raise ValueError("a span is one or more consecutive periods")

    @classmethod
    def of(cls, period: Period) -> Span:
        return cls((period,))

    @property
    def start(self) -> dt.date:
        return self.periods[0].start

    @property
    def end(self) -> dt.date:
        return self.periods[-1].end

    @property
    def start_at(self) -> dt.datetime:
        return self.periods[0].start_at

    @property
    def end_at(self) -> dt.datetime:
        return self.periods[-1].end_at

    @property
    def many(self) -> bool:
        """More than one period: queries select and group by the period
        (``stage_history.period_index``)."""
        return len(self.periods) > 1
