"""The versioned export schema of released figures: JSON and CSV.

Schema ``lykta-statistics/2`` (documented field by field in docs/statistics.md):

.. code-block:: json

    {"schema": "lykta-statistics/2", "period": "2026", "kind": "annual",
     "k": 5, "protection": 5,
     "tables": [{"id": "received_by_category", "title": "Reports received by category",
                 "note": "What it means ... (optional)",
                 "labels": {"corruption": "Corruption or bribery", ...} (optional),
                 "rows": ["corruption", "ethics"], "columns": ["total"],
                 "cells": [["corruption", "total", 12, null],
                           ["ethics", "total", null, "c"],
                           ["total", "total", 15, null]]}],
     "durations": [{"id": "days_to_feedback", "title": "...", "unit": "days",
                    "groups": [["etik", 12, 30, 88, null], ["akt", null, null, null, "c"],
                               ["total", 20, 41, 90, null]]}],
     "amounts": [{"id": "art27_damage_sek", "title": "...", "unit": "SEK",
                  "rows": ["etik", "akt"], "columns": ["total"],
                  "cells": [["etik", "total", 1250000, null], ...]}],
     "legend": {":c": "..."}}

A cell is ``[row, column, value, flag]``: ``value`` is null exactly when ``flag`` is
``"c"`` (suppressed); margins use the key ``"total"``. A durations group is ``[group, n,
median, p90, flag]`` in whole days, all three null exactly when flagged ``"c"``. Why
anything is suppressed is never published: that a cell is small would tell it counts
1..k-1, narrower than the protection guaranteed. Schema 1 is schema 2 without
``durations`` and ``amounts``; :func:`from_json` reads both (releases published under
1 stay as they were). The CSV has one line per value: ``table,row,column,value,flag``
with ``:c`` as the value of a suppressed one and ``c`` as the flag; a durations group
gives three lines (columns ``n``, ``median``, ``p90``), a sum one (column ``total``).

Only released figures go in, so an export holds what the dashboard shows and nothing
else: keys (unit ids, category and outcome codes), counts, whole days, sums of kronor
and the period's label; never a case id, a reference or a date finer than the period.
:func:`from_json` reads a stored release back (casework.statistics.releases, the API)
and refuses anything malformed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .disclosure import ReleasedDays
from .tables import ReleasedCell, ReleasedTable, Suppression

SCHEMA_VERSION = "2"
SCHEMA = f"lykta-statistics/{SCHEMA_VERSION}"
SCHEMA_V1 = "lykta-statistics/1"  # count tables only: still read (older releases)
CSV_HEADER = ("table", "row", "column", "value", "flag")
DAYS_COLUMNS = ("n", "median", "p90")  # a durations group's CSV lines
DAYS_UNIT, AMOUNT_UNIT = "days", "SEK"
Durations = Mapping[str, Mapping[str, ReleasedDays]]  # figure id -> group -> released

# Data files keep one wording whatever the reader's language (they are for machines and
# for the public record); the dashboard explains the same in the reader's language.
LEGEND: dict[str, str] = {
    ":c": "confidential: the cell is suppressed by disclosure control and its value is "
          "not published. A cell is suppressed when it counts fewer than k cases, when it "
          "would let such a cell be worked out from the published cells and totals, or "
          "because an earlier release of the same period suppressed it; which of these "
          "applies is not published. A median or 90th percentile is suppressed with the "
          "number of its group. A sum of kronor is suppressed when fewer than k cases "
          "contribute, when its two largest contributions make up more than 85 % of it, "
          "when it would let such a sum be worked out from the others and the total, or "
          "because an earlier release of the period suppressed it or showed another value",
}
MAX_BYTES = 5_000_000  # a stored release is far smaller; refuse anything absurd


class ExportFormatError(ValueError):
    """The text is not a valid ``lykta-statistics`` document (schema 1 or 2)."""


@dataclass(frozen=True)
class Export:
    """A document read back by :func:`from_json`."""

    period: str
    kind: str
    k: int
    protection: int
    tables: list[ReleasedTable]
    titles: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # table id -> what it means
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # table id -> key -> name
    durations: dict[str, dict[str, ReleasedDays]] = field(default_factory=dict)
    amounts: list[ReleasedTable] = field(default_factory=list)  # sums of kronor
    schema: str = SCHEMA


def _cells(table: ReleasedTable) -> list[list[Any]]:
    """The table's cells and margins in a stable order: rows by rows, then margins."""
    order = {key: i for i, key in enumerate(table.rows)}
    cols = {key: i for i, key in enumerate(table.columns)}
    keys = sorted(table.cells, key=lambda rc: (order.get(rc[0], len(order)),
                                               cols.get(rc[1], len(cols)), rc))
    out: list[list[Any]] = []
    for row, column in keys:
        cell = table.cells[(row, column)]
        if cell.value is None:
            out.append([row, column, None, Suppression.CONFIDENTIAL.value])
        else:
            out.append([row, column, int(cell.value), None])
    return out


