"""The demo contract: instance/ layout, one enrolled account per role, both apps start."""

from __future__ import annotations

import json
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
