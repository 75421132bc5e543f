"""Air-gap bundles that verify and open but are malformed: refused whole, before anything
is imported, acknowledged or pushed (a signature says who wrote a bundle, not that it is
well formed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import crypto
from common.bundles import BundleRefused, read_bundle, write_bundle
from common.contract import b64
from intake.models import StoredEnvelope
from tests.intake.conftest import submit

from .conftest import Bridged
from .test_bridge import _counts
from .test_bundles import _air_gap, _cli

INTAKE, CASEWORK = crypto.SigningKey.generate(), crypto.SigningKey.generate()
GOOD_ITEM = {"envelope_id": "a" * 32, "receipt_id": "b" * 32, "kind": "report",
             "header": "AA==", "body": "AA==", "tipster_public_key": b64(b"\xcc" * 32),
             "unit_id": "etik"}
GOOD_PUSH = {"receipt_id": "b" * 32, "envelope_id": "a" * 32, "kind": "message",
             "header": "AA==", "body": "AA=="}

TO_CASEWORK: list[Any] = [
    [], "items", None, {}, {"items": []}, {"items": {}, "tipster_envelopes": []},
    {"items": [], "tipster_envelopes": [], "more": 1},
    {"items": [{**GOOD_ITEM, "body": "not base64"}], "tipster_envelopes": []},
    {"items": [{**GOOD_ITEM, "body": "00"}], "tipster_envelopes": []},  # hex: the old form
    {"items": [{**GOOD_ITEM, "envelope_id": "../../etc"}], "tipster_envelopes": []},
    {"items": [{**GOOD_ITEM, "tipster_public_key": b64(b"\xcc")}], "tipster_envelopes": []},
    {"items": [{**GOOD_ITEM, "extra": 1}], "tipster_envelopes": []},
    {"items": [{k: v for k, v in GOOD_ITEM.items() if k != "unit_id"}],
     "tipster_envelopes": []},
    {"items": [], "tipster_envelopes": ["a" * 32 + "\n"]},
    {"items": [], "tipster_envelopes": [[[[[]]]]]},
]
TO_INTAKE: list[Any] = [
    {"acks": "all", "pushes": []}, {"acks": [], "pushes": [{**GOOD_PUSH, "kind": "note"}]},
    {"acks": ["a" * 32, "bad"], "pushes": []}, {"acks": [], "pushes": [{"receipt_id": 1}]},
    {"acks": [], "pushes": [{**GOOD_PUSH, "header": "!!"}]}, {"pushes": []},
]


def test_the_good_items_the_malformed_ones_derive_from_are_read() -> None:
    bundle = write_bundle(INTAKE, CASEWORK.verify_key, "bundle-to-casework",
                          {"items": [GOOD_ITEM], "tipster_envelopes": ["c" * 32]})
    assert read_bundle(bundle, CASEWORK, INTAKE.verify_key, "bundle-to-casework") == {
        "items": [GOOD_ITEM], "tipster_envelopes": ["c" * 32]}
    bundle = write_bundle(CASEWORK, INTAKE.verify_key, "bundle-to-intake",
                          {"acks": ["c" * 32], "pushes": [GOOD_PUSH]})
    assert read_bundle(bundle, INTAKE, CASEWORK.verify_key, "bundle-to-intake") == {
        "acks": ["c" * 32], "pushes": [GOOD_PUSH]}


@pytest.mark.parametrize("payload", TO_CASEWORK)
def test_a_malformed_bundle_for_casework_is_refused_whole(payload: object) -> None:
    bundle = write_bundle(INTAKE, CASEWORK.verify_key, "bundle-to-casework", payload)  # type: ignore[arg-type]
    with pytest.raises(BundleRefused, match="malformed"):
        read_bundle(bundle, CASEWORK, INTAKE.verify_key, "bundle-to-casework")


@pytest.mark.parametrize("payload", TO_INTAKE)
def test_a_malformed_bundle_for_intake_is_refused_whole(payload: object) -> None:
    bundle = write_bundle(CASEWORK, INTAKE.verify_key, "bundle-to-intake", payload)  # type: ignore[arg-type]
    with pytest.raises(BundleRefused, match="malformed"):
        read_bundle(bundle, INTAKE, CASEWORK.verify_key, "bundle-to-intake")


def test_a_deeply_nested_bundle_is_refused_not_a_crash() -> None:
    sealed = crypto.seal_bytes(b"[" * 200_000, [CASEWORK.verify_key.box_public_key()],
                               routing={"kind": "bundle-to-casework"})
    body = ('{"header": "' + b64(sealed.header) + '", "body": "' + b64(sealed.body)
            + '"}').encode()
    bundle = crypto.sign_document(INTAKE, purpose="bundle-to-casework", body=body)
    with pytest.raises(BundleRefused, match="malformed"):
        read_bundle(bundle, CASEWORK, INTAKE.verify_key, "bundle-to-casework")


def test_casework_refuses_a_malformed_bundle_before_importing_anything(
        bridged: Bridged, tmp_path: Path) -> None:
    _air_gap(bridged)
    submit(bridged.linked.intake.test_client(), category="ethics")
    good = tmp_path / "good.bundle"
    _cli(bridged.linked.intake, "bridge", "export", "--out", str(good))
    payload = read_bundle(good.read_bytes(), bridged.linked.signing,
                          bridged.intake_key.verify_key, "bundle-to-casework")
    # One good item and one malformed: nothing at all may be imported.
    payload["items"].append({**payload["items"][0], "envelope_id": "not-an-id"})
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(write_bundle(bridged.intake_key, bridged.linked.signing.verify_key,
                                 "bundle-to-casework", payload))
    result = bridged.linked.casework.test_cli_runner().invoke(
        args=["bridge", "import", "--in", str(bad), "--reply", str(tmp_path / "r")])
    assert result.exit_code != 0 and "malformed" in result.output
    assert _counts(bridged)[1:] == (0, 0)
    assert not (tmp_path / "r").exists()


def test_intake_stores_the_good_replies_and_counts_a_refused_one(
        bridged: Bridged, tmp_path: Path) -> None:
    _air_gap(bridged)
    submit(bridged.linked.intake.test_client(), category="ethics")
    first, answer = tmp_path / "1.bundle", tmp_path / "2.bundle"
    _cli(bridged.linked.intake, "bridge", "export", "--out", str(first))
    _cli(bridged.linked.casework, "bridge", "import", "--in", str(first), "--reply", str(answer))
    payload = read_bundle(answer.read_bytes(), bridged.intake_key,
                          bridged.linked.signing.verify_key, "bundle-to-intake")
    assert len(payload["pushes"]) == 1
    # A second reply for a receipt intake does not have (deleted here, say).
    payload["pushes"].append({**payload["pushes"][0], "receipt_id": "f" * 32,
                              "envelope_id": "e" * 32})
    edited = tmp_path / "3.bundle"
    edited.write_bytes(write_bundle(bridged.linked.signing, bridged.intake_key.verify_key,
                                    "bundle-to-intake", payload))
    result = bridged.linked.intake.test_cli_runner().invoke(
        args=["bridge", "import", "--in", str(edited)])
    assert result.exit_code == 0, result.output
    assert "stored 1 replies" in result.output and "refused 1" in result.output
    with bridged.linked.intake.extensions["lykta.intake"].db.session() as session:
        kinds = list(session.scalars(select(StoredEnvelope.kind).where(
            StoredEnvelope.audience == "tipster")))
    assert kinds.count("message") == 1
    assert _counts(bridged)[0] == 0  # the acknowledgements were applied
