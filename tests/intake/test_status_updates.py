"""The tipster is told each stage change in plain language, in their own language, from the
status's codes alone: a reviewer's reason text never reaches intake.

Runs through the linked pair of apps: a stage change in casework, a sync, the dialogue at
intake in Swedish and in English.
"""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from casework.case_view import ensure_reader_tag
from casework.models import Case
from casework.readers import reader_keys, report_content_key
from casework.reasons import tell_tipster
from casework.workflow import change_stage
from common.contract import Stage, StatusUpdate
from tests.casework.conftest import (  # noqa: F401  (fixtures)
    casework,
    casework_config,
    enrol,
    make_casework,
    services,
)
from tests.casework.linked import Linked, linked  # noqa: F401  (fixture)
from tests.casework.workflow_support import act, set_stage

from .conftest import sign_in, submit

XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'


def _case_id(linked: Linked) -> str:  # noqa: F811
    with services(linked.casework).db.session() as db:
        return db.scalars(select(Case.id)).one()


def _dialogue(linked: Linked, receipt: str, language: str) -> str:  # noqa: F811
    client: FlaskClient = linked.intake.test_client()
    client.set_cookie("lang", language)
    sign_in(client, receipt)
    return client.get("/dialogue").get_data(as_text=True)


def test_the_tipster_reads_each_stage_change_in_their_language(
        linked: Linked) -> None:  # noqa: F811
    receipt = submit(linked.intake.test_client(), category="corruption")
    linked.sync()
    case_id = _case_id(linked)
    marker = "REVIEWER-REASON-5e1d"
    act(linked, "anna", change_stage, case_id, "assessed", "within-scope",
        f"{marker} the report names a procurement")
    linked.sync()
    english = _dialogue(linked, receipt, "en")
    assert "Your case has moved on. It is now: Assessed." in english
    assert re.search(r'id="case-status">Assessed<', english)
    set_stage(linked.casework, case_id, "investigating")
    act(linked, "lena", change_stage, case_id, "concluded", "evidence-sufficient",
        f"{marker} two invoices match", "substantiated")
    linked.sync()
    english = _dialogue(linked, receipt, "en")
    assert "Your case is concluded. Outcome: Substantiated." in english
    assert re.search(r'id="case-outcome">Substantiated<', english)
    swedish = _dialogue(linked, receipt, "sv")
    assert re.search(r'id="case-status">Avslutad<', swedish)
    assert re.search(r'id="case-outcome">Befogad<', swedish)
    act(linked, "lena", change_stage, case_id, "investigating", "new-information",
        f"{marker} a second witness")
    linked.sync()
    english = _dialogue(linked, receipt, "en")
    assert "Your case was reopened. It is now: Under investigation." in english
    assert 'id="case-outcome"' not in english  # a reopened case has no outcome
    swedish = _dialogue(linked, receipt, "sv")
    assert re.search(r'id="case-status">Utreds<', swedish)
    for page in (english, swedish):
        assert marker not in page and "invoices" not in page and "witness" not in page


def test_a_referral_names_the_authority_in_the_tipsters_language_escaped(
        linked: Linked) -> None:  # noqa: F811
    receipt = submit(linked.intake.test_client(), category="corruption")
    linked.sync()
    case_id = _case_id(linked)
    casework_services = services(linked.casework)
    key = linked.staff["lena"].key
    with casework_services.unit() as unit:
        case = unit.session.get(Case, case_id)
        assert case is not None
        content_key = report_content_key(case, key)
        ensure_reader_tag(casework_services, unit.session, case, content_key)
        readers = reader_keys(unit.session, casework_services.config, case, content_key)
        tell_tipster(casework_services, unit.session, case, readers=readers,
                     update=StatusUpdate(Stage.ASSESSED, referred_to="jo",
                                         referred_to_name={"sv": f"JO-sv {XSS}",
                                                           "en": f"JO-en {XSS}"}))
    linked.sync()
    english = _dialogue(linked, receipt, "en")
    swedish = _dialogue(linked, receipt, "sv")
    assert "JO-en" in english and "JO-sv" not in english
    assert "JO-sv" in swedish and "JO-en" not in swedish
    for page in (english, swedish):
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
