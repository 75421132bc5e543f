"""The demo's seeded cases (scripts/demo_cases.py): the whole workflow, sealed, audited.

One demo instance is set up for the module (in a temporary LYKTA_INSTANCE, cheap Argon2),
as `make demo` sets it up; the tests then read it through the apps and their database.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import re
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from casework import CaseworkConfig
from casework import create_app as create_casework
from casework.models import (
    Assignment,
    AuditEntry,
    Case,
    CaseEnvelope,
    CaseLabel,
    CaseLink,
    Conflict,
    Escalation,
    FeedbackExtension,
    IdentityRequest,
    StageChange,
    User,
)
from casework.models.cases import CaseReader
from common.contract import Outcome, Stage
from intake import IntakeConfig
from intake import create_app as create_intake
from scripts import demo_history
from scripts.demo_history import DEFAULT_COUNT
from scripts.synthetic_cases import PREFIX
from tests.support.casework import csrf, fresh_step, services


@dataclass
class Demo:
    path: Path
    casework: Flask
    cases: dict[str, dict[str, str]]  # demo-cases.json
    staff: dict[str, dict[str, str]]  # demo-staff.json
    output: str  # what set_up printed

    def case(self, name: str) -> Case:
        with services(self.casework).db.session() as db:
            found = db.scalar(select(Case).where(
                Case.reference == self.cases[name]["reference"]))
            assert found is not None, name
            db.expunge(found)
            return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    path = tmp_path_factory.mktemp("demo-instance")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LYKTA_INSTANCE", str(path))
        patch.setenv("LYKTA_DEMO_ARGON2", "fast")
        import scripts.demo as module

        module = importlib.reload(module)
        printed = io.StringIO()
        with redirect_stdout(printed):
            module.set_up()
        module.upgrade_instance()
        casework = create_casework(CaseworkConfig.from_instance(path))
        casework.config["TESTING"] = True
        yield Demo(path, casework, json.loads((path / "demo-cases.json").read_text()),
                   json.loads((path / "demo-staff.json").read_text()), printed.getvalue())


def test_the_demo_holds_every_stage_outcome_and_action(demo: Demo) -> None:
    assert "Seeded 20 synthetic demo cases" in demo.output
    with services(demo.casework).db.session() as db:
        # The worked cases only: the synthetic history (SYN-..., tested below) has its own.
        cases = [c for c in db.scalars(select(Case)) if not c.reference.startswith("SYN-")]
        assert len(cases) == 20
        stages = {c.stage for c in cases}
        assert stages == {s.value for s in Stage}
        assert {c.outcome for c in cases if c.stage == Stage.CONCLUDED.value} == {
            o.value for o in Outcome}
        kinds = {(e.kind, e.destination) for e in db.scalars(select(Escalation))}
        assert {("unit", "akt"), ("kof", "kof"), ("referral", "jo")} <= kinds
        pending = list(db.scalars(select(Conflict).where(Conflict.rekeyed_at.is_(None))))
        assert len(pending) == 1
        declarer = db.get(User, pending[0].user_id)
        assert declarer is not None and declarer.username == "anna"
        assert sum(c.merged_into_id is not None for c in cases) == 1
        assert {row.kind for row in db.scalars(select(CaseLink))} == {"related", "duplicate"}
        assert db.scalar(select(Assignment).limit(1)) is not None
        assert set(db.scalars(select(CaseLabel.label))) >= {"rekrytering", "bidrag"}
        assert {c.priority for c in cases} >= {"normal", "high", "urgent"}
        assert sum(c.feedback_on is not None for c in cases) == 1
        assert db.scalar(select(CaseEnvelope).where(CaseEnvelope.kind == "identity"))
        assert db.scalar(select(CaseEnvelope).where(CaseEnvelope.kind == "file"))
    overdue = demo.case("overdue")
    assert overdue.feedback_on is None and overdue.stage != Stage.CONCLUDED.value
    # Received over three months ago (synthetic history) and no feedback yet: overdue.
    assert overdue.feedback_by < dt.datetime.now(dt.UTC).date()
    # Imported with the acknowledgement by hand: one still received (not overdue yet),
    # one received 9 days ago and never acknowledged, one a reader acknowledged.
    today = dt.datetime.now(dt.UTC).date()
    received = demo.case("received")
    assert (received.stage, received.acknowledged_on) == (Stage.RECEIVED.value, None)
    assert received.acknowledge_by >= today
    late = demo.case("acknowledgement-overdue")
    assert (late.stage, late.acknowledged_on) == (Stage.RECEIVED.value, None)
    assert late.acknowledge_by < today
    by_hand = demo.case("acknowledged-by-hand")
    assert (by_hand.stage, by_hand.acknowledged_on) == (Stage.ACKNOWLEDGED.value, today)
    with services(demo.casework).db.session() as db:
        moves = [(m.from_stage, m.to_stage) for m in db.scalars(
            select(StageChange).where(StageChange.case_id == by_hand.id))]
        automatic = set(db.scalars(select(AuditEntry.case_id).where(
            AuditEntry.action == "acknowledged_automatically")))
    assert moves == [(Stage.RECEIVED.value, Stage.ACKNOWLEDGED.value)]
    assert not {received.id, late.id, by_hand.id} & automatic
    assert demo.case("triaged").id in automatic
    merged = demo.case("duplicate")
    assert merged.merged_into_id == demo.case("primary").id
    assert demo.case("escalated").unit_id == "etik"


def test_demo_json_keeps_one_account_per_role_and_the_extras_apart(demo: Demo) -> None:
    accounts = json.loads((demo.path / "demo.json").read_text())
    assert {a["username"] for a in accounts.values()} == {
        "admin", "lena", "eva", "cecilia", "stina", "olof"}
    assert {"lars", "erik", "anna", "karin"} <= set(demo.staff)
    assert (demo.path / "demo-cases.json").stat().st_mode & 0o077 == 0
    assert (demo.path / "demo-staff.json").stat().st_mode & 0o077 == 0


def test_the_audit_log_of_the_demo_verifies(demo: Demo) -> None:
    result = demo.casework.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit log intact" in result.output
    entries = int(re.search(r"intact: (\d+) entries", result.output).group(1))  # type: ignore[union-attr]
    assert entries > 50  # every action of the seeding is an entry
    with services(demo.casework).db.session() as db:
        actions = list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    # The set-up itself is audited, first: units, accounts, enrolments, the directory.
    assert actions[:3] == ["unit_added"] * 3
    staff = len(demo.staff)
    assert actions.count("user_created") == staff
    assert actions.count("enrolment_completed") == staff
    assert actions.index("directory_exported") < actions.index("case_opened")


def _sign_in(demo: Demo, username: str) -> FlaskClient:
    account = demo.staff[username]
    with services(demo.casework).db.session() as db:
        last = db.scalar(select(User.totp_last_step).where(User.username == username))
    client = demo.casework.test_client()
    client.set_cookie("lang", "en")
    response = client.post("/login", data={
        "csrf_token": csrf(client, "/login"), "username": username,
        "password": account["password"],
        "code": pyotp.TOTP(account["totp_secret"]).at(fresh_step(last or 0) * 30)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def test_the_lead_sees_the_escalated_case_and_the_conflict_flag(demo: Demo) -> None:
    lena = _sign_in(demo, "lena")
    inbox = lena.get("/cases/")
    assert inbox.status_code == 200
    page = inbox.get_data(as_text=True)
    for name in ("escalated", "kof", "conflict", "primary", "akt-overdue"):
        assert demo.cases[name]["reference"] in page, name
    conflicts = lena.get("/conflicts/")
    assert conflicts.status_code == 200
    assert demo.cases["conflict"]["reference"] in conflicts.get_data(as_text=True)
    overdue = lena.get("/cases/?overdue=feedback").get_data(as_text=True)
    assert demo.cases["akt-overdue"]["reference"] in overdue
    assert demo.cases["dismissed"]["reference"] not in overdue
    late = lena.get("/cases/?overdue=acknowledgement").get_data(as_text=True)
    assert demo.cases["acknowledgement-overdue"]["reference"] in late
    assert demo.cases["akt-overdue"]["reference"] not in late


def test_the_reviewer_sees_her_cases_and_not_one_she_was_excluded_from(demo: Demo) -> None:
    eva = _sign_in(demo, "eva")
    inbox = eva.get("/cases/")
    assert inbox.status_code == 200
    page = inbox.get_data(as_text=True)
    for name in ("overdue", "triaged", "assigned", "investigating", "substantiated",
                 "received", "acknowledged-by-hand"):
        assert demo.cases[name]["reference"] in page, name
    assert demo.cases["not-substantiated"]["reference"] not in page  # the tipster's choice
    assert demo.cases["kof"]["reference"] not in page  # another unit's
    received = eva.get("/cases/?stage=received").get_data(as_text=True)
    assert demo.cases["received"]["reference"] in received
    assert demo.cases["triaged"]["reference"] not in received
    mine = eva.get("/cases/?mine=1").get_data(as_text=True)
    assert demo.cases["assigned"]["reference"] in mine
    case = eva.get(f"/cases/{demo.case('triaged').id}")
    assert case.status_code == 200
    assert "[DEMO]" in case.get_data(as_text=True)  # she reads the sealed report


def test_no_demo_text_is_stored_in_plaintext(demo: Demo) -> None:
    """Every report, reason, reply and note is sealed: the marker the texts contain is in
    no file of the instance (databases, their journals, bodies, the demo's own files)."""
    markers = (b"[DEMO]", "Syntetiskt demoärende".encode(), b"Synthetic demo case")
    scanned = 0
    for path in demo.path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += path.name.endswith(".sqlite")
            for marker in markers:
                assert marker not in data, (path.name, marker)
    assert scanned == 2  # both databases were read


def test_the_tipster_reads_the_status_updates_and_the_feedback(demo: Demo) -> None:
    intake = create_intake(IntakeConfig.from_instance(demo.path))
    client = intake.test_client()
    client.set_cookie("lang", "en")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    response = client.post("/login", data={"csrf_token": token.group(1),
                                           "receipt": demo.cases["substantiated"]["receipt"]})
    assert response.status_code == 302
    dialogue = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="case-status"' in dialogue
    assert "Your case is concluded." in dialogue
    assert "We looked into your report" in dialogue  # the reply marked as feedback


def test_the_banner_says_whom_to_sign_in_as(demo: Demo) -> None:
    from scripts.demo_cases import banner

    text = banner(demo.path)
    for expected in ("lena", "eva", "olof", "audit verify", demo.cases["conflict"]["reference"],
                     demo.cases["substantiated"]["receipt"]):
        assert expected in text
    assert banner(demo.path / "missing") == ""


def test_a_failed_seeding_is_one_line_and_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scripts.demo_cases import seed

    assert seed(tmp_path, {}) is False
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "could not be seeded" in captured.err
    assert list(tmp_path.iterdir()) == []


# --- the synthetic history for the statistics (scripts/demo_history.py) -----------------


def _history(db: Session) -> list[Case]:
    return list(db.scalars(select(Case).where(Case.reference.startswith(PREFIX))))


def test_the_synthetic_history_spans_two_years_in_every_unit_stage_and_outcome(
        demo: Demo) -> None:
    assert f"Seeded a synthetic history of {DEFAULT_COUNT:,} cases" in demo.output
    today = dt.datetime.now(dt.UTC).date()
    configured = {a.code for a in services(demo.casework).config.referral_authorities}
    with services(demo.casework).db.session() as db:
        history = _history(db)
        ids = {c.id for c in history}
        escalations = [e for e in db.scalars(select(Escalation)) if e.case_id in ids]
        conflicts = [c for c in db.scalars(select(Conflict)) if c.case_id in ids]
        requests = [r for r in db.scalars(select(IdentityRequest)) if r.case_id in ids]
        extended = {e.case_id for e in db.scalars(select(FeedbackExtension))}
    assert len(history) == DEFAULT_COUNT
    received = [c.received_on for c in history]
    assert today - dt.timedelta(days=730) <= min(received) <= today - dt.timedelta(days=700)
    assert max(received) >= today - dt.timedelta(days=7) and max(received) <= today
    assert {c.unit_id for c in history} == {"etik", "akt"}
    assert {c.stage for c in history} == {s.value for s in Stage}
    assert {c.outcome for c in history if c.outcome} == {o.value for o in Outcome}
    assert all((c.stage == Stage.CONCLUDED.value) == (c.concluded_on is not None)
               for c in history)
    assert any(c.damage_estimate_sek for c in history)
    assert any(c.recovered_sek for c in history)
    acknowledged = [c for c in history if c.acknowledged_on is not None]
    late = [c for c in acknowledged
            if c.acknowledged_on is not None and c.acknowledged_on > c.acknowledge_by]
    assert 0 < len(late) < len(acknowledged) / 10  # most on time, some late
    answered = [c for c in history if c.feedback_on is not None]
    assert any(c.feedback_on is not None
               and c.feedback_on > c.received_on + dt.timedelta(days=90) for c in answered)
    assert {c.id for c in history if c.feedback_extended} == extended & ids and extended
    kinds = {e.kind for e in escalations}
    assert kinds == {"unit", "kof", "referral"}
    assert {e.destination for e in escalations if e.kind == "referral"} <= configured
    # Every conflict already rekeyed, every identity request decided: nothing of the
    # history waits in a lead's or a custodian's queue beside the worked cases.
    assert conflicts and all(c.rekeyed_at is not None for c in conflicts)
    assert requests and all(r.status != "pending" for r in requests)


def test_the_history_is_marked_sealed_and_read_by_its_own_readers(demo: Demo) -> None:
    with services(demo.casework).db.session() as db:
        history = _history(db)
        ids = {c.id for c in history}
        reports = [e for e in db.scalars(select(CaseEnvelope).where(
            CaseEnvelope.kind == "report")) if e.case_id in ids]
        readers = {r.user_id for r in db.scalars(select(CaseReader)) if r.case_id in ids}
        names = {u.id: u.username for u in db.scalars(select(User))}
    assert all(c.reference.startswith(PREFIX) for c in history)
    assert len(reports) == len(history)  # one sealed report each
    assert {names[r] for r in readers} == {"hedda", "hugo"}
    assert "SYN-" in demo_history.banner(demo.path)
    assert "stina" in demo_history.banner(demo.path)
    assert (demo.path / demo_history.HISTORY_FILE).stat().st_mode & 0o077 == 0
    # hedda finds the etik history in her inbox and opens it; eva's first page stays the
    # worked demo cases'.
    hedda = _sign_in(demo, "hedda")
    page = hedda.get("/cases/").get_data(as_text=True)
    found = re.findall(r"SYN-\d{6}", page)
    assert found
    case = next(c for c in history if c.reference == found[0])
    opened = hedda.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "[DEMO]" in opened and case.reference in opened
    assert PREFIX not in _sign_in(demo, "eva").get("/cases/").get_data(as_text=True)


def test_the_audit_log_says_what_was_seeded_and_still_verifies(demo: Demo) -> None:
    with services(demo.casework).db.session() as db:
        seeded = list(db.scalars(select(AuditEntry).where(
            AuditEntry.action == "demo_history_seeded")))
    assert len(seeded) == 1
    assert json.loads(seeded[0].details) == {"count": DEFAULT_COUNT, "days": 730}
    result = demo.casework.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_the_history_has_figures_and_small_cells_to_suppress(demo: Demo) -> None:
    """The statistician's last ended quarter has real counts, some cells suppressed."""
    from casework.statistics.disclosure import protect
    from casework.statistics.figures import figures, tables_of
    from casework.statistics.periods import Period

    config = services(demo.casework).config
    quarter = Period.previous_quarter(dt.datetime.now(dt.UTC).date())
    with demo.casework.app_context(), services(demo.casework).db.session() as db:
        found = figures(db, quarter, authorities=config.referral_authorities)
        released = protect(tables_of(found), k=config.statistics_k,
                           protection=config.statistics_protection)
    cells = [cell for table in released for cell in table.cells.values()]
    shown = [c.value for c in cells if c.suppressed is None and c.value is not None]
    assert sum(1 for c in cells if c.suppressed is not None) >= 1
    assert max(shown) > 200  # the quarter's reports received, at least
    assert sum(1 for v in shown if v >= config.statistics_k) >= 20


def test_the_statistician_publishes_the_last_quarter_of_the_history(demo: Demo) -> None:
    from casework.models import ReleaseKind
    from casework.statistics.periods import Period
    from casework.statistics.releases import publish

    cw = services(demo.casework)
    quarter = Period.previous_quarter(dt.datetime.now(dt.UTC).date())
    with demo.casework.test_request_context(), cw.unit() as work:
        stina = work.session.scalar(select(User).where(User.username == "stina"))
        assert stina is not None
        release = publish(cw, work.session, stina, ReleaseKind.QUARTERLY, quarter)
        tables = json.loads(release.tables)
    assert PREFIX not in json.dumps(tables)  # no reference leaves casework
    # A suppressed cell is [row, column, null, reason] in the lykta-statistics/1 tables.
    assert 'null, "c"' in json.dumps(tables)  # visible suppression, its reason withheld


def test_the_lead_opening_the_flagged_case_rekeys_it_without_anna(demo: Demo) -> None:
    """Last in the module: it changes the demo (as the banner says opening the case does)."""
    case = demo.case("conflict")
    lena = _sign_in(demo, "lena")
    assert lena.get(f"/cases/{case.id}").status_code == 200
    with services(demo.casework).db.session() as db:
        conflict = db.scalar(select(Conflict).where(Conflict.case_id == case.id))
        assert conflict is not None and conflict.rekeyed_at is not None
        anna = db.scalar(select(User).where(User.username == "anna"))
        assert anna is not None and anna.wrapped_key is not None
        key = crypto.unwrap_private_key(anna.wrapped_key, demo.staff["anna"]["password"])
        headers = list(db.scalars(select(CaseEnvelope.header).where(
            CaseEnvelope.case_id == case.id)))
    assert headers and all(key.public_key.key_id not in crypto.header_key_ids(h)
                           for h in headers)
    result = demo.casework.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
