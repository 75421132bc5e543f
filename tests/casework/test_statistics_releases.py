"""Publishing a quarter or a year, and its report as a web page and a PDF.

A small population in a quarter that has ended: one category under k (suppressed, and a
second cell with it), the report printing ``:c`` and never the suppressed counts, the
audit head at the period's end; a period still running refused (409); a correction of
the same period keeping the earlier pattern; roles, CSRF, forged ids and bad forms.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import select

import crypto
from casework.audit import chain
from casework.models import AuditEntry, Case, ReleaseKind, Role, StatisticsRelease, User
from casework.statistics import releases
from casework.statistics.periods import Period
from casework.statistics.tables import ReleasedCell, Suppression

from .conftest import Staff, csrf, log_in, services

PERIOD = Period.parse("2025-Q1")
# ethics and corruption clear k = 5; the 2 cases of funds are under it.
POPULATION = {("ethics", "etik"): 7, ("corruption", "akt"): 6, ("funds", "etik"): 2}
TABLE = "received_by_unit_category"  # rows: units, columns: categories
SMALL = ("etik", "funds")
RELEASES = "/statistics/releases/"


def add_cases(app: Flask, category: str, unit: str, count: int,
              received: dt.date = PERIOD.start + dt.timedelta(days=20)) -> None:
    """Case rows only (statistics read metadata; no content is needed)."""
    with services(app).db.session() as db:
        for _ in range(count):
            db.add(Case(reference="LY-" + secrets.token_hex(4).upper(), unit_id=unit,
                        category=category, received_on=received,
                        tipster_public_key=crypto.PrivateKey.generate().public_key.raw,
                        intake_receipt_id=secrets.token_hex(16)))


@pytest.fixture
def population(casework: Flask) -> Flask:
    for (category, unit), count in POPULATION.items():
        add_cases(casework, category, unit, count)
    add_cases(casework, "ethics", "etik", 3, received=PERIOD.end)  # the next quarter's
    return casework


@pytest.fixture
def statistician(population: Flask, enrol: Callable[..., Staff]) -> FlaskClient:
    staff = enrol("stina", Role.STATISTICIAN, "kof")
    client = population.test_client()
    log_in(population, client, staff)
    return client


def post_publish(client: FlaskClient, kind: str = "quarterly", period: str = "2025-Q1",
                 token: str | None = None) -> tuple[int, str]:
    data = {"publish-kind": kind, "publish-period": period}
    data["csrf_token"] = token if token is not None else csrf(client, RELEASES)
    response = client.post(RELEASES, data=data)
    return response.status_code, response.headers.get("Location", "")


def publish_directly(app: Flask, period: Period = PERIOD,
                     kind: ReleaseKind = ReleaseKind.QUARTERLY) -> StatisticsRelease:
    # A request's context: the figures name their rows in the language of the moment.
    with app.test_request_context(), services(app).unit() as work:
        user = work.session.scalars(select(User).where(User.username == "stina")).one()
        release = releases.publish(services(app), work.session, user, kind, period)
        work.session.expunge(release)
        return release


def pdf_text(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def stored_figure(release: StatisticsRelease, table_id: str = TABLE) -> releases.ReportFigure:
    return next(f for f in releases.load_figures(release.tables) if f.id == table_id)


def stored_cell(release: StatisticsRelease, key: tuple[str, str] = SMALL) -> ReleasedCell:
    return stored_figure(release).table.cell(*key)


def pdf_row(text: str, figure: releases.ReportFigure, row: str) -> list[str]:
    """The cells of ``row`` in the figure's table in the PDF's text (pypdf gives each
    cell a line; the table follows the chart, so its row is the label's last line)."""
    section = text.split(figure.title, 1)[1].split("\n\n", 1)[0].splitlines()
    at = len(section) - 1 - section[::-1].index(figure.label(row))
    columns = figure.table.columns if figure.table.columns == ("total",) \
        else (*figure.table.columns, "total")
    return section[at + 1:at + 1 + len(columns)]


def row_html(page: str, figure: releases.ReportFigure, row: str) -> list[str]:
    """The cells of ``row`` in the figure's table on the report page."""
    section = page.split(f'id="figure-{figure.id}"', 1)[1].split("</section>", 1)[0]
    found = re.search(rf'<th scope="row">{re.escape(str(escape(figure.label(row))))}</th>'
                      r"(.*?)</tr>", section, re.S)
    assert found is not None, (figure.id, row)
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td>(.*?)</td>", found.group(1), re.S)]


# --- publishing -----------------------------------------------------------------------


def test_publish_a_quarter_and_read_its_report(statistician: FlaskClient) -> None:
    status, location = post_publish(statistician)
    assert status == 302 and location.startswith(RELEASES), location
    page = statistician.get(location).get_data(as_text=True)
    assert "2025-Q1" in page and "Release published" in page
    app = statistician.application
    with services(app).db.session() as db:
        release = db.scalars(select(StatisticsRelease)).one()
        entry = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "statistics_released")).one()
    assert json.loads(entry.details) == {"kind": "quarterly", "period": "2025-Q1",
                                         "release_id": release.id}
    assert (release.kind, release.period, release.k, release.protection) == \
        ("quarterly", "2025-Q1", 5, 5)
    figures = releases.load_figures(release.tables)
    assert figures and all(f.title for f in figures)
    for figure in figures:
        assert str(escape(figure.title)) in page
    # The 2 cases of funds are suppressed, in the stored tables and on the page, where
    # every suppressed cell of every table shows :c in its place.
    assert stored_cell(release).value is None
    assert list(SMALL) in json.loads(release.pattern)[TABLE]
    for figure in figures:
        table = figure.table
        columns = table.columns if table.columns == ("total",) else (*table.columns, "total")
        for row, column in table.suppressed:
            assert row_html(page, figure, row)[columns.index(column)] == ":c"
    assert 'id="legend"' in page and "fewer than 5 cases" in page
    assert release.audit_hash is not None and release.audit_hash in page
    assert "flask --app casework audit head" in page
    # The list shows it, with both reports linked.
    listing = statistician.get(RELEASES).get_data(as_text=True)
    assert f"/statistics/releases/{release.id}/report.pdf" in listing


