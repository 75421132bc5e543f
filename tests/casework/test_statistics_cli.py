"""``flask --app casework statistics publish``: a release from the command line, made as
the statistician's page makes it, and refused as clearly."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import func, select

from casework.models import AuditEntry, Role, StatisticsRelease
from casework.statistics.export import from_json

from .conftest import Staff, services


def releases(app: Flask) -> int:
    with services(app).db.session() as db:
        return db.scalar(select(func.count()).select_from(StatisticsRelease)) or 0


def test_a_statistician_publishes_an_ended_quarter(casework: Flask,
                                                   enrol: Callable[..., Staff]) -> None:
    enrol("stina", Role.STATISTICIAN, "kof")
    result = casework.test_cli_runner().invoke(
        args=["statistics", "publish", "2025-Q4", "--as", "stina", "--language", "en"])
    assert result.exit_code == 0, result.output
    assert "Published 2025-Q4 as release" in result.output
    with services(casework).db.session() as db:
        release = db.scalars(select(StatisticsRelease)).one()
        assert (release.period, release.kind) == ("2025-Q4", "quarterly")
        assert from_json(release.tables).period == "2025-Q4"
        assert db.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "statistics_released")) == 1


def test_refusals_publish_nothing(casework: Flask, enrol: Callable[..., Staff]) -> None:
    enrol("stina", Role.STATISTICIAN, "kof")
    enrol("eva", Role.REVIEWER, "etik")
    runner = casework.test_cli_runner()
    for args in (["2025-Q5", "--as", "stina"],  # no such quarter
                 ["2099", "--as", "stina"],  # not ended
                 ["2025-Q4", "--as", "nobody"],  # no such account
                 ["2025-Q4", "--as", "eva"]):  # not a statistician
        result = runner.invoke(args=["statistics", "publish", *args])
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output and "Error:" in result.output, args
    assert releases(casework) == 0
