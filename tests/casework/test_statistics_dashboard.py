"""The statistician's dashboard, its SVG charts and the CSV/JSON export.

Charts and exports are drawn from released tables only: a suppressed cell shows ``:c``
everywhere (SVG, table, CSV, JSON), never its value; every label is escaped; the export
schema round-trips through ``from_json`` and holds no case id, reference or date.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import crypto
from casework.models import Case, Role, StatisticsRelease, Unit
from casework.statistics import charts, dashboard, export
from casework.statistics.periods import Period
from casework.statistics.tables import TOTAL, ReleasedCell, ReleasedTable, Suppression

from .conftest import Staff, log_in, services

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
    options: dict[str, Any] = {"period": "2026-Q3", "kind": "quarterly", "k": 5, "protection": 5,
               "titles": {"received_by_unit": "Reports by unit",
                          "outcomes_by_unit": "Outcomes by unit"},
               "notes": {"received_by_unit": "Reports received in the quarter."},
               "labels": {"received_by_unit": {"etik": "Etikkommittén", HOSTILE: "Hostile"}}}
    return export.to_json(tables, **options) if fmt == "json" else export.to_csv(tables, **options)


def test_json_export_round_trips_through_from_json() -> None:
    text = exported("json")
    document = json.loads(text)
    assert document["schema"] == "lykta-statistics/2" == export.SCHEMA
    assert set(document) == {"schema", "period", "kind", "k", "protection", "tables",
                             "durations", "amounts", "legend"}
    assert ":c" in document["legend"]
    back = export.from_json(text)
    assert (back.period, back.kind, back.k, back.protection) == ("2026-Q3", "quarterly", 5, 5)
    assert back.tables == export.as_published([one_dimensional(), two_dimensional()])
    assert back.titles == {"received_by_unit": "Reports by unit",
                           "outcomes_by_unit": "Outcomes by unit"}
    assert back.notes == {"received_by_unit": "Reports received in the quarter."}
    assert back.labels["received_by_unit"][HOSTILE] == "Hostile"
    assert export.to_json(back.tables, period=back.period, kind=back.kind, k=back.k,
                          protection=back.protection, titles=back.titles, notes=back.notes,
                          labels=back.labels) == text


def test_suppressed_cells_carry_null_and_c_never_their_reason() -> None:
    document = json.loads(exported("json"))
    for table in document["tables"]:
        assert {"id", "title", "rows", "columns", "cells"} <= set(table)
        assert set(table) <= {"id", "title", "note", "labels", "rows", "columns", "cells"}
        for _row, _column, value, flag in table["cells"]:
            assert (value is None) == (flag is not None)
            assert flag in (None, "c")  # why a cell is suppressed is never published
    lines = list(csv.reader(io.StringIO(exported("csv"))))
    assert tuple(lines[0]) == export.CSV_HEADER
    cells = {(t, r, c): (v, f) for t, r, c, v, f in lines[1:]}
    assert cells[("received_by_unit", HOSTILE, TOTAL)] == (":c", "c")
    assert cells[("received_by_unit", "etik", TOTAL)] == ("12", "")
    assert cells[("outcomes_by_unit", "akt", "referred")] == (":c", "c")
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
    '"columns": ["total"], "cells": [["a", "total", 3, "c"]]}]}',
    '{"schema": "lykta-statistics/1", "period": "2026", "kind": "annual", "k": 5, '
    '"protection": 5, "tables": [{"id": "t", "title": "t", "rows": ["a"], '
    '"columns": ["total"], "cells": [["a", "total", null, "primary"]]}]}',
    '{"schema": "lykta-statistics/1", "period": "2026", "kind": "annual", "k": true, '
    '"protection": 5, "tables": []}',
    '{"schema": "lykta-statistics/1", "period": "2026", "kind": "annual", "k": 5, '
    '"protection": 5, "tables": [{"id": "t", "title": "t", "rows": ["a"], '
    '"columns": ["total"], "cells": [["a", "total", null, "guessed"]]}]}',
])
def test_from_json_refuses_what_is_not_a_document(text: str) -> None:
    with pytest.raises(export.ExportFormatError):
        export.from_json(text)


# --- the dashboard and export views ----------------------------------------------------

PERIOD = "2025-Q1"
# etik's ethics (7) and akt's corruption (6) clear k = 5; the hostile unit's 2 funds
# cases are under it: that cell is suppressed, and another with it.
HOSTILE_UNIT = "hostile"
POPULATION = {("ethics", "etik"): 7, ("corruption", "akt"): 6, ("funds", HOSTILE_UNIT): 2}


def add_cases(app: Flask, category: str, unit: str, count: int) -> list[tuple[str, str]]:
    """Case rows only (statistics read metadata): their ids and references."""
    made = []
    with services(app).db.session() as db:
        for _ in range(count):
            case = Case(reference="LY-" + secrets.token_hex(4).upper(), unit_id=unit,
                        category=category, received_on=dt.date(2025, 1, 21),
                        tipster_public_key=crypto.PrivateKey.generate().public_key.raw,
                        intake_receipt_id=secrets.token_hex(16))
            db.add(case)
            db.flush()
            made.append((case.id, case.reference))
    return made


@pytest.fixture
def population(casework: Flask) -> tuple[Flask, list[tuple[str, str]]]:
    with services(casework).db.session() as db:
        db.add(Unit(id=HOSTILE_UNIT, name_sv=HOSTILE, name_en=HOSTILE))
    made = []
    for (category, unit), count in POPULATION.items():
        made += add_cases(casework, category, unit, count)
    return casework, made


@pytest.fixture
def statistician(population: tuple[Flask, list[tuple[str, str]]],
                 enrol: Callable[..., Staff]) -> FlaskClient:
    app = population[0]
    client = app.test_client()
    log_in(app, client, enrol("stina", Role.STATISTICIAN, "kof"))
    return client


def released(app: Flask, filters: dashboard.Filters | None = None) -> dashboard.Dashboard:
    filters = filters or dashboard.Filters()
    with app.test_request_context(), services(app).db.session() as db:
        return dashboard.dashboard(db, services(app).config, Period.parse(PERIOD), filters)


def table_cells(page: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells (th and td) of the HTML table ``table_id``."""
    body = page.split(f'id="table-{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in rows]


def test_the_home_page_leads_the_statistician_to_the_dashboard(
        statistician: FlaskClient) -> None:
    page = statistician.get("/").get_data(as_text=True)
    assert 'id="statistics-link"' in page and 'href="/statistics/"' in page


def test_the_dashboard_shows_charts_tables_and_notes(statistician: FlaskClient) -> None:
    response = statistician.get(f"/statistics/?period={PERIOD}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="statistics-intro"' in page and 'href="/statistics/releases/"' in page
    assert page.count('role="img"') >= 1 and "aria-labelledby=\"chart-" in page
    assert page.count("<caption>") >= page.count('role="img"')  # a table for every chart
    assert "What it means:" in page and "How it was protected:" in page
    assert 'id="statistics-legend"' in page and "fewer than 5 cases" in page
    assert "<script" not in page


def test_a_hostile_unit_name_is_escaped_everywhere(statistician: FlaskClient) -> None:
    page = statistician.get(f"/statistics/?period={PERIOD}").get_data(as_text=True)
    assert HOSTILE in html.unescape(page)  # shown, as text
    assert "<script>alert" not in page


def test_a_suppressed_cell_never_shows_its_value(statistician: FlaskClient) -> None:
    app = statistician.application
    board = released(app)
    table = next(t for t in board.released if t.id == "received_by_unit_category")
    assert table.cell(HOSTILE_UNIT, "funds").value is None  # the small cell
    assert table.cell(HOSTILE_UNIT, TOTAL).value is None  # its unit's margin with it
    page = statistician.get(f"/statistics/?period={PERIOD}").get_data(as_text=True)
    cells = table_cells(page, "received_by_unit_category")
    hostile_row = next(row for row in cells if row[0] == HOSTILE)
    header = page.split('id="table-received_by_unit_category"', 1)[1].split("</thead>")[0]
    columns = [html.unescape(c) for c in re.findall(r'<th scope="col">([^<]*)</th>', header)]
    funds = columns.index("Misuse of public funds")
    assert hostile_row[funds] == ":c (suppressed)" and hostile_row[-1] == ":c (suppressed)"
    # In the JSON and the CSV: null flagged "c" (never the reason), and ":c".
    document = json.loads(statistician.get(
        f"/statistics/export?format=json&period={PERIOD}").get_data(as_text=True))
    exported = next(t for t in document["tables"] if t["id"] == "received_by_unit_category")
    cell = next(c for c in exported["cells"] if c[:2] == [HOSTILE_UNIT, "funds"])
    assert cell[2] is None and cell[3] == "c"
    lines = list(csv.reader(io.StringIO(statistician.get(
        f"/statistics/export?format=csv&period={PERIOD}").get_data(as_text=True))))
    assert ["received_by_unit_category", HOSTILE_UNIT, "funds", ":c", "c"] in lines
    # Every suppressed cell of every table reads :c in the export: never a number.
    for t in document["tables"]:
        for row, column, value, flag in t["cells"]:
            released_cell = next(r for r in board.released if r.id == t["id"]).cell(row, column)
            assert value == released_cell.value and (flag is None) == (value is not None)


def test_filters_are_slices_of_the_tables_protected_whole(statistician: FlaskClient) -> None:
    app = statistician.application
    whole = released(app)
    for filters in (dashboard.Filters(unit="etik"), dashboard.Filters(category="ethics"),
                    dashboard.Filters(unit=HOSTILE_UNIT, category="funds")):
        sliced = released(app, filters)
        assert [t.id for t in sliced.released] == [t.id for t in whole.released]
        assert sliced.released == whole.released  # the same protection, whatever the filter
        for before, after in zip(whole.shown, sliced.shown, strict=True):
            if after.table is not None and before.table is not None:
                for key, cell in after.table.cells.items():
                    assert before.table.cells[key] == cell, (after.id, key)  # nothing new
            for row in after.days:
                assert row in before.days
    received = next(s for s in released(app, dashboard.Filters(unit="etik")).shown
                    if s.id == "received_by_unit_category")
    assert received.table is not None and received.table.rows == ("etik",)
    assert "unit" in received.sliced
    page = statistician.get(f"/statistics/?period={PERIOD}&unit=etik&category=ethics")
    assert page.status_code == 200


BAD_DASHBOARD = ["period=2025-Q5", "period=25", "period=" + "9" * 500, "period=2025-q1",
                 "period=1999", "unit=nowhere", "unit=" + "x" * 200, "category=gossip"]
BAD_EXPORT = ["format=xml", "format=", "format=json&period=2025-13", "format=csv&period=x"]


def test_bad_parameters_are_refused_with_400(statistician: FlaskClient) -> None:
    for query in BAD_DASHBOARD:  # one app for all: each is a plain GET
        response = statistician.get(f"/statistics/?{query}")
        assert response.status_code == 400, query
        page = response.get_data(as_text=True)
        assert re.search(r"period|unit|category", page.split("<main", 1)[1]), query
    for query in BAD_EXPORT:
        response = statistician.get(f"/statistics/export?{query}")
        assert response.status_code == 400, query
        assert "Content-Disposition" not in response.headers


def test_the_exports_are_attachments_and_round_trip(statistician: FlaskClient) -> None:
    app = statistician.application
    board = released(app)
    text = {}
    for fmt in ("json", "csv"):
        response = statistician.get(f"/statistics/export?format={fmt}&period={PERIOD}")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == \
            f'attachment; filename="lykta-statistics-{PERIOD}.{fmt}"'
        text[fmt] = response.get_data(as_text=True)
    back = export.from_json(text["json"])
    assert (back.period, back.kind, back.k, back.protection) == (PERIOD, "quarterly", 5, 5)
    assert back.tables == export.as_published(board.released)
    assert back.labels["received_by_unit_category"][HOSTILE_UNIT] == HOSTILE
    csv_cells = {(t, r, c): v for t, r, c, v, _f in
                 list(csv.reader(io.StringIO(text["csv"])))[1:]}
    for table in back.tables:
        for (row, column), cell in table.cells.items():
            assert csv_cells[(table.id, row, column)] == cell.shown


def test_the_exports_hold_no_case_id_reference_or_date(
        statistician: FlaskClient, population: tuple[Flask, list[tuple[str, str]]]) -> None:
    _app, made = population
    for fmt in ("json", "csv"):
        text = statistician.get(f"/statistics/export?format={fmt}&period={PERIOD}"
                                ).get_data(as_text=True)
        for case_id, reference in made:
            assert case_id not in text and reference not in text
        assert not re.search(r"\d{4}-\d{2}-\d{2}", text)  # no date finer than the period
    page = statistician.get(f"/statistics/?period={PERIOD}").get_data(as_text=True)
    for case_id, reference in made:
        assert case_id not in page and reference not in page


def test_a_published_periods_pattern_is_carried_into_the_dashboard(
        statistician: FlaskClient) -> None:
    app = statistician.application
    with services(app).db.session() as db:
        empty = export.to_json([], period=PERIOD, kind="quarterly", k=5, protection=5,
                               titles={})
        db.add(StatisticsRelease(kind="quarterly", period=PERIOD, k=5, protection=5,
                                 tables=empty, pattern=json.dumps(
                                     {"received_by_unit_category": [["akt", "corruption"]]})))
    table = next(t for t in released(app).released if t.id == "received_by_unit_category")
    assert table.cell("akt", "corruption").value is None  # 6, but suppressed before
    page = statistician.get(f"/statistics/?period={PERIOD}").get_data(as_text=True)
    assert "published 1 time(s)" in page
