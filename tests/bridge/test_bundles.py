"""Air-gap mode: the same exchange as files, encrypted to the other side and signed."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

import crypto
from common.bundles import BundleRefused, read_bundle, write_bundle
from tests.casework.conftest import services
from tests.intake.conftest import sign_in, submit

from .conftest import Bridged
from .test_bridge import _counts


def _air_gap(bridged: Bridged) -> None:
    """Give casework the intake key it pins (no URL: nothing connects)."""
    casework = services(bridged.linked.casework)
    casework.config = replace(casework.config,
                              intake_verify_key=bridged.intake_key.verify_key.raw)
    intake = bridged.linked.intake.extensions["lykta.intake"]
    intake.config = replace(intake.config, sync_signing_seed=bridged.intake_key.seed())


def _cli(app: object, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_a_report_and_its_reply_cross_the_air_gap_as_files(bridged: Bridged,
                                                          tmp_path: Path) -> None:
    _air_gap(bridged)
    tipster = bridged.linked.intake.test_client()
    receipt = submit(tipster, category="ethics", what="Carried on a USB stick")
    out, answer = tmp_path / "to-casework.bundle", tmp_path / "to-intake.bundle"
    _cli(bridged.linked.intake, "bridge", "export", "--out", str(out))
    assert b"Carried on a USB stick" not in out.read_bytes()
    _cli(bridged.linked.casework, "bridge", "import", "--in", str(out), "--reply", str(answer))
    assert _counts(bridged)[1:] == (2, 1)  # report + automatic acknowledgement
    _cli(bridged.linked.intake, "bridge", "import", "--in", str(answer))
    assert _counts(bridged)[0] == 0  # intake deleted what casework acknowledged
    sign_in(tipster, receipt)
    assert "Tack för din rapport" in tipster.get("/dialogue").get_data(as_text=True)
    # Importing the same bundles again changes nothing (replays are harmless).
    _cli(bridged.linked.casework, "bridge", "import", "--in", str(out), "--reply", str(answer))
    _cli(bridged.linked.intake, "bridge", "import", "--in", str(answer))
    assert _counts(bridged) == (0, 2, 1)


def test_a_bundle_edited_by_one_byte_is_refused(bridged: Bridged, tmp_path: Path) -> None:
    _air_gap(bridged)
    submit(bridged.linked.intake.test_client())
    out = tmp_path / "to-casework.bundle"
    _cli(bridged.linked.intake, "bridge", "export", "--out", str(out))
    data = bytearray(out.read_bytes())
    for position in (10, len(data) // 2, len(data) - 10):
        edited = bytearray(data)
        edited[position] ^= 1
        out.write_bytes(bytes(edited))
        result = bridged.linked.casework.test_cli_runner().invoke(
            args=["bridge", "import", "--in", str(out), "--reply", str(tmp_path / "r")])
        assert result.exit_code != 0 and "does not verify" in result.output
    assert _counts(bridged)[1:] == (0, 0)


def test_bundles_refuse_the_wrong_keys_and_old_age() -> None:
    intake, casework = crypto.SigningKey.generate(), crypto.SigningKey.generate()
    bundle = write_bundle(intake, casework.verify_key, "bundle-to-casework",
                          {"items": [], "tipster_envelopes": []})
    assert read_bundle(bundle, casework, intake.verify_key, "bundle-to-casework") == {
        "items": [], "tipster_envelopes": []}
    stranger = crypto.SigningKey.generate()
    with pytest.raises(BundleRefused, match="does not verify"):
        read_bundle(bundle, casework, stranger.verify_key, "bundle-to-casework")
    with pytest.raises(BundleRefused, match="cannot be opened"):
        read_bundle(bundle, stranger, intake.verify_key, "bundle-to-casework")
    with pytest.raises(BundleRefused, match="does not verify"):
        read_bundle(bundle, casework, intake.verify_key, "bundle-to-intake")
    with pytest.raises(BundleRefused, match="older than 14 days"):
        read_bundle(bundle, casework, intake.verify_key, "bundle-to-casework",
                    now=time.time() + 15 * 24 * 3600)


def test_replies_alone_cross_the_air_gap(bridged: Bridged, tmp_path: Path) -> None:
    from tests.casework.conftest import csrf, log_in

    _air_gap(bridged)
    tipster = bridged.linked.intake.test_client()
    receipt = submit(tipster, category="ethics")
    first, answer = tmp_path / "1.bundle", tmp_path / "2.bundle"
    _cli(bridged.linked.intake, "bridge", "export", "--out", str(first))
    _cli(bridged.linked.casework, "bridge", "import", "--in", str(first), "--reply", str(answer))
    _cli(bridged.linked.intake, "bridge", "import", "--in", str(answer))
    eva = bridged.linked.casework.test_client()
    log_in(bridged.linked.casework, eva, bridged.linked.staff["eva"])
    from sqlalchemy import select

    from casework.models import Case
    with services(bridged.linked.casework).db.session() as session:
        case_id = session.scalars(select(Case)).one().id
    eva.post(f"/cases/{case_id}/reply", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "reply-text": "A question by courier."})
    replies = tmp_path / "3.bundle"
    assert "replies written" in _cli(bridged.linked.casework, "bridge", "export", "--out",
                                     str(replies))
    _cli(bridged.linked.intake, "bridge", "import", "--in", str(replies))
    sign_in(tipster, receipt)
    assert "A question by courier." in tipster.get("/dialogue").get_data(as_text=True)
