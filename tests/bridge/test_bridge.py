"""The signed bridge over HTTP: delivery, idempotence under faults, and refusals."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request

import pytest
from sqlalchemy import func, select

import crypto
from casework.bridge import BridgeError, IntakeClient
from casework.bridge import cycle as bridge_module
from casework.models import Case, CaseEnvelope
from intake.models import StoredEnvelope
from tests.casework.conftest import services
from tests.intake.conftest import sign_in, submit

from .conftest import Bridged


def _counts(b: Bridged) -> tuple[int, int, int]:
    """(envelopes waiting at intake for casework, case envelopes, cases)."""
    with b.linked.intake.extensions["lykta.intake"].db.session() as session:
        waiting = session.scalar(select(func.count()).select_from(StoredEnvelope).where(
            StoredEnvelope.audience == "casework"))
    with services(b.linked.casework).db.session() as session:
        envelopes = session.scalar(select(func.count()).select_from(CaseEnvelope))
        cases = session.scalar(select(func.count()).select_from(Case))
    return int(waiting or 0), int(envelopes or 0), int(cases or 0)


def _post(b: Bridged, purpose: str, message: bytes) -> int:
    request = urllib.request.Request(f"{b.url}/v1/{purpose}", data=message, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_report_crosses_the_bridge_and_the_reply_comes_back(bridged: Bridged) -> None:
    tipster = bridged.linked.intake.test_client()
    receipt = submit(tipster, category="ethics", what="Across the bridge",
                     files=[(io.BytesIO(b"x" * 300_000), "big.bin")])
    report = bridged.cycle()
    assert (report.imported, report.acknowledged, report.pushed) == (2, 2, 1)
    assert _counts(bridged) == (0, 3, 1)  # report, file, automatic acknowledgement
    sign_in(tipster, receipt)
    assert "Tack för din rapport" in tipster.get("/dialogue").get_data(as_text=True)
    with services(bridged.linked.casework).unit() as unit:
        assert bridge_module.last_success(unit.session) is not None


STEPS = ["pull", "fetch", "import_from_intake", "ack", "push", "mark_delivered"]


@pytest.mark.parametrize("step", STEPS)
def test_a_crash_at_any_step_loses_nothing_and_duplicates_nothing(
    bridged: Bridged, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    tipster = bridged.linked.intake.test_client()
    receipt = submit(tipster, category="ethics", what="Crash test",
                     files=[(io.BytesIO(b"file"), "f.txt")])

    class Crash(Exception):
        pass

    def crash(*_args: object, **_kwargs: object) -> None:
        raise Crash(step)

    with monkeypatch.context() as patch:
        if step in ("pull", "fetch", "ack", "push"):
            patch.setattr(IntakeClient, step, crash)
        else:
            patch.setattr(bridge_module, step, crash)
        with pytest.raises(Crash):
            bridged.cycle()
    bridged.cycle()  # the next cycle, after the "restart"
    bridged.cycle()
    assert _counts(bridged) == (0, 3, 1)
    sign_in(tipster, receipt)
    dialogue = tipster.get("/dialogue").get_data(as_text=True)
    assert dialogue.count("Tack för din rapport") == 1


def test_requests_signed_by_another_key_are_refused(bridged: Bridged) -> None:
    submit(bridged.linked.intake.test_client())
    with pytest.raises(BridgeError, match="refused"):
        bridged.cycle(bridged.client(signing=crypto.SigningKey.generate()))
    assert _counts(bridged) == (1, 0, 0)  # the report still waits at intake


def test_answers_not_signed_by_the_pinned_intake_key_are_refused(bridged: Bridged) -> None:
    submit(bridged.linked.intake.test_client())
    with pytest.raises(BridgeError, match="did not verify"):
        bridged.cycle(bridged.client(intake_key=crypto.SigningKey.generate().verify_key))
    assert _counts(bridged)[1:] == (0, 0)


def test_a_replayed_request_is_refused(bridged: Bridged) -> None:
    message = crypto.sign_message(bridged.linked.signing, purpose="ack",
                                  body=json.dumps({"envelope_ids": []}).encode())
    assert _post(bridged, "ack", message) == 200
    assert _post(bridged, "ack", message) == 401


def test_stale_and_future_requests_are_refused(bridged: Bridged) -> None:
    for skew in (-1000, 1000):
        message = crypto.sign_message(bridged.linked.signing, purpose="pull",
                                      body=b"{}", timestamp=int(time.time()) + skew)
        assert _post(bridged, "pull", message) == 401


def test_a_message_for_another_purpose_is_refused(bridged: Bridged) -> None:
    message = crypto.sign_message(bridged.linked.signing, purpose="pull", body=b"{}")
    assert _post(bridged, "ack", message) == 401


def test_truncated_or_edited_requests_are_refused(bridged: Bridged) -> None:
    message = crypto.sign_message(bridged.linked.signing, purpose="pull", body=b'{"batch":1}')
    assert _post(bridged, "pull", message[:-1]) == 401
    edited = bytearray(message)
    edited[-70] ^= 1
    assert _post(bridged, "pull", bytes(edited)) == 401


def test_the_public_intake_app_has_no_bridge_routes(bridged: Bridged) -> None:
    message = crypto.sign_message(bridged.linked.signing, purpose="pull", body=b"{}")
    public = bridged.linked.intake.test_client()
    for purpose in ("pull", "fetch", "ack", "push"):
        # 415: the request guard refuses a non-form body before routing is even consulted.
        assert public.post(f"/v1/{purpose}", data=message).status_code in (400, 404, 405, 415)


def test_a_body_altered_at_intake_is_refused_when_opened(bridged: Bridged) -> None:
    submit(bridged.linked.intake.test_client(), category="ethics")
    store = bridged.linked.intake.extensions["lykta.intake"].store
    with bridged.linked.intake.extensions["lykta.intake"].db.session() as session:
        report = session.scalars(select(StoredEnvelope).where(
            StoredEnvelope.kind == "report")).one()
    path = store.root / report.id
    data = bytearray(path.read_bytes())
    data[-30] ^= 1
    path.write_bytes(bytes(data))
    bridged.cycle()
    from tests.casework.conftest import log_in

    eva = bridged.linked.casework.test_client()
    log_in(bridged.linked.casework, eva, bridged.linked.staff["eva"])
    with services(bridged.linked.casework).db.session() as session:
        case_id = session.scalars(select(Case)).one().id
    response = eva.get(f"/cases/{case_id}")
    assert response.status_code == 422
    assert "integrity check" in response.get_data(as_text=True)


def test_refusals_are_logged_without_content(bridged: Bridged,
                                            caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    forged = crypto.sign_message(crypto.SigningKey.generate(), purpose="pull",
                                 body=b'{"secret-marker": 1}')
    assert _post(bridged, "pull", forged) == 401
    assert "ForgedMessage" in caplog.text
    assert "secret-marker" not in caplog.text and "127.0.0.1" not in caplog.text


def test_both_sides_show_the_last_sync_and_casework_warns_when_stale(
    bridged: Bridged, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from tests.casework.conftest import log_in

    casework_app = bridged.linked.casework
    services(casework_app).config = replace(
        services(casework_app).config, intake_sync_url=bridged.url,
        intake_verify_key=bridged.intake_key.verify_key.raw, sync_warn_after_seconds=60)
    eva = casework_app.test_client()
    log_in(casework_app, eva, bridged.linked.staff["eva"])
    eva.set_cookie("lang", "en")
    assert 'id="sync-warning"' in eva.get("/").get_data(as_text=True)  # never synced
    result = casework_app.test_cli_runner().invoke(args=["bridge", "sync"])
    assert result.exit_code == 0, result.output
    page = eva.get("/").get_data(as_text=True)
    assert 'id="sync-warning"' not in page and 'id="sync-status"' in page
    status = bridged.linked.intake.test_cli_runner().invoke(args=["bridge", "status"])
    assert "last verified sync request: 20" in status.output
    assert "last successful sync: 20" in casework_app.test_cli_runner().invoke(
        args=["bridge", "status"]).output


def test_an_oversized_body_waits_at_intake_without_holding_up_the_rest(
    bridged: Bridged, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(bridged.linked.intake.test_client(), category="ethics",
           files=[(io.BytesIO(b"x" * 200_000), "big.bin")])
    monkeypatch.setattr("casework.bridge.client.MAX_BODY", 100_000)
    report = bridged.cycle()
    assert report.imported == 1  # the report came; the big file did not
    assert _counts(bridged) == (1, 2, 1)


def test_a_killed_process_leaves_no_orphan_body_after_restart(bridged: Bridged) -> None:
    import os

    from casework import create_app as create_casework

    store = services(bridged.linked.casework).store
    orphan, young = store.root / ("a" * 32), store.root / ("b" * 32)
    orphan.write_bytes(b"sealed body with no row")
    young.write_bytes(b"being committed by another process right now")
    day_ago = time.time() - 24 * 3600
    os.utime(orphan, (day_ago, day_ago))
    create_casework(services(bridged.linked.casework).config)  # a restart
    assert not orphan.exists() and young.exists()
