"""The demo contract: instance/ layout, one enrolled account per role, both apps start."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest

ROLES = {"administrator", "unit_lead", "reviewer", "custodian", "statistician", "auditor"}


def test_demo_set_up_keeps_the_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYKTA_INSTANCE", str(tmp_path))
    monkeypatch.setenv("LYKTA_DEMO_ARGON2", "fast")
    import importlib

    import scripts.demo as demo

    demo = importlib.reload(demo)
    demo.set_up()
    demo.upgrade_instance()
    accounts = json.loads((tmp_path / "demo.json").read_text())
    assert set(accounts) == ROLES
    for account in accounts.values():
        assert set(account) == {"username", "password", "totp_secret"}
    # Oral reports work in the demo: casework derives receipts with intake's salt.
    import base64
    intake_conf = json.loads((tmp_path / "intake.json").read_text())
    casework_conf = json.loads((tmp_path / "casework.json").read_text())
    assert bytes.fromhex(casework_conf["intake_receipt_salt"]) == \
        base64.b64decode(intake_conf["instance_salt"])
    assert casework_conf["intake_receipt_argon2"] == intake_conf["argon2"]

    from casework import create_app as create_casework
    from intake import create_app as create_intake
    from intake.bridge.sync import create_app as create_sync

    assert create_intake().test_client().get("/").status_code == 200
    create_sync()
    casework = create_casework()
    for role, account in accounts.items():
        client = casework.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post("/login", data={
            "csrf_token": token, "username": account["username"],
            "password": account["password"],
            "code": pyotp.TOTP(account["totp_secret"]).now()})
        assert response.status_code == 302, role


def test_the_demo_runs_on_postgresql_and_redis_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_postgres_database: Callable[[], str],
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    intake_url, casework_url = new_postgres_database(), new_postgres_database()
    monkeypatch.setenv("LYKTA_INSTANCE", str(tmp_path))
    monkeypatch.setenv("LYKTA_DEMO_ARGON2", "fast")
    monkeypatch.setenv("LYKTA_INTAKE_DATABASE_URL", intake_url)
    monkeypatch.setenv("LYKTA_CASEWORK_DATABASE_URL", casework_url)
    monkeypatch.setenv("LYKTA_REDIS_URL", redis_url)
    import importlib

    import scripts.demo as demo

    demo = importlib.reload(demo)
    # A tenth of the synthetic history: where it goes is the point here, not how much.
    from scripts import demo_history

    seed_history = demo_history.seed
    monkeypatch.setattr(demo_history, "seed", lambda instance: seed_history(instance, count=300))
    demo.set_up()
    demo.upgrade_instance()
    output = capsys.readouterr()
    assert "could not be seeded" not in output.err, output.err
    # Everything went to PostgreSQL: the seeded cases, the receipts of their tipsters.
    from sqlalchemy import create_engine, text

    for url, table, at_least in ((casework_url, "cases", 320), (intake_url, "receipts", 20)):
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text(f"SELECT count(*) FROM {table}")  # noqa: S608
                                      ).scalar_one() >= at_least
        engine.dispose()
    assert not list(tmp_path.glob("*.sqlite"))
    banner = demo.state_banner()
    assert f"intake database:     {intake_url}" in banner.replace("%2F", "/")
    assert f"casework database:   {casework_url}" in banner.replace("%2F", "/")
    assert "redis:               unix://" in banner
    assert "an rq worker runs them" in banner