def test_the_pdf_holds_the_same_report(statistician: FlaskClient) -> None:
    _status, location = post_publish(statistician)
    response = statistician.get(location + "/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text, reader = pdf_text(response.data)
    with services(statistician.application).db.session() as db:
        release = db.scalars(select(StatisticsRelease)).one()
    assert "KOF statistics: Quarterly report 2025-Q1" in text
    assert "Period: 2025-Q1" in text
    for figure in releases.load_figures(release.tables):
        assert figure.title in text.replace("\n", " ")
    # Each row prints :c exactly where a cell is suppressed and the released value
    # elsewhere: in the small cell's row, never the 2 it hides.
    figure = stored_figure(release)
    table = figure.table
    for row in (*table.rows, "total"):
        printed = pdf_row(text, figure, row)
        assert printed == [table.cell(row, c).shown for c in (*table.columns, "total")], row
        if row == SMALL[0]:
            assert printed[table.columns.index(SMALL[1])] == ":c" and "2" not in printed
    assert release.audit_hash is not None and release.audit_hash in text.replace("\n", "")
    assert reader.metadata is not None and reader.metadata.title == \
        "KOF statistics: Quarterly report 2025-Q1"
    assert reader.trailer["/Root"].get("/Lang") == "en"


def test_the_audit_head_is_the_last_entry_before_the_period_ended(population: Flask,
                                                                  enrol: Callable[..., Staff]
                                                                  ) -> None:
    enrol("stina", Role.STATISTICIAN, "kof")
    inside = dt.datetime.combine(PERIOD.end, dt.time()) - dt.timedelta(seconds=1)
    with population.app_context(), services(population).unit() as work:
        chain.append(work.session, [chain.Draft("test_marker")],
                     at=inside - dt.timedelta(days=1))
        chain.append(work.session, [chain.Draft("test_marker")], at=inside)
        chain.append(work.session, [chain.Draft("test_marker")],
                     at=dt.datetime.combine(PERIOD.end, dt.time()))  # too late
    with services(population).db.session() as db:
        wanted = db.scalars(select(AuditEntry).where(AuditEntry.at == inside)).one()
        expected = (wanted.seq, wanted.hash.hex())
        assert releases.audit_head_before(db, dt.date(2000, 1, 1)) == \
            (0, releases.EMPTY_CHAIN_HASH)
    release = publish_directly(population)
    assert (release.audit_seq, release.audit_hash) == expected


def test_a_period_still_running_is_refused(statistician: FlaskClient) -> None:
    today = dt.datetime.now(dt.UTC).date()
    for kind, period in (("quarterly", Period.current_quarter(today).label),
                         ("annual", str(today.year)), ("annual", str(today.year + 3))):
        status, _location = post_publish(statistician, kind, period)
        assert status == 409, (kind, period)
    page = statistician.post(RELEASES, data={
        "csrf_token": csrf(statistician, RELEASES), "publish-kind": "annual",
        "publish-period": str(today.year)}).get_data(as_text=True)
    assert "The period has not ended" in page
    with services(statistician.application).db.session() as db:
        assert db.scalars(select(StatisticsRelease)).all() == []


def test_a_correction_keeps_the_earlier_pattern(statistician: FlaskClient) -> None:
    app = statistician.application
    first = publish_directly(app)
    add_cases(app, "funds", "etik", 10)  # funds now counts 12, well past k
    second = publish_directly(app)
    earlier = json.loads(first.pattern)
    later = json.loads(second.pattern)
    for table_id, keys in earlier.items():
        assert {tuple(k) for k in keys} <= {tuple(k) for k in later[table_id]}, table_id
    assert stored_cell(first).value is None and stored_cell(second).value is None
    # Stored as published: suppressed, the reason (carried) withheld.
    assert stored_cell(second).suppressed is Suppression.CONFIDENTIAL
    page = statistician.get(f"{RELEASES}{second.id}").get_data(as_text=True)
    assert 'id="report-correction"' in page
    assert ">12<" not in page


def test_the_publish_form_offers_ended_periods_only(statistician: FlaskClient) -> None:
    today = dt.datetime.now(dt.UTC).date()
    offered = releases.ended_periods(today)
    assert all(p.end <= today for p in offered)
    assert len([p for p in offered if p.kind == "quarter"]) == 8
    page = statistician.get(RELEASES).get_data(as_text=True)
    assert Period.previous_quarter(today).label in page
    assert f'value="{Period.current_quarter(today).label}"' not in page
    assert "Nothing has been published yet." in page


# --- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "period"), [
    ("weekly", "2025-Q1"), ("", "2025-Q1"), ("quarterly", ""), ("quarterly", "2025-Q5"),
    ("quarterly", "2025"), ("annual", "2025-Q1"), ("quarterly", "x" * 5000),
    ("quarterly", "<script>alert(1)</script>"), ("annual", "2025\n")])
