"""Disclosure control of the magnitude figures: durations and sums of kronor.

Properties on random populations (Hypothesis, derandomized, few examples): no median or
percentile is published for fewer than k cases, and each is a whole number of days; no
published sum fails n >= k or the (2, 85 %) dominance rule; every suppressed sum keeps an
LP interval at least its protection level wide; a correction never publishes a changed
magnitude. Then the figures as published: stored with the release, in the report page,
the PDF (its text read back), the export and the dashboard, all the same values.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import crypto
from casework.models import Case, ReleaseKind, Role, StageChange, StatisticsRelease
from casework.statistics import export, releases
from casework.statistics.disclosure import attack_interval, protect
from casework.statistics.figures_base import (
    AmountFigure,
    DaysFigure,
    amount_groups,
    median,
    percentile,
)
from casework.statistics.magnitudes import (
    amount_protection,
    dominated,
    protect_amounts,
    protect_days,
)
from casework.statistics.periods import Period
from casework.statistics.tables import TOTAL, CountTable

from .conftest import Staff, log_in, services
from .test_statistics_releases import pdf_text, publish_directly

SETTINGS = settings(max_examples=30, derandomize=True, deadline=None,
                    suppress_health_check=list(HealthCheck))
UNITS = ("u0", "u1", "u2", "u3")

# Per unit, the durations (days) or amounts (kronor) of its cases; some units empty.
durations = st.lists(st.lists(st.integers(0, 400), max_size=12), min_size=2, max_size=4)
amounts = st.lists(st.lists(st.one_of(st.integers(0, 5_000),
                                      st.integers(0, 10_000_000)), max_size=9),
                   min_size=2, max_size=4)


def days_figure(per_unit: list[list[int]]) -> DaysFigure:
    groups: dict[str, tuple[int, float | None, float | None]] = {}
    everything: list[int] = []
    for unit, values in zip(UNITS, per_unit, strict=False):
        ordered = sorted(values)
        everything += ordered
        groups[unit] = (len(ordered), median(ordered), percentile(ordered, 0.9)) \
            if ordered else (0, None, None)
    everything.sort()
    groups[TOTAL] = (len(everything), median(everything), percentile(everything, 0.9)) \
        if everything else (0, None, None)
    return DaysFigure("days", "Days", "", groups)


def amount_figure(per_unit: list[list[int]]) -> tuple[AmountFigure, CountTable]:
    rows = UNITS[:len(per_unit)]
    groups = amount_groups((unit, a) for unit, values in zip(rows, per_unit, strict=True)
                           for a in values)
    counts = CountTable("recorded", rows, (TOTAL,),
                        {(u, TOTAL): groups[u][0] for u in rows if u in groups})
    return AmountFigure("sek", "Sums", "", groups, rows, counts_table="recorded"), counts


@SETTINGS
@given(durations, st.sampled_from([3, 5]))
def test_no_percentile_is_published_for_fewer_than_k_cases(per_unit: list[list[int]],
                                                           k: int) -> None:
    figure = days_figure(per_unit)
    everything = sorted(d for values in per_unit for d in values)
    for name, days in protect_days(figure, k).items():
        n = figure.groups[name][0]
        if days.suppressed is not None:
            assert (days.n, days.median, days.p90) == (None, None, None)
            continue
        assert days.n == n and (n == 0 or n >= k), (name, n)
        if n:
            assert isinstance(days.median, int) and isinstance(days.p90, int)
            values = everything if name == TOTAL else sorted(per_unit[UNITS.index(name)])
            assert days.p90 in values  # an order statistic, in whole days
            assert values[(n - 1) // 2] <= days.median <= values[n // 2]


@SETTINGS
@given(amounts, st.sampled_from([3, 5]))
def test_no_published_sum_fails_the_rules_and_every_hidden_one_is_protected(
        per_unit: list[list[int]], k: int) -> None:
    figure, counts = amount_figure(per_unit)
    released_counts, = protect([counts], k=k, protection=k)
    released = protect_amounts(figure, k, released_counts)
    for key, cell in released.cells.items():
        group = figure.groups.get(key[0], (0, 0, 0, 0))
        if cell.value is not None:
            assert cell.value == group[1]
            assert group[0] == 0 or group[0] >= k, key
            assert not dominated(group), key
            assert released_counts.cells[key].value is not None  # its n is shown too
        else:
            # The attacker's LP over the published sums and the total.
            lo, hi = attack_interval(released, key)
            assert hi - lo >= amount_protection(group[1]) - 1e-6, (key, lo, hi, group)


def test_the_dominance_rule() -> None:
    assert dominated((5, 100, 80, 6))  # the two largest: 86 %
    assert not dominated((5, 100, 45, 40))  # 85 %: allowed
    assert not dominated((5, 0, 0, 0))  # nothing recorded
    figure, _counts = amount_figure([[90, 4, 3, 2, 1], [10, 10, 10, 10, 10, 10]])
    released = protect_amounts(figure, 5)
    assert released.cell("u0").value is None  # dominated
    # u1 alone beside the total would give u0 away: the total is hidden too.
    assert released.cell(TOTAL).value is None or released.cell("u1").value is None


@SETTINGS
@given(amounts, durations, st.data())
def test_a_correction_never_publishes_a_changed_magnitude(
        per_unit: list[list[int]], per_unit_days: list[list[int]], data: st.DataObject) -> None:
    figure, _ = amount_figure(per_unit)
    first = protect_amounts(figure, 3)
    grown = [values + data.draw(st.lists(st.integers(0, 10_000), max_size=2))
             for values in per_unit]
    second = protect_amounts(amount_figure(grown)[0], 3, earlier=[first])
    for key, cell in second.cells.items():
        if cell.value is not None:
            assert first.cells[key].value == cell.value, key
    days = days_figure(per_unit_days)
    before = protect_days(days, 3)
    more = [values + data.draw(st.lists(st.integers(0, 400), max_size=2))
            for values in per_unit_days]
    after = protect_days(days_figure(more), 3, earlier=[before])
    for name, shown in after.items():
        if shown.suppressed is None and name in before:
            assert before[name] == shown, name


# --- published: the release, its report and PDF, the export and the dashboard --------

YEAR = Period.parse("2025")
# etik: six concluded cases with similar damage; akt: five, one of them dominating.
DAMAGE = {"etik": [40_000, 50_000, 60_000, 45_000, 55_000, 52_000],
          "akt": [9_000_000, 1_000, 2_000, 1_500, 1_200]}


def conclude_cases(app: Flask) -> None:
    start = dt.datetime(2025, 3, 1)
    with services(app).db.session() as db:
        for unit, values in DAMAGE.items():
            for i, damage in enumerate(values):
                received = dt.date(2025, 2, 1) + dt.timedelta(days=i)
                case = Case(reference="LY-" + secrets.token_hex(4).upper(), unit_id=unit,
                            category="corruption", received_on=received, stage="concluded",
                            acknowledged_on=received + dt.timedelta(days=2 + i),
                            concluded_on=start.date(), outcome="substantiated",
                            damage_estimate_sek=damage,
                            tipster_public_key=crypto.PrivateKey.generate().public_key.raw,
                            intake_receipt_id=secrets.token_hex(16))
                db.add(case)
                db.flush()
                db.add(StageChange(case_id=case.id, from_stage="investigating",
                                   to_stage="concluded", outcome="substantiated",
                                   reason_code="evidence-sufficient",
                                   at=start + dt.timedelta(days=i)))


@pytest.fixture
def statistician(casework: Flask, enrol: Callable[..., Staff]) -> FlaskClient:
    conclude_cases(casework)
    staff = enrol("stina", Role.STATISTICIAN, "kof")
    client = casework.test_client()
    log_in(casework, client, staff)
    return client


def test_an_annual_release_stores_and_shows_its_durations_and_sums(
        statistician: FlaskClient) -> None:
    app = statistician.application
    release = publish_directly(app, YEAR, ReleaseKind.ANNUAL)
    document = json.loads(release.tables)
    assert document["schema"] == "lykta-statistics/2"
    sums = {a["id"]: a for a in document["amounts"]}
    cells = {(r, c): (v, f) for r, c, v, f in sums["art27_damage_sek"]["cells"]}
    assert cells[("etik", TOTAL)] == (sum(DAMAGE["etik"]), None)
    assert cells[("akt", TOTAL)] == (None, "c")  # one case is 99.9 % of it
    assert cells[(TOTAL, TOTAL)] == (None, "c")  # else akt = total - etik
    days = {d["id"]: d for d in document["durations"]}
    groups = {g[0]: g[1:] for g in days["days_to_acknowledgement"]["groups"]}
    assert groups["etik"] == [6, 5, 7, None]  # 2..7 days: the median 4.5 is published as 5
    # Every value a whole number; never 9 000 000 or a reason anywhere.
    assert "9000000" not in release.tables and "primary" not in release.tables
    # The report page, its PDF and the release read back are the same values.
    page = statistician.get(f"/statistics/releases/{release.id}").get_data(as_text=True)
    assert 'id="figure-art27_damage_sek"' in page and "302 000" in page
    assert 'id="figure-days_to_acknowledgement"' in page
    text, _reader = pdf_text(statistician.get(
        f"/statistics/releases/{release.id}/report.pdf").data)
    flat = text.replace("\n", " ")
    assert "302 000" in flat and "9 000 000" not in flat
    # Titles as stored, in the language of publishing (here Swedish, the default).
    assert sums["art27_damage_sek"]["title"] in flat
    assert days["days_to_acknowledgement"]["title"] in flat
    # The dashboard of the same year shows what the release shows, no more.
    board = statistician.get("/statistics/?period=2025").get_data(as_text=True)
    section = board.split('id="figure-art27_damage_sek"', 1)[1].split("</section>", 1)[0]
    assert "302000" in re.sub(r"\s", "", section) and ">9000000<" not in section
    export_text = statistician.get("/statistics/export?period=2025&format=json").data
    exported = export.from_json(export_text)
    stored = export.from_json(release.tables)
    assert exported.durations == stored.durations
    assert exported.amounts == stored.amounts
    report = releases.load_magnitudes(release.tables)
    assert [d.id for d in report[0]] == list(stored.durations)


def test_a_correction_of_the_year_keeps_the_first_release_s_sums(
        statistician: FlaskClient) -> None:
    app = statistician.application
    first = publish_directly(app, YEAR, ReleaseKind.ANNUAL)
    with services(app).db.session() as db:  # a late conclusion in etik
        case = db.scalars(select(Case).where(Case.unit_id == "etik")).first()
        assert case is not None
        case.damage_estimate_sek = (case.damage_estimate_sek or 0) + 1_000
    second = publish_directly(app, YEAR, ReleaseKind.ANNUAL)
    before = {t.id: t for t in export.from_json(first.tables).amounts}
    after = {t.id: t for t in export.from_json(second.tables).amounts}
    assert before["art27_damage_sek"].cell("etik").value is not None
    assert after["art27_damage_sek"].cell("etik").value is None  # changed: hidden
    with services(app).db.session() as db:
        assert len(db.scalars(select(StatisticsRelease.id)).all()) == 2


def test_a_schema_1_release_still_reads_with_no_magnitudes() -> None:
    text = json.dumps({"schema": "lykta-statistics/1", "period": "2025", "kind": "annual",
                       "k": 5, "protection": 5, "tables": [], "legend": {}})
    document = export.from_json(text)
    assert document.schema == "lykta-statistics/1"
    assert document.durations == {} and document.amounts == []
    with pytest.raises(export.ExportFormatError):  # 2 needs both sections
        export.from_json(text.replace("statistics/1", "statistics/2"))


@pytest.mark.parametrize("group", [
    ["a", 5, None, 3, None], ["a", None, 3, 4, "c"], ["a", 5, 3, 4, "x"], ["a", 0, 3, 4, None],
    ["a", 5, -1, 4, None], ["a", 5, 1.5, 4, None], ["a", 5, 3, 4]])
def test_malformed_durations_are_refused(group: list[object]) -> None:
    document = {"schema": "lykta-statistics/2", "period": "2025", "kind": "annual", "k": 5,
                "protection": 5, "tables": [], "amounts": [],
                "durations": [{"id": "d", "title": "D", "unit": "days", "groups": [group]}]}
    with pytest.raises(export.ExportFormatError):
        export.from_json(json.dumps(document))


def test_durations_and_sums_in_the_csv() -> None:
    figure = DaysFigure("days_to_feedback", "Days", "", {"u0": (6, 3.5, 6.0),
                                                         "u1": (1, 1.0, 1.0)})
    sums, _counts = amount_figure([[5] * 6, [7], [100] * 6])
    text = export.to_csv([], durations={figure.id: protect_days(figure, 5)},
                         amounts=[protect_amounts(sums, 5)])
    lines = text.splitlines()
    assert "days_to_feedback,u0,n,6," in lines and "days_to_feedback,u0,median,4," in lines
    assert "days_to_feedback,u1,median,:c,c" in lines
    # u1 (one case) is hidden, and u0, the cheapest sum that keeps it from total - u2.
    assert "sek,u2,total,600," in lines and "sek,u1,total,:c,c" in lines
    assert "sek,u0,total,:c,c" in lines
