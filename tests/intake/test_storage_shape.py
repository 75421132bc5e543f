"""The shape of what intake stores: dates not times, random ids, nothing in plain."""

from __future__ import annotations

import datetime as dt
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import DateTime, text

from intake.models import Base

from .conftest import sign_in, submit


def test_only_dates_are_stored_except_the_hour_rounded_session_purge() -> None:
    timestamps = {f"{table.name}.{column.name}" for table in Base.metadata.tables.values()
                  for column in table.columns if isinstance(column.type, DateTime)}
    # The bridge's times record casework's requests, never a tipster's actions.
    assert timestamps == {"tipster_sessions.purge_after", "sync_nonces.expires_at",
                          "sync_state.at"}


def _stored(app: Flask, sql: str) -> list[object]:
    """The first column as the database holds it (SQLite: its text; PostgreSQL: a date or
    timestamp), past the models' types."""
    with app.extensions["lykta.intake"].db.engine.connect() as connection:
        return [row[0] for row in connection.execute(text(sql))]


def test_stored_rows_carry_no_time_of_day(app: Flask, client: FlaskClient) -> None:
    sign_in(client, submit(client))
    for table in ("receipts", "envelopes"):
        for created_on in _stored(app, f"SELECT created_on FROM {table}"):  # noqa: S608
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(created_on))
    for purge_after in _stored(app, "SELECT purge_after FROM tipster_sessions"):
        if isinstance(purge_after, dt.datetime):
            assert (purge_after.minute, purge_after.second, purge_after.microsecond) == (0, 0, 0)
        else:
            assert str(purge_after).endswith((":00:00.000000", ":00:00"))


def test_ids_are_random_not_sequential(app: Flask, client: FlaskClient) -> None:
    for _ in range(3):
        submit(client)
    ids = [str(i) for i in _stored(app, "SELECT id FROM receipts")]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == 3


def test_the_receipt_is_shown_once_only(client: FlaskClient) -> None:
    receipt = submit(client)
    for path in ("/submit", "/", "/login"):
        assert receipt not in client.get(path).get_data(as_text=True)