def test_bad_form_input_is_400(statistician: FlaskClient, kind: str, period: str) -> None:
    status, _location = post_publish(statistician, kind, period)
    assert status == 400
    with services(statistician.application).db.session() as db:
        assert db.scalars(select(StatisticsRelease)).all() == []


def test_csrf_is_required(statistician: FlaskClient) -> None:
    assert post_publish(statistician, token="")[0] == 400
    assert post_publish(statistician, token="forged")[0] == 400


def test_unknown_ids_are_404(statistician: FlaskClient) -> None:
    publish_directly(statistician.application)
    for release_id in ("0" * 32, "nope", "x" * 300, "%3Cscript%3E"):
        assert statistician.get(f"{RELEASES}{release_id}").status_code == 404
        assert statistician.get(f"{RELEASES}{release_id}/report.pdf").status_code == 404


def test_other_roles_are_refused(population: Flask, enrol: Callable[..., Staff]) -> None:
    enrol("stina", Role.STATISTICIAN, "kof")
    release = publish_directly(population)
    for role, unit in ((Role.REVIEWER, "etik"), (Role.AUDITOR, "kof"),
                       (Role.ADMINISTRATOR, "kof")):
        client = population.test_client()
        log_in(population, client, enrol(f"someone-{role.value}", role, unit))
        for path in (RELEASES, f"{RELEASES}{release.id}", f"{RELEASES}{release.id}/report.pdf"):
            assert client.get(path).status_code == 403, (role, path)
        token = csrf(client, "/")
        assert client.post(RELEASES, data={"csrf_token": token, "publish-kind": "quarterly",
                                           "publish-period": "2025-Q1"}).status_code == 403
    anonymous = population.test_client()
    assert anonymous.get(RELEASES).status_code == 401
    # The domain refuses too, whoever calls it.
    with population.app_context(), services(population).unit() as work:
        reviewer = work.session.scalars(select(User).where(
            User.username == "someone-reviewer")).one()
        with pytest.raises(releases.NotPermitted):
            releases.publish(services(population), work.session, reviewer,
                             ReleaseKind.QUARTERLY, PERIOD)