def _label(period: object) -> str:
    """A period's label ("2026-Q3", "2026"), from a Period or the label itself."""
    return str(getattr(period, "label", period))


def _words(out: dict[str, Any], item_id: str, notes: Mapping[str, object] | None,
           labels: Mapping[str, Mapping[str, object]] | None) -> dict[str, Any]:
    if notes is not None and item_id in notes:
        out["note"] = str(notes[item_id])
    if labels is not None and item_id in labels:
        out["labels"] = {str(key): str(name) for key, name in labels[item_id].items()}
    return out


def _table(table: ReleasedTable, titles: Mapping[str, object],
           notes: Mapping[str, object] | None,
           labels: Mapping[str, Mapping[str, object]] | None,
           unit: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": table.id, "title": str(titles.get(table.id, table.id))}
    if unit is not None:
        out["unit"] = unit
    out.update(rows=list(table.rows), columns=list(table.columns), cells=_cells(table))
    return _words(out, table.id, notes, labels)


def _group(name: str, days: ReleasedDays) -> list[Any]:
    if days.suppressed is not None or days.n is None:
        return [name, None, None, None, Suppression.CONFIDENTIAL.value]
    return [name, int(days.n), days.median, days.p90, None]


def _durations(durations: Durations, titles: Mapping[str, object],
               notes: Mapping[str, object] | None,
               labels: Mapping[str, Mapping[str, object]] | None) -> list[dict[str, Any]]:
    return [_words({"id": figure_id, "title": str(titles.get(figure_id, figure_id)),
                    "unit": DAYS_UNIT,
                    "groups": [_group(name, days) for name, days in groups.items()]},
                   figure_id, notes, labels)
            for figure_id, groups in durations.items()]


def as_document(released: Sequence[ReleasedTable], *, period: object, kind: str, k: int,
                protection: int, titles: Mapping[str, object],
                notes: Mapping[str, object] | None = None,
                labels: Mapping[str, Mapping[str, object]] | None = None,
                durations: Durations | None = None,
                amounts: Sequence[ReleasedTable] = ()) -> dict[str, Any]:
    """The export as a JSON-ready dict (titles, notes and labels, keyed by table or
    figure id, may be lazy strings: made ``str`` here, in the language of the moment)."""
    return {
        "schema": SCHEMA,
        "period": _label(period),
        "kind": str(kind),
        "k": int(k),
        "protection": int(protection),
        "tables": [_table(t, titles, notes, labels) for t in released],
        "durations": _durations(durations or {}, titles, notes, labels),
        "amounts": [_table(t, titles, notes, labels, AMOUNT_UNIT) for t in amounts],
        "legend": dict(LEGEND),
    }


def to_json(released: Sequence[ReleasedTable], *, period: object, kind: str, k: int,
            protection: int, titles: Mapping[str, object],
            notes: Mapping[str, object] | None = None,
            labels: Mapping[str, Mapping[str, object]] | None = None,
            durations: Durations | None = None,
            amounts: Sequence[ReleasedTable] = ()) -> str:
    """The released figures as a ``lykta-statistics/2`` JSON document.

    ``period`` is a Period or its label; ``titles`` (and the optional ``notes``, what a
    figure means, and ``labels``, each row and column key's name) are keyed by table or
    figure id; ``durations`` and ``amounts`` as :mod:`.magnitudes` released them.
    """
    document = as_document(released, period=period, kind=kind, k=k, protection=protection,
                           titles=titles, notes=notes, labels=labels, durations=durations,
                           amounts=amounts)
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=False)


def to_csv(released: Sequence[ReleasedTable], *, period: object = "", kind: str = "",
           k: int = 0, protection: int = 0, titles: Mapping[str, object] | None = None,
           notes: Mapping[str, object] | None = None,
           labels: Mapping[str, Mapping[str, object]] | None = None,
           durations: Durations | None = None,
           amounts: Sequence[ReleasedTable] = ()) -> str:
    """One line per value (``table,row,column,value,flag``); ``:c`` for a suppressed one.

    The keyword arguments mirror :func:`to_json` so both are called alike; the CSV carries
    the values only (its file name says the period)."""
    del period, kind, k, protection, titles, notes, labels  # as to_json; not in the CSV
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for table in (*released, *amounts):
        for row, column, value, flag in _cells(table):
            writer.writerow([_safe(table.id), _safe(row), _safe(column),
                             ":c" if value is None else value, flag or ""])
    for figure_id, groups in (durations or {}).items():
        for name, days in groups.items():
            _name, *values, flag = _group(name, days)
            for column, value in zip(DAYS_COLUMNS, values, strict=True):
                writer.writerow([_safe(figure_id), _safe(name), column,
                                 ":c" if flag else ("" if value is None else value),
                                 flag or ""])
    return out.getvalue()


