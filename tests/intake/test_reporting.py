"""Submitting reports: routing, sealing, files, conflict of interest, confidential reports."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from intake.models import ReceiptRecord, StoredEnvelope
from intake.services import Intake

from .conftest import People, report_form, submit


def intake_of(app: Flask) -> Intake:
    intake: Intake = app.extensions["lykta.intake"]
    return intake


def envelopes(app: Flask, **where: str) -> list[StoredEnvelope]:
    intake = intake_of(app)
    with intake.db.session() as session:
        query = select(StoredEnvelope)
        for name, value in where.items():
            query = query.where(getattr(StoredEnvelope, name) == value)
        return list(session.scalars(query))


def open_envelope(app: Flask, envelope: StoredEnvelope, key: crypto.PrivateKey) -> bytes:
    out = io.BytesIO()
    with intake_of(app).store.open(envelope.id) as body:
        crypto.open_stream(envelope.header, body, out, key)
    return out.getvalue()


def test_report_is_sealed_to_the_routed_unit_and_escrow_only(
    app: Flask, client: FlaskClient, people: People
) -> None:
    submit(client, category="ethics", what="Nepotism in hiring")
    (report,) = envelopes(app, kind="report")
    readers = set(crypto.header_key_ids(report.header))
    expected = {k.key_id for k in people.ethics.values()} | {people.escrow.key_id}
    assert readers == expected
    payload = json.loads(open_envelope(app, report, people.ethics["Eva Etik"]))
    assert payload["what"] == "Nepotism in hiring"
    assert payload["unit"] == "etik"
    assert json.loads(open_envelope(app, report, people.escrow))["category"] == "ethics"


def test_corruption_goes_to_the_anti_corruption_team(
    app: Flask, client: FlaskClient, people: People
) -> None:
    submit(client, category="corruption")
    (report,) = envelopes(app, kind="report")
    assert people.anticorruption["Anna Akt"].key_id in crypto.header_key_ids(report.header)
    assert people.ethics["Eva Etik"].key_id not in crypto.header_key_ids(report.header)


def test_excluded_reviewer_cannot_open_the_report(
    app: Flask, client: FlaskClient, people: People
) -> None:
    erik = people.ethics["Erik Etik"]
    submit(client, category="ethics", excluded=[erik.public_key.key_id_hex])
    (report,) = envelopes(app, kind="report")
    try:
        open_envelope(app, report, erik)
        raise AssertionError("excluded reviewer opened the report")
    except crypto.UnknownRecipient:
        pass
    assert open_envelope(app, report, people.ethics["Eva Etik"])


def test_excluding_the_whole_unit_routes_to_the_alternate_unit(
    app: Flask, client: FlaskClient, people: People
) -> None:
    everyone = [k.public_key.key_id_hex for k in people.ethics.values()]
    submit(client, category="ethics", excluded=everyone)
    (report,) = envelopes(app, kind="report")
    assert set(crypto.header_key_ids(report.header)) == {
        people.anticorruption["Anna Akt"].key_id, people.escrow.key_id}


def test_files_are_sealed_to_the_same_readers_and_listed_in_the_report(
    app: Flask, client: FlaskClient, people: People
) -> None:
    files = [(io.BytesIO(b"%PDF-1.4 invoice" * 1000), "faktura.pdf"),
             (io.BytesIO(b"second file"), "notes.txt")]
    submit(client, category="procurement", files=files)
    stored = envelopes(app, kind="file")
    assert len(stored) == 2
    anna = people.anticorruption["Anna Akt"]
    contents = {open_envelope(app, e, anna) for e in stored}
    assert contents == {b"%PDF-1.4 invoice" * 1000, b"second file"}
    (report,) = envelopes(app, kind="report")
    listed = json.loads(open_envelope(app, report, anna))["attachments"]
    assert sorted(a["filename"] for a in listed) == ["faktura.pdf", "notes.txt"]
    assert {a["envelope_id"] for a in listed} == {e.id for e in stored}


def custody_of(app: Flask, envelope: StoredEnvelope) -> crypto.Envelope:
    with intake_of(app).store.open(envelope.id) as body:
        return crypto.Envelope(envelope.header, body.read())


def test_confidential_identity_is_sealed_in_custody_under_four_eyes(
    app: Flask, client: FlaskClient, people: People
) -> None:
    """Outer layer: the custodian and escrow; inner layer: the report's readers and escrow.
    Neither a reader nor the custodian opens it alone; escrow opens both layers."""
    submit(client, identity="confidential", name="Karin Karlsson", contact="karin@example.org")
    (identity,) = envelopes(app, kind="identity")
    (report,) = envelopes(app, kind="report")
    assert set(crypto.header_key_ids(identity.header)) == {people.custodian.key_id,
                                                           people.escrow.key_id}
    sealed = custody_of(app, identity)
    assert set(crypto.inner_key_ids(sealed, people.custodian)) == set(
        crypto.header_key_ids(report.header))
    for name, key in people.everyone().items():
        if name == "escrow":
            continue
        with pytest.raises(crypto.UnknownRecipient):
            crypto.open_in_custody(sealed, key)
    assert json.loads(crypto.open_in_custody(sealed, people.escrow)) == {
        "name": "Karin Karlsson", "contact": "karin@example.org"}
    # A custodian's release gives a reader of the report (and only them) the identity.
    eva = people.ethics["Eva Etik"]
    released = crypto.Envelope(crypto.release(identity.header, people.custodian,
                                              eva.public_key), sealed.body)
    assert json.loads(crypto.open_in_custody(released, eva))["name"] == "Karin Karlsson"
    with pytest.raises(crypto.UnknownRecipient):
        crypto.open_in_custody(released, people.ethics["Erik Etik"])
    assert b"Karin" not in open_envelope(app, report, eva)


def test_without_a_custodian_the_outer_layer_is_sealed_to_escrow_only(
    app: Flask, client: FlaskClient, people: People
) -> None:
    intake = intake_of(app)
    intake.directory = dataclasses.replace(intake.directory, custodians=())
    submit(client, identity="confidential", name="Karin Karlsson", contact="karin@example.org")
    (identity,) = envelopes(app, kind="identity")
    assert crypto.header_key_ids(identity.header) == (people.escrow.key_id,)
    with pytest.raises(crypto.UnknownRecipient):
        crypto.open_outer(custody_of(app, identity), people.custodian)


def test_confidential_report_without_a_name_is_refused_with_a_clear_error(
    app: Flask, client: FlaskClient
) -> None:
    response = client.post("/submit", data=report_form(client, identity="confidential"),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "error-summary" in response.get_data(as_text=True)
    assert envelopes(app) == []


def test_missing_required_fields_show_errors_and_keep_what_was_typed(
    app: Flask, client: FlaskClient
) -> None:
    response = client.post("/submit", data=report_form(client, category="", what="",
                                                       who="Kept text"),
                           content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "error-summary" in page
    assert "Kept text" in page
    assert envelopes(app) == []


def test_receipt_record_holds_only_token_public_key_and_parameters(
    app: Flask, client: FlaskClient, argon2_params: crypto.Argon2Params
) -> None:
    receipt = submit(client)
    with intake_of(app).db.session() as session:
        (record,) = session.scalars(select(ReceiptRecord))
    derived = crypto.derive_receipt_keys(receipt, b"s" * 16, argon2_params)
    assert record.lookup_token == derived.lookup_token
    assert record.tipster_public_key == derived.tipster_public_key.raw
    assert crypto.Argon2Params.from_dict(json.loads(record.kdf)) == argon2_params


def test_other_agency_needs_a_name(client: FlaskClient) -> None:
    response = client.post("/submit", data=report_form(client, agency="__other__"),
                           content_type="multipart/form-data")
    assert response.status_code == 400


def test_reloading_the_receipt_page_does_not_send_the_report_twice(
    app: Flask, client: FlaskClient
) -> None:
    form = report_form(client)
    first = client.post("/submit", data=form, content_type="multipart/form-data")
    assert first.status_code == 200
    again = client.post("/submit", data=form, content_type="multipart/form-data")
    assert again.status_code == 400
    assert len(envelopes(app, kind="report")) == 1
