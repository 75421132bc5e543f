"""The statistician's dashboard, its SVG charts and the CSV/JSON export.

Charts and exports are drawn from released tables only: a suppressed cell shows ``:c``
everywhere (SVG, table, CSV, JSON), never its value; every label is escaped; the export
schema round-trips through ``from_json`` and holds no case id, reference or date.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest

from casework.statistics import charts, export
from casework.statistics.tables import TOTAL, ReleasedCell, ReleasedTable, Suppression

HOSTILE = '<script>alert("x")</script>&"\''
SECRET = 3  # the value behind the suppressed cells below: must never be printed


def one_dimensional() -> ReleasedTable:
    cells = {("etik", TOTAL): ReleasedCell(12), (HOSTILE, TOTAL): ReleasedCell(None,
                                                                            Suppression.PRIMARY),
             ("akt", TOTAL): ReleasedCell(None, Suppression.SECONDARY),
             (TOTAL, TOTAL): ReleasedCell(12 + 9)}
    return ReleasedTable("received_by_unit", ("etik", HOSTILE, "akt"), (TOTAL,), cells)


def two_dimensional() -> ReleasedTable:
    rows, columns = ("etik", "akt"), ("substantiated", "dismissed", "referred")
    cells = {(r, c): ReleasedCell(7 + i + j) for i, r in enumerate(rows)
             for j, c in enumerate(columns)}
    cells[("akt", "referred")] = ReleasedCell(None, Suppression.PRIMARY)
    cells[("akt", "dismissed")] = ReleasedCell(None, Suppression.SECONDARY)
    for r in rows:
        cells[(r, TOTAL)] = ReleasedCell(None if r == "akt" else 24, None if r == "etik"
                                         else Suppression.SECONDARY)
    for c in columns:
        cells[(TOTAL, c)] = ReleasedCell(20)
    cells[(TOTAL, TOTAL)] = ReleasedCell(60)
    return ReleasedTable("outcomes_by_unit", rows, columns, cells)


def parse_svg(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output; well-formedness is the test


# --- charts ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [one_dimensional, two_dimensional])
def test_a_chart_is_well_formed_accessible_svg(make: object) -> None:
    table = make()  # type: ignore[operator]
    svg = str(charts.bar_chart(table, title="Reports <b>", description="What it means"))
    root = parse_svg(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    ident = root.get("id")
    assert root.get("aria-labelledby") == f"{ident}-title {ident}-desc"
    assert root.find(f"{ns}title").text == "Reports <b>"  # type: ignore[union-attr]
    assert root.find(f"{ns}desc").text == "What it means"  # type: ignore[union-attr]
    assert "<script" not in svg and "style=" not in svg and "on" + "load" not in svg


def test_chart_labels_are_escaped() -> None:
    svg = str(charts.bar_chart(one_dimensional(), title=HOSTILE, description=HOSTILE,
                               label=lambda key: f"unit {key}"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    texts = [t.text for t in parse_svg(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert f"unit {HOSTILE}" in texts


def test_a_suppressed_bar_is_a_fixed_outline_labelled_c_never_its_value() -> None:
    table = one_dimensional()
    svg = str(charts.bar_chart(table, title="t"))
    root = parse_svg(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts.count(":c") == 2 and "12" in texts
    hatched = [r for r in root.iter(f"{ns}rect")
               if (r.get("fill") or "").endswith("-suppressed)")]
    assert len(hatched) == 2
    assert {r.get("width") for r in hatched} == {str(charts.SUPPRESSED_WIDTH)}
    assert all(r.get("stroke-dasharray") for r in hatched)
    # The hidden counts of this table (9 in all) are printed nowhere.
    assert not re.search(r">\s*9\s*<", svg) and ">3<" not in svg


def test_a_two_dimensional_chart_has_a_legend_and_a_pattern_per_series() -> None:
    svg = str(charts.bar_chart(two_dimensional(), title="Outcomes"))
    root = parse_svg(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    for series in ("substantiated", "dismissed", "referred"):
        assert series in texts  # the legend names each series
    patterns = {p.get("id") for p in root.iter(f"{ns}pattern")}
    ident = root.get("id")
    assert {f"{ident}-p1", f"{ident}-p2", f"{ident}-suppressed"} <= patterns
    assert texts.count(":c") == 2


def test_the_palette_has_enough_contrast_on_white() -> None:
    assert charts.contrast(charts.INK, "#ffffff") >= 4.5
    for colour in charts.PALETTE:
        assert charts.contrast(colour, "#ffffff") >= 3.0, colour  # WCAG 1.4.11
    assert len(set(charts.PATTERNS)) == len(charts.PATTERNS) == len(charts.PALETTE)


def test_chart_ids_are_safe() -> None:
    assert charts.safe_id('x"><script>') == "chart-x-script"
    assert charts.safe_id("") == "chart-x"


# --- the export schema ----------------------------------------------------------------


def exported(fmt: str) -> str:
    tables = [one_dimensional(), two_dimensional()]
    options = {"period": "2026-Q3", "kind": "quarterly", "k": 5, "protection": 5,
               "titles": {"received_by_unit": "Reports by unit",
                          "outcomes_by_unit": "Outcomes by unit"},
               "notes": {"received_by_unit": "Reports received in the quarter."},
               "labels": {"received_by_unit": {"etik": "Etikkommittén", HOSTILE: "Hostile"}}}
    return export.to_json(tables, **options) if fmt == "json" else export.to_csv(tables, **options)


def test_json_export_round_trips_through_from_json() -> None:
    text = exported("json")
    document = json.loads(text)
    assert document["schema"] == "lykta-statistics/1" == export.SCHEMA
    assert set(document) == {"schema", "period", "kind", "k", "protection", "tables", "legend"}
    assert ":c" in document["legend"]
    back = export.from_json(text)
    assert (back.period, back.kind, back.k, back.protection) == ("2026-Q3", "quarterly", 5, 5)
    assert back.tables == [one_dimensional(), two_dimensional()]
    assert back.titles == {"received_by_unit": "Reports by unit",
                           "outcomes_by_unit": "Outcomes by unit"}
    assert back.notes == {"received_by_unit": "Reports received in the quarter."}
    assert back.labels["received_by_unit"][HOSTILE] == "Hostile"
    assert export.to_json(back.tables, period=back.period, kind=back.kind, k=back.k,
                          protection=back.protection, titles=back.titles, notes=back.notes,
                          labels=back.labels) == text


def test_suppressed_cells_carry_null_and_a_reason_in_json_and_c_in_csv() -> None:
    document = json.loads(exported("json"))
    for table in document["tables"]:
        assert {"id", "title", "rows", "columns", "cells"} <= set(table)
        assert set(table) <= {"id", "title", "note", "labels", "rows", "columns", "cells"}
        for _row, _column, value, flag in table["cells"]:
            assert (value is None) == (flag is not None)
            assert flag in (None, "primary", "secondary", "carried")
    lines = list(csv.reader(io.StringIO(exported("csv"))))
    assert tuple(lines[0]) == export.CSV_HEADER
    cells = {(t, r, c): (v, f) for t, r, c, v, f in lines[1:]}
    assert cells[("received_by_unit", HOSTILE, TOTAL)] == (":c", "primary")
    assert cells[("received_by_unit", "etik", TOTAL)] == ("12", "")
    assert cells[("outcomes_by_unit", "akt", "referred")] == (":c", "primary")
    json_cells = sum(len(t["cells"]) for t in document["tables"])
    assert len(lines) - 1 == json_cells  # one CSV line per cell


def test_the_export_holds_no_case_id_reference_or_date() -> None:
    for fmt in ("json", "csv"):
        text = exported(fmt)
        assert not re.search(r"\b[0-9a-f]{32}\b", text)  # no id
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text)  # no date finer than the period
        assert not re.search(r"\b[A-Z]{2,}-\d{4}-\d+", text)  # no case reference


def test_csv_keys_cannot_run_as_spreadsheet_formulas() -> None:
    table = ReleasedTable("t", ("=HYPERLINK(1)",), (TOTAL,),
                          {("=HYPERLINK(1)", TOTAL): ReleasedCell(5)})
    assert "'=HYPERLINK(1)" in export.to_csv([table])


@pytest.mark.parametrize("text", [
    "", "[]", "not json", '{"schema": "lykta-statistics/2"}',
    '{"schema": "lykta-statistics/1", "period": "2026", "kind": "annual", "k": 5}',
    '{"schema": "lykta-statistics/1", "period": "2026", "kind": "annual", "k": 5, '
    '"protection": 5, "tables": [{"id": "t", "title": "t", "rows": ["a"], '
    '"columns": ["total"], "cells": [["a", "total", 3, "primary"]]}]}',
    '{"schema": "lykta-statistics/1", "period": "2026", "kind": "annual", "k": true, '
    '"protection": 5, "tables": []}',
    '{"schema": "lykta-statistics/1", "period": "2026", "kind": "annual", "k": 5, '
    '"protection": 5, "tables": [{"id": "t", "title": "t", "rows": ["a"], '
    '"columns": ["total"], "cells": [["a", "total", null, "guessed"]]}]}',
])
def test_from_json_refuses_what_is_not_a_document(text: str) -> None:
    with pytest.raises(export.ExportFormatError):
        export.from_json(text)