def _safe(text: str) -> str:
    """A key as a CSV field that a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _read_table(raw: object, titles: dict[str, str], notes: dict[str, str],
                labels: dict[str, dict[str, str]]) -> ReleasedTable:
    if not isinstance(raw, dict):
        raise ExportFormatError("a table is not an object")
    table_id = _read_words(raw, titles, notes, labels)
    rows = tuple(_str(r) for r in _list(raw["rows"]))
    columns = tuple(_str(c) for c in _list(raw["columns"]))
    return ReleasedTable(table_id, rows, columns,
                         dict(_cell(c) for c in _list(raw["cells"])))


def _read_words(raw: dict[str, Any], titles: dict[str, str], notes: dict[str, str],
                labels: dict[str, dict[str, str]]) -> str:
    item_id = _str(raw["id"])
    titles[item_id] = _str(raw["title"])
    if "note" in raw:
        notes[item_id] = _str(raw["note"])
    if "labels" in raw:
        if not isinstance(raw["labels"], dict):
            raise ExportFormatError("labels is not an object")
        labels[item_id] = {_str(key): _str(name) for key, name in raw["labels"].items()}
    return item_id


def _read_group(raw: object) -> tuple[str, ReleasedDays]:
    items = _list(raw)
    if len(items) != 5:
        raise ExportFormatError("a durations group is [group, n, median, p90, flag]")
    name, n, median, p90, flag = items
    if flag is not None:
        if flag != Suppression.CONFIDENTIAL.value or (n, median, p90) != (None, None, None):
            raise ExportFormatError("a suppressed group is flagged \"c\" and has no values")
        return _str(name), ReleasedDays(None, None, None, Suppression.CONFIDENTIAL)
    count = _int(n)
    if count == 0:
        if (median, p90) != (None, None):
            raise ExportFormatError("a group of no cases has no median")
        return _str(name), ReleasedDays(0, None, None)
    return _str(name), ReleasedDays(count, _int(median), _int(p90))


def from_json(text: str | bytes) -> Export:
    """Read a ``lykta-statistics/1`` or ``/2`` document back; :class:`ExportFormatError`
    if it is neither (wrong schema, missing fields, a value beside a suppression, ...)."""
    if len(text) > MAX_BYTES:
        raise ExportFormatError("too large")
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExportFormatError("not JSON") from exc
    if not isinstance(document, dict) or document.get("schema") not in (SCHEMA, SCHEMA_V1):
        raise ExportFormatError("not a lykta-statistics/1 or /2 document")
    schema = str(document["schema"])
    try:
        period, kind = _str(document["period"]), _str(document["kind"])
        k, protection = _int(document["k"]), _int(document["protection"])
        titles: dict[str, str] = {}
        notes: dict[str, str] = {}
        labels: dict[str, dict[str, str]] = {}
        tables = [_read_table(raw, titles, notes, labels) for raw in _list(document["tables"])]
        durations: dict[str, dict[str, ReleasedDays]] = {}
        amounts: list[ReleasedTable] = []
        if schema == SCHEMA:
            for raw in _list(document["durations"]):
                if not isinstance(raw, dict):
                    raise ExportFormatError("a durations figure is not an object")
                figure_id = _read_words(raw, titles, notes, labels)
                durations[figure_id] = dict(_read_group(g) for g in _list(raw["groups"]))
            amounts = [_read_table(raw, titles, notes, labels)
                       for raw in _list(document["amounts"])]
    except (KeyError, TypeError) as exc:
        raise ExportFormatError(f"missing or malformed field: {exc}") from exc
    return Export(period, kind, k, protection, tables, titles, notes, labels, durations,
                  amounts, schema)


def _cell(raw: object) -> tuple[tuple[str, str], ReleasedCell]:
    items = _list(raw)
    if len(items) != 4:
        raise ExportFormatError("a cell is [row, column, value, flag]")
    row, column, value, flag = items
    if value is None:
        if flag != Suppression.CONFIDENTIAL.value:
            raise ExportFormatError("a suppressed cell is flagged \"c\"")
        return (_str(row), _str(column)), ReleasedCell(None, Suppression.CONFIDENTIAL)
    if flag is not None:
        raise ExportFormatError("a suppressed cell carries a value")
    return (_str(row), _str(column)), ReleasedCell(_int(value))


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ExportFormatError("expected a string")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ExportFormatError("expected a whole number >= 0")
    return value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise ExportFormatError("expected a list")
    return value


def as_published(tables: Sequence[ReleasedTable]) -> list[ReleasedTable]:
    """``tables`` as every output shows them: each suppressed cell's reason withheld
    (:attr:`Suppression.CONFIDENTIAL`), as :func:`from_json` reads them back."""
    return [ReleasedTable(t.id, t.rows, t.columns, {
        key: cell if cell.value is not None else ReleasedCell(None, Suppression.CONFIDENTIAL)
        for key, cell in t.cells.items()}) for t in tables]
