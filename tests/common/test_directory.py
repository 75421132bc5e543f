"""The recipient directory: what casework builds and signs is what intake verifies and reads."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import crypto
from common.contract import Category, DocumentPurpose
from common.directory import (
    FORMAT,
    PURPOSE,
    DirectoryRefused,
    Listed,
    UnitEntry,
    build_directory,
    sign_directory,
    verify_directory,
)

CASEWORK = crypto.SigningKey.generate()
EVA, ANNA, CECILIA = (crypto.PrivateKey.generate().public_key for _ in range(3))
ESCROW = crypto.generate_escrow_key().public_key
ROUTES: dict[str, str] = {Category.CORRUPTION: "akt", Category.ETHICS: "etik",
                          Category.OTHER: "etik"}


def _body(**changes: object) -> bytes:
    body = build_directory(
        serial=3, routes=ROUTES, escrow=ESCROW, custodians=[Listed("Cecilia", CECILIA)],
        units=[UnitEntry("etik", {"sv": "Etikkommittén", "en": "Ethics committee"},
                         [Listed("Eva", EVA)], "akt"),
               UnitEntry("akt", {"sv": "Antikorruptionsteamet", "en": "Anti-corruption team"},
                         [Listed("Anna", ANNA)], "etik")])
    return json.dumps({**json.loads(body), **changes}).encode()


def test_what_casework_signs_intake_reads() -> None:
    directory = verify_directory(sign_directory(_body(), CASEWORK), CASEWORK.verify_key)
    assert directory.serial == 3
    assert directory.escrow.raw == ESCROW.raw
    assert [(p.name, p.key_id) for p in directory.custodians] == [("Cecilia",
                                                                  CECILIA.key_id_hex)]
    assert directory.units["etik"].name("en") == "Ethics committee"
    assert directory.units["etik"].alternate_unit == "akt"
    assert [p.public_key.raw for p in directory.units["akt"].reviewers] == [ANNA.raw]
    assert directory.routes == {"corruption": "akt", "ethics": "etik", "other": "etik"}
    unit, readers = directory.route(Category.CORRUPTION, ())
    assert unit.id == "akt" and [p.name for p in readers] == ["Anna"]
    # Excluding every reviewer of the receiving unit sends the report to its alternate.
    unit, readers = directory.route(Category.CORRUPTION, [ANNA.key_id_hex])
    assert unit.id == "etik" and [p.name for p in readers] == ["Eva"]
    assert directory.unit_for(Category.FUNDS).id == "etik"  # unrouted: "other"
    assert [p.name for p in directory.all_reviewers()] == ["Anna", "Eva"]
    assert [p.name for p in directory.follow_up_readers("akt", [ANNA.key_id_hex], [])] == [
        "Anna"]


def test_the_purpose_is_the_contracts() -> None:
    assert PURPOSE == DocumentPurpose.RECIPIENT_DIRECTORY
    assert json.loads(_body())["format"] == FORMAT


def test_a_directory_of_another_format_is_refused() -> None:
    with pytest.raises(DirectoryRefused, match="unknown directory format"):
        verify_directory(sign_directory(_body(format="lykta-recipient-directory/2"), CASEWORK),
                         CASEWORK.verify_key)


@pytest.mark.parametrize("purpose", [DocumentPurpose.BUNDLE_TO_INTAKE, "pull-response"])
def test_a_document_signed_for_another_purpose_is_refused(purpose: str) -> None:
    document = crypto.sign_document(CASEWORK, purpose=purpose, body=_body())
    with pytest.raises(DirectoryRefused):
        verify_directory(document, CASEWORK.verify_key)


def test_an_expired_or_rolled_back_directory_is_refused() -> None:
    document = sign_directory(_body(), CASEWORK)
    with pytest.raises(DirectoryRefused, match="expired"):
        verify_directory(document, CASEWORK.verify_key,
                         now=dt.datetime.now(dt.UTC) + dt.timedelta(days=31))
    with pytest.raises(DirectoryRefused, match="older than the one in force"):
        verify_directory(document, CASEWORK.verify_key, min_serial=4)


@pytest.mark.parametrize("changes", [{"units": "etik"}, {"serial": "three"},
                                     {"escrow": {}}, {"expires_at": "2030-01-01T00:00:00"}])
def test_a_malformed_directory_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(DirectoryRefused):
        verify_directory(sign_directory(_body(**changes), CASEWORK), CASEWORK.verify_key)
