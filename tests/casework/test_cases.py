"""Working a case: a report sent through intake arrives, is read, answered, and the
tipster reads the answer; access is refused outside one's unit and to non-readers."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from sqlalchemy import select

from casework.models import Case, Stage
from tests.intake.conftest import csrf_token, sign_in, submit

from .conftest import csrf, log_in, services
from .linked import Linked

XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'


def _case_id(linked: Linked) -> str:
    with services(linked.casework).db.session() as db:
        return db.scalars(select(Case)).one().id


def _reviewer(linked: Linked, name: str) -> FlaskClient:
    client = linked.casework.test_client()
    log_in(linked.casework, client, linked.staff[name])
    return client


def test_report_reply_and_the_tipster_reads_it(linked: Linked) -> None:
    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="ethics", what="The head of unit hired her nephew.",
                     files=[(io.BytesIO(b"%PDF-1.4 minutes"), "minutes.pdf")])
    assert linked.sync() == (2, 1)  # report + file in; the automatic acknowledgement out
    eva = _reviewer(linked, "eva")
    inbox = eva.get("/cases/").get_data(as_text=True)
    assert "ethics" in inbox and "LY-" in inbox
    case_id = _case_id(linked)
    page = eva.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "hired her nephew" in page and "minutes.pdf" in page
    file_link = re.search(r'href="(/cases/[0-9a-f]+/files/[0-9a-f]+)"', page)
    assert file_link
    download = eva.get(file_link.group(1))
    assert download.data == b"%PDF-1.4 minutes"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    eva.post(f"/cases/{case_id}/reply", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "reply-text": "<b>Which</b> year was this?"})
    eva.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "note-text": "Check the 2025 hiring files."})
    assert linked.sync() == (0, 1)
    sign_in(tipster, receipt)
    dialogue = tipster.get("/dialogue").get_data(as_text=True)
    assert "Which year was this?" in dialogue
    assert "Check the 2025 hiring files." not in dialogue  # notes never reach the tipster
    assert "Tack för din rapport" in dialogue  # the automatic acknowledgement
    tipster.post("/dialogue/message", data={"csrf_token": csrf_token(tipster, "/dialogue"),
                                            "text": "It was 2025."},
                 content_type="multipart/form-data")
    linked.sync()
    page = eva.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "It was 2025." in page and "Check the 2025 hiring files." in page


def test_arrival_is_acknowledged_automatically(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    with services(linked.casework).db.session() as db:
        case = db.scalars(select(Case)).one()
        assert case.stage == Stage.ACKNOWLEDGED.value
        assert case.acknowledged_on == case.received_on


def test_sync_is_idempotent(linked: Linked) -> None:
    submit(linked.intake.test_client())
    linked.sync()
    assert linked.sync() == (0, 0)
    with services(linked.casework).db.session() as db:
        assert len(list(db.scalars(select(Case)))) == 1


def test_reviewer_of_another_unit_cannot_open_the_case_by_id(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics")
    linked.sync()
    case_id = _case_id(linked)
    anna = _reviewer(linked, "anna")  # anti-corruption team
    assert anna.get(f"/cases/{case_id}").status_code == 403
    assert case_id not in anna.get("/cases/").get_data(as_text=True)
    assert anna.get("/cases/0123456789abcdef0123456789abcdef").status_code == 403


def test_excluded_reviewer_of_the_same_unit_cannot_read(linked: Linked) -> None:
    erik_key = linked.staff["erik"].key
    assert erik_key is not None
    submit(linked.intake.test_client(), category="ethics",
           excluded=[erik_key.public_key.key_id_hex])
    linked.sync()
    erik = _reviewer(linked, "erik")
    assert erik.get(f"/cases/{_case_id(linked)}").status_code == 403
    assert _reviewer(linked, "eva").get(f"/cases/{_case_id(linked)}").status_code == 200


def test_administrator_and_statistician_cannot_read_content(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="ethics", what="SECRET-CONTENT-MARKER")
    linked.sync()
    case_id = _case_id(linked)
    for name in ("admin", "stina", "cecilia"):
        client = _reviewer(linked, name)
        for path in (f"/cases/{case_id}", "/cases/"):
            response = client.get(path)
            assert response.status_code == 403
            assert "SECRET-CONTENT-MARKER" not in response.get_data(as_text=True)


def test_xss_from_the_tipster_and_in_staff_markup_is_neutralised(linked: Linked) -> None:
    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="ethics", what=XSS, when=XSS, who=XSS,
                     agency="__other__", agency_other=XSS,
                     files=[(io.BytesIO(b"x"), XSS + ".txt")])
    linked.sync()
    sign_in(tipster, receipt)
    tipster.post("/dialogue/message", data={"csrf_token": csrf_token(tipster, "/dialogue"),
                                            "text": XSS}, content_type="multipart/form-data")
    linked.sync()
    eva = _reviewer(linked, "eva")
    case_id = _case_id(linked)
    eva.post(f"/cases/{case_id}/notes", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "note-text": f"<b>bold</b> {XSS}"})
    eva.post(f"/cases/{case_id}/reply", data={"csrf_token": csrf(eva, f"/cases/{case_id}"),
                                               "reply-text": f"<i>hi</i> {XSS}"})
    page = eva.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "<b>bold</b>" in page  # allowed markup survives in notes
    assert "<i>hi</i>" not in page  # replies are plain text, as the tipster gets them
    linked.sync()
    sign_in(tipster, receipt)
    dialogue = tipster.get("/dialogue").get_data(as_text=True)
    assert "<script>alert(1)" not in dialogue and "&lt;i&gt;" not in dialogue
    inbox = eva.get("/cases/").get_data(as_text=True)
    assert "<script>alert(1)" not in inbox


def test_inbox_pages_with_a_keyset_cursor(linked: Linked) -> None:
    import datetime as dt

    from casework.bridge.imports import new_reference
    from casework.models import User
    from casework.models.cases import CaseReader

    with services(linked.casework).db.session() as db:
        eva_id = db.scalars(select(User.id).where(User.username == "eva")).one()
        for index in range(130):
            case = Case(reference=new_reference(), unit_id="etik", category="ethics",
                        received_on=dt.date(2026, 1, 1) + dt.timedelta(days=index % 40),
                        tipster_public_key=bytes(32), intake_receipt_id=f"{index:032x}")
            db.add(case)
            db.flush()
            if index < 120:  # the other ten are her unit's, but not sealed to her
                db.add(CaseReader(case_id=case.id, user_id=eva_id))
    eva = _reviewer(linked, "eva")
    seen: list[str] = []
    path = "/cases/"
    while path:
        page = eva.get(path).get_data(as_text=True)
        seen += re.findall(r">(LY-[0-9A-Z]{8})<", page)
        more = re.search(r'href="(/cases/\?[^"]*after=[^"]+)">Next page', page)
        path = more.group(1).replace("&amp;", "&") if more else ""
    assert len(seen) == 120 and len(set(seen)) == 120


def test_bad_cursor_is_a_clear_400(linked: Linked) -> None:
    eva = _reviewer(linked, "eva")
    assert eva.get("/cases/?after=garbage").status_code == 400


def test_unit_lead_assigns_a_case_without_re_encrypting_anything(linked: Linked) -> None:
    from casework.models import CaseEnvelope, User

    submit(linked.intake.test_client(), category="corruption", what="Kickbacks in 2025",
           files=[(io.BytesIO(b"ledger"), "ledger.csv")])
    linked.sync()
    case_id = _case_id(linked)
    store = services(linked.casework).store
    bodies_before = {p.name: p.read_bytes() for p in store.root.iterdir() if p.is_file()}
    # A reviewer who joins the unit later is not among the report's recipients...
    from casework.accounts import create_user
    from casework.enrolment import complete_enrolment
    from casework.models import Role

    config = services(linked.casework).config
    with services(linked.casework).db.session() as db:
        user, _ = create_user(db, config, username="nils", display_name="Nils New",
                              unit_id="akt", role=Role.REVIEWER)
        user.totp_secret, user_id = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", user.id
    import time

    import pyotp

    from .conftest import PASSWORD, Staff
    complete_enrolment(services(linked.casework).db, config, user_id=user_id,
                       code=pyotp.TOTP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").at(time.time() - 30),
                       new_password=PASSWORD)
    nils = Staff("nils", PASSWORD, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", None)
    newcomer = linked.casework.test_client()
    log_in(linked.casework, newcomer, nils)
    assert newcomer.get(f"/cases/{case_id}").status_code == 403  # ...and cannot read it
    assert "LY-" not in newcomer.get("/cases/?mine=1").get_data(as_text=True)
    lena = _reviewer(linked, "lena")
    response = lena.post(f"/cases/{case_id}/assign",
                         data={"csrf_token": csrf(lena, f"/cases/{case_id}"), "person": user_id})
    assert response.status_code == 302
    assert "Kickbacks in 2025" in newcomer.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "LY-" in newcomer.get("/cases/?mine=1").get_data(as_text=True)
    bodies_after = {p.name: p.read_bytes() for p in store.root.iterdir() if p.is_file()}
    assert bodies_after == bodies_before  # only headers changed
    with services(linked.casework).db.session() as db:
        assert db.get(User, user_id) is not None
        assert all(e.header for e in db.scalars(select(CaseEnvelope)))


def test_a_reviewer_cannot_assign(linked: Linked) -> None:
    submit(linked.intake.test_client(), category="corruption")
    linked.sync()
    case_id = _case_id(linked)
    anna = _reviewer(linked, "anna")
    response = anna.post(f"/cases/{case_id}/assign",
                         data={"csrf_token": csrf(anna, f"/cases/{case_id}"), "person": "x"})
    assert response.status_code == 403


def test_the_tipster_sees_the_case_acknowledged(linked: Linked) -> None:
    tipster = linked.intake.test_client()
    receipt = submit(tipster, category="ethics")
    linked.sync()
    sign_in(tipster, receipt)
    tipster.set_cookie("lang", "en")
    page = tipster.get("/dialogue").get_data(as_text=True)
    assert 'id="case-status">Acknowledged<' in page