def test_stored_text_is_escaped_and_swedish_letters_survive(statistician: FlaskClient) -> None:
    """What a release holds is rendered as text: markup in a title or label is shown, not
    run, in the page and in the PDF; å, ä and ö come out of the PDF as they went in."""
    app = statistician.application
    tables = {"schema": "lykta-statistics/1", "period": "2024", "kind": "annual", "k": 5,
              "protection": 5, "tables": [{
                  "id": "hostile", "title": "<script>alert(1)</script> Ärenden <b>",
                  "note": "a & b", "rows": ["<img src=x>", "förvaltning"],
                  "columns": ["total"],
                  "labels": {"förvaltning": "Förvaltningsenheten åäö"},
                  "cells": [["<img src=x>", "total", 9, None],
                            ["förvaltning", "total", None, "c"],
                            ["total", "total", 12, None]]}]}
    with services(app).db.session() as db:
        release = StatisticsRelease(kind="annual", period="2024", k=5, protection=5,
                                    audit_seq=0, audit_hash="00" * 32,
                                    tables=json.dumps(tables), pattern="{}")
        db.add(release)
        db.flush()
        release_id = release.id
    page = statistician.get(f"{RELEASES}{release_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ärenden" in page
    response = statistician.get(f"{RELEASES}{release_id}/report.pdf")
    assert response.status_code == 200
    text, _reader = pdf_text(response.data)
    assert "<script>alert(1)</script> Ärenden <b>" in text
    assert "\nFörvaltningsenheten åäö\n:c\n" in text


def test_a_large_table_still_makes_a_pdf(statistician: FlaskClient) -> None:
    """A table of many rows (a large instance's units) fits: its chart is shrunk."""
    rows = [f"unit-{i}" for i in range(120)]
    tables = {"schema": "lykta-statistics/1", "period": "2024", "kind": "annual", "k": 5,
              "protection": 5, "tables": [{
                  "id": "many", "title": "Many units", "rows": rows, "columns": ["total"],
                  "cells": [[r, "total", None if i % 7 == 0 else i, "c" if i % 7 == 0
                             else None] for i, r in enumerate(rows)]
                  + [["total", "total", 99999, None]]}]}
    with services(statistician.application).db.session() as db:
        release = StatisticsRelease(kind="annual", period="2024", k=5, protection=5,
                                    audit_seq=0, audit_hash="00" * 32,
                                    tables=json.dumps(tables), pattern="{}")
        db.add(release)
        db.flush()
        release_id = release.id
    response = statistician.get(f"{RELEASES}{release_id}/report.pdf")
    assert response.status_code == 200
    text, _reader = pdf_text(response.data)
    assert "\nunit-118\n118\n" in text and "\nunit-7\n:c\n" in text
