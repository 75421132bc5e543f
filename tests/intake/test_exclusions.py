"""The tipster's exclusions: excluding everyone is a clear 400, and every later item of a
receipt honours them, even after the report's readers have left the directory."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import crypto
from intake import IntakeConfig
from intake.models import ReceiptRecord

from .conftest import People, report_form, sign_in, submit
from .test_dialogue import send
from .test_reporting import envelopes, intake_of


def _key_id(key: crypto.PrivateKey) -> str:
    return key.public_key.key_id_hex


def test_excluding_every_reviewer_is_a_clear_400_on_the_form_not_a_503(
        app: Flask, client: FlaskClient, people: People) -> None:
    everyone = [_key_id(k) for k in (*people.ethics.values(), *people.anticorruption.values())]
    response = client.post("/submit", data=report_form(client, category="ethics",
                                                       excluded=everyone),
                           content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="excluded-error"' in page  # shown at the field, for screen readers too
    with intake_of(app).db.session() as session:
        assert session.scalar(select(func.count()).select_from(ReceiptRecord)) == 0


def test_excluding_one_whole_unit_still_goes_to_the_alternate(
        app: Flask, client: FlaskClient, people: People) -> None:
    submit(client, category="ethics", excluded=[_key_id(k) for k in people.ethics.values()])
    (report,) = envelopes(app, kind="report")
    assert people.anticorruption["Anna Akt"].key_id in crypto.header_key_ids(report.header)


def _restart_with(make_app: Callable[..., Flask], intake_config: IntakeConfig,
                  people: People, ethics: dict[str, crypto.PrivateKey]) -> Flask:
    """Casework exported a new directory (serial 2) with these ethics reviewers."""
    people.ethics = ethics
    intake_config.directory_path.write_bytes(people.directory(serial=2))
    return make_app()


def test_follow_ups_keep_the_exclusions_when_the_original_readers_are_gone(
        client: FlaskClient, people: People, make_app: Callable[..., Flask],
        intake_config: IntakeConfig) -> None:
    eva, erik = people.ethics["Eva Etik"], people.ethics["Erik Etik"]
    receipt = submit(client, category="ethics", excluded=[_key_id(erik)])
    nina = crypto.PrivateKey.generate()
    # Eva, the only reader, has left; Nina has joined; Erik is still there.
    app = _restart_with(make_app, intake_config, people, {"Erik Etik": erik, "Nina Ny": nina})
    tipster = app.test_client()
    sign_in(tipster, receipt)
    assert send(tipster, "One more thing.").status_code == 302  # type: ignore[attr-defined]
    (message,) = envelopes(app, kind="message")
    readers = set(crypto.header_key_ids(message.header))
    assert erik.key_id not in readers
    assert readers == {nina.key_id, people.escrow.key_id}
    assert eva.key_id not in readers


def test_a_follow_up_never_goes_to_an_excluded_reviewer_even_if_he_is_all_that_is_left(
        client: FlaskClient, people: People, make_app: Callable[..., Flask],
        intake_config: IntakeConfig) -> None:
    erik = people.ethics["Erik Etik"]
    receipt = submit(client, category="ethics", excluded=[_key_id(erik)])
    app = _restart_with(make_app, intake_config, people, {"Erik Etik": erik})
    tipster = app.test_client()
    sign_in(tipster, receipt)
    assert send(tipster, "Still there?").status_code == 302  # type: ignore[attr-defined]
    (message,) = envelopes(app, kind="message")
    readers = set(crypto.header_key_ids(message.header))
    # The unit has nobody left but Erik: its alternate unit receives it.
    assert readers == {people.anticorruption["Anna Akt"].key_id, people.escrow.key_id}
