"""Migration 0006 on a database with data: free-text agencies become codes, and the
readers table is filled from the report headers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import create_engine, text

import crypto
from casework import migrate


def test_free_text_agency_at_rest_is_replaced_by_a_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'casework.sqlite'}"
    migrate.upgrade(url, "0005")
    reader, outsider = crypto.PrivateKey.generate(), crypto.PrivateKey.generate()
    escrow = crypto.generate_escrow_key()
    sealed = crypto.seal_bytes(b"{}", [reader.public_key, escrow.public_key])
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO units (id, name_sv, name_en, receives_reports) "
                              "VALUES ('etik', 'Etikkommittén', 'Ethics committee', 1)"))
            for user_id, key in (("u1", reader), ("u2", outsider)):
                conn.execute(text(
                    "INSERT INTO users (id, username, display_name, password_hash, "
                    "must_change_password, totp_confirmed, totp_last_step, failed_attempts, "
                    "active, public_key, created_at) VALUES (:id, :id, :id, 'x', 0, 1, 0, 0, "
                    "1, :key, :now)"), {"id": user_id, "key": key.public_key.raw,
                                        "now": dt.datetime(2026, 1, 1)})
            for case_id, agency in (("c1", "Nämnden för hemliga saker"), ("c2", "Skatteverket"),
                                    ("c3", None)):
                conn.execute(text(
                    "INSERT INTO cases (id, reference, unit_id, category, agency, stage, "
                    "received_on, tipster_public_key, intake_receipt_id, created_at) VALUES "
                    "(:id, :id, 'etik', 'ethics', :agency, 'received', '2026-01-01', :tk, :id, "
                    ":now)"), {"id": case_id, "agency": agency, "tk": bytes(32),
                               "now": dt.datetime(2026, 1, 1)})
            conn.execute(text(
                "INSERT INTO case_envelopes (id, case_id, kind, header, body_size, delivered, "
                "origin, created_at) VALUES ('e1', 'c1', 'report', :header, 1, 1, 'intake', "
                ":now)"), {"header": sealed.header, "now": dt.datetime(2026, 1, 1)})
        migrate.upgrade(url)
        with engine.connect() as conn:
            agencies: dict[str, str | None] = {
                str(row[0]): row[1] for row in conn.execute(text("SELECT id, agency FROM cases"))}
            readers = conn.execute(text("SELECT case_id, user_id FROM case_readers")).all()
        assert agencies == {"c1": "other", "c2": "skatteverket", "c3": None}
        assert [tuple(r) for r in readers] == [("c1", "u1")]
        migrate.downgrade(url, "0005")
        migrate.upgrade(url)
    finally:
        engine.dispose()
    assert b"hemliga" not in (tmp_path / "casework.sqlite").read_bytes()
