"""Rekeying a case after a declared conflict: true revocation, nothing lost, nothing half done.

Real keys, real envelopes on disk, real SQLite: no crypto is mocked. Eva and Erik review
for etik, Lars leads it; Erik declares a conflict and the others rekey.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import Result
from sqlalchemy import select

import crypto
from casework.conflicts import Rekeyed, RekeyRaced, rekey_case
from casework.errors import CaseworkError
from casework.models import CaseEnvelope, User
from tests.intake.conftest import sign_in

from .conflict_support import (
    add_etik_lead,
    body,
    client,
    conflicts,
    declare,
    envelopes,
    key_of,
    opens,
    readers,
    rekey_post,
    reported_case,
    stored_files,
    user_id,
)
from .conftest import Staff, csrf, services
from .linked import Linked


@pytest.fixture
def lead(linked: Linked, enrol: Callable[..., Staff]) -> Linked:
    add_etik_lead(linked, enrol)
    return linked


def _rekey_as(linked: Linked, name: str, case_id: str) -> Rekeyed | None:
    casework = services(linked.casework)
    with casework.unit() as work:
        person = work.session.scalars(select(User).where(User.username == name)).one()
        return rekey_case(casework, work.session, person, key_of(linked, name), case_id)


def test_after_rekey_the_declarer_opens_nothing_and_every_other_reader_what_they_did(
        lead: Linked) -> None:
    """THE test of the issue."""
    linked = lead
    case = reported_case(linked)
    before = envelopes(linked, case.case_id)
    erik, tipster = key_of(linked, "erik"), case.tipster_key(linked)
    others = {name: key_of(linked, name) for name in ("eva", "lars")}
    others["escrow"] = linked.escrow
    opened_before = {name: {e.id for e in before if opens(linked, k, e)}
                     for name, k in others.items()}
    assert opened_before["eva"] == opened_before["lars"] == {e.id for e in before}
    assert all(opens(linked, erik, e) for e in before)
    # Erik keeps every content key he can open before he declares.
    kept = {e.id: crypto.open_content_key(e.header, erik) for e in before}
    for_tipster = [e for e in before if e.origin == "casework" and e.kind == "message"]
    assert len(for_tipster) == 2  # the acknowledgement and Eva's reply
    assert all(opens(linked, tipster, e) for e in for_tipster)

    assert declare(linked, "erik", case.case_id, "My nephew.") == 302
    # Lars opens the case: the rekey happens on the way.
    assert client(linked, "lars").get(f"/cases/{case.case_id}").status_code == 200

    after = envelopes(linked, case.case_id)
    assert {e.id for e in before} <= {e.id for e in after}
    for envelope in after:
        with pytest.raises(crypto.UnknownRecipient):
            crypto.open_content_key(envelope.header, erik)
        if envelope.id in kept:
            assert envelope.generation == 1 and envelope.body_name != envelope.id
            with pytest.raises(crypto.DecryptionError):
                crypto.decrypt_body(io.BytesIO(body(linked, envelope)), io.BytesIO(),
                                    kept[envelope.id])
    for name, key in others.items():
        now_open = {e.id for e in after if opens(linked, key, e)}
        assert opened_before[name] <= now_open, name
    assert all(opens(linked, tipster, e) for e in after if e.id in {f.id for f in for_tipster})
    # No one gained an entry: the tipster key stays out of what was never theirs.
    assert not any(opens(linked, tipster, e) for e in after
                   if e.id not in {f.id for f in for_tipster})
    [conflict] = conflicts(linked, case.case_id)
    assert conflict.rekeyed_at is not None and conflict.rekeyed_by == user_id(linked, "lars")


def test_the_case_leaves_the_declarers_inbox_when_it_is_rekeyed(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    assert readers(linked, case.case_id) == {"eva", "erik", "lars"}
    assert declare(linked, "erik", case.case_id) == 302
    erik = client(linked, "erik")
    assert erik.get(f"/cases/{case.case_id}").status_code == 403  # refused at once
    assert _rekey_as(linked, "eva", case.case_id) == Rekeyed(envelopes=4, removed=1,
                                                             dropped=0)
    assert readers(linked, case.case_id) == {"eva", "lars"}
    assert "LY-" not in erik.get("/cases/").get_data(as_text=True)
    assert _rekey_as(linked, "eva", case.case_id) is None  # nothing left to do


def test_a_reply_sealed_after_the_declaration_reaches_the_tipster_rekeyed(
        lead: Linked) -> None:
    """Until the rekey, new items are still sealed to the declarer (the report header
    lists them); the rekey covers them, and an undelivered reply is pushed as rekeyed."""
    linked = lead
    case = reported_case(linked, follow_up=False)
    assert declare(linked, "erik", case.case_id) == 302
    with services(linked.casework).unit() as work:  # a reply sealed before anyone rekeys
        from casework.cases import reply
        eva = work.session.scalars(select(User).where(User.username == "eva")).one()
        reply_id = reply(services(linked.casework), work.session, eva, key_of(linked, "eva"),
                         case.case_id, "Thank you, we are looking into it.")
    header = next(e.header for e in envelopes(linked, case.case_id) if e.id == reply_id)
    assert key_of(linked, "erik").key_id in crypto.header_key_ids(header)
    assert rekey_post(linked, "eva", case.case_id) == 302
    rekeyed = next(e for e in envelopes(linked, case.case_id) if e.id == reply_id)
    assert rekeyed.generation == 1 and not opens(linked, key_of(linked, "erik"), rekeyed)
    linked.sync()  # pushed with the new header and body
    sign_in(case.tipster, case.receipt)
    assert "we are looking into it" in case.tipster.get("/dialogue").get_data(as_text=True)


def test_the_identity_stays_with_the_custodians(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False, identity="confidential",
                         name="Anna Andersson", contact="anna@example.org")
    [identity] = [e for e in envelopes(linked, case.case_id) if e.kind == "identity"]
    assert not opens(linked, key_of(linked, "erik"), identity)
    assert declare(linked, "erik", case.case_id) == 302
    assert rekey_post(linked, "eva", case.case_id) == 302
    [after] = [e for e in envelopes(linked, case.case_id) if e.kind == "identity"]
    assert after == identity  # untouched: the readers are not in it
    assert opens(linked, linked.escrow, after)


def test_the_old_bodies_are_deleted_after_the_commit(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked)
    before = envelopes(linked, case.case_id)
    files_before = stored_files(linked)
    assert {e.body_name for e in before} <= files_before
    assert declare(linked, "erik", case.case_id) == 302
    assert rekey_post(linked, "lars", case.case_id) == 302
    after = envelopes(linked, case.case_id)
    files_after = stored_files(linked)
    rekeyed = [e for e in after if e.generation == 1]
    assert len(rekeyed) == len(before)
    assert not {e.body_name for e in before} & files_after  # the old bodies are gone
    assert {e.body_name for e in after} <= files_after
    assert not [f for f in files_after if f.startswith("incoming/")]
    # Nothing else: one body per envelope (intake's copies are not casework's store).
    assert files_after == {e.body_name for e in after}


def test_a_tampered_body_refuses_the_rekey_and_changes_nothing(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked)
    assert declare(linked, "erik", case.case_id) == 302
    before = envelopes(linked, case.case_id)
    target = next(e for e in before if e.kind == "file")
    path = services(linked.casework).store.root / target.body_name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, mid-body
    path.write_bytes(bytes(data))
    files_before = stored_files(linked)
    assert rekey_post(linked, "eva", case.case_id) == 409
    assert envelopes(linked, case.case_id) == before
    assert stored_files(linked) == files_before  # no new body, nothing in incoming/
    assert conflicts(linked, case.case_id)[0].rekeyed_at is None
    # Opening the case still works (the file is not decrypted on the page); no rekey.
    assert client(linked, "eva").get(f"/cases/{case.case_id}").status_code == 200
    assert envelopes(linked, case.case_id) == before
    assert stored_files(linked) == files_before


def test_a_missing_body_refuses_the_rekey(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    assert declare(linked, "erik", case.case_id) == 302
    target = next(e for e in envelopes(linked, case.case_id) if e.kind == "file")
    (services(linked.casework).store.root / target.body_name).unlink()
    before, files_before = envelopes(linked, case.case_id), stored_files(linked)
    assert rekey_post(linked, "eva", case.case_id) == 409
    assert envelopes(linked, case.case_id) == before and stored_files(linked) == files_before


def test_a_crash_before_the_commit_keeps_the_old_bodies_and_removes_the_new(
        lead: Linked) -> None:
    linked = lead
    case = reported_case(linked)
    assert declare(linked, "erik", case.case_id) == 302
    before, files_before = envelopes(linked, case.case_id), stored_files(linked)
    casework = services(linked.casework)
    moved_in: set[str] = set()
    with pytest.raises(RuntimeError), casework.unit() as work:
        eva = work.session.scalars(select(User).where(User.username == "eva")).one()
        assert rekey_case(casework, work.session, eva, key_of(linked, "eva"),
                          case.case_id) is not None
        moved_in = stored_files(linked) - files_before
        assert len(moved_in) == len(before)  # the new bodies are in place...
        raise RuntimeError("the process dies before the commit")
    assert envelopes(linked, case.case_id) == before  # ...and gone with the rollback
    assert stored_files(linked) == files_before and not moved_in & stored_files(linked)
    assert all(opens(linked, key_of(linked, "eva"), e) for e in before)
    assert conflicts(linked, case.case_id)[0].rekeyed_at is None


def test_the_declarer_can_neither_rekey_nor_declare_again(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    assert declare(linked, "erik", case.case_id) == 302
    assert rekey_post(linked, "erik", case.case_id) == 403
    assert declare(linked, "erik", case.case_id) == 403
    assert len(conflicts(linked, case.case_id)) == 1
    assert conflicts(linked, case.case_id)[0].rekeyed_at is None


def test_a_reader_who_cannot_open_every_item_leaves_the_rekey_to_another(
        lead: Linked) -> None:
    linked = lead
    case = reported_case(linked)
    assert declare(linked, "erik", case.case_id) == 302
    with services(linked.casework).db.session() as db:  # a note Eva was never given
        note = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case.case_id,
                                                     CaseEnvelope.kind == "note")).one()
        note.header = crypto.remove_recipient(note.header, key_of(linked, "eva").key_id)
    before = envelopes(linked, case.case_id)
    assert rekey_post(linked, "eva", case.case_id) == 409
    assert client(linked, "eva").get(f"/cases/{case.case_id}").status_code == 200
    assert envelopes(linked, case.case_id) == before
    assert rekey_post(linked, "lars", case.case_id) == 302
    assert not any(opens(linked, key_of(linked, "erik"), e)
                   for e in envelopes(linked, case.case_id))


def test_an_unknown_key_id_is_dropped_and_a_forged_reader_list_refused(
        lead: Linked) -> None:
    linked = lead
    case = reported_case(linked)
    stranger = crypto.PrivateKey.generate()
    with services(linked.casework).db.session() as db:  # a key no one knows, in a note
        note = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case.case_id,
                                                     CaseEnvelope.kind == "note")).one()
        content_key = crypto.open_content_key(note.header, key_of(linked, "eva"))
        note.header = crypto.add_recipient(note.header, content_key, stranger.public_key)
    assert declare(linked, "erik", case.case_id) == 302
    done = _rekey_as(linked, "eva", case.case_id)
    assert done is not None and done.dropped == 1
    note_after = next(e for e in envelopes(linked, case.case_id) if e.kind == "note")
    assert not opens(linked, stranger, note_after)
    assert opens(linked, key_of(linked, "lars"), note_after)


def test_an_envelope_holding_only_an_unknown_key_id_is_rekeyed_too(lead: Linked) -> None:
    """A key id no one owns may be a declarer's previous key: the envelope holding it is
    rekeyed even though the declarer's current key is not in it."""
    linked = lead
    case = reported_case(linked, follow_up=False)
    assert declare(linked, "erik", case.case_id, "The reason.") == 302
    old_key = crypto.PrivateKey.generate()  # as if Erik's key before a rotation
    with services(linked.casework).db.session() as db:
        reason = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case.case_id,
                                                       CaseEnvelope.kind == "reason")).one()
        assert key_of(linked, "erik").key_id not in crypto.header_key_ids(reason.header)
        content_key = crypto.open_content_key(reason.header, key_of(linked, "eva"))
        reason.header = crypto.add_recipient(reason.header, content_key, old_key.public_key)
    assert rekey_post(linked, "eva", case.case_id) == 302
    after = next(e for e in envelopes(linked, case.case_id) if e.kind == "reason")
    assert after.generation == 1 and not opens(linked, old_key, after)
    assert opens(linked, key_of(linked, "lars"), after) and opens(linked, linked.escrow, after)


def test_a_key_appended_to_the_report_header_is_not_sealed_to(lead: Linked) -> None:
    """Write access to the database alone adds a key id to the report header: the tag
    under the report key does not match, so the rekey refuses instead of blessing it."""
    linked = lead
    case = reported_case(linked)
    assert declare(linked, "erik", case.case_id) == 302
    intruder = crypto.PrivateKey.generate()
    with services(linked.casework).db.session() as db:
        report = db.scalars(select(CaseEnvelope).where(CaseEnvelope.case_id == case.case_id,
                                                       CaseEnvelope.kind == "report")).one()
        content_key = crypto.open_content_key(report.header, key_of(linked, "eva"))
        report.header = crypto.add_recipient(report.header, content_key,
                                             intruder.public_key)
        db.scalars(select(User).where(User.username == "stina")).one().public_key = \
            intruder.public_key.raw
    before = envelopes(linked, case.case_id)
    assert rekey_post(linked, "eva", case.case_id) == 409
    assert envelopes(linked, case.case_id) == before


def test_two_readers_rekeying_at_once_rekey_once(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked)
    assert declare(linked, "erik", case.case_id) == 302
    barrier = threading.Barrier(2)

    def run(name: str) -> object:
        barrier.wait()
        try:
            return _rekey_as(linked, name, case.case_id)
        except CaseworkError as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, ["eva", "lars"]))
    done = [r for r in results if isinstance(r, Rekeyed)]
    assert len(done) == 1, results
    assert all(r is None or isinstance(r, RekeyRaced) for r in results if r not in done)
    after = envelopes(linked, case.case_id)
    assert {e.generation for e in after if e.kind != "reason"} == {1}
    for name in ("eva", "lars"):
        assert all(opens(linked, key_of(linked, name), e) for e in after if e.kind != "reason")
    assert not any(opens(linked, key_of(linked, "erik"), e) for e in after)
    assert not [f for f in stored_files(linked) if f.startswith("incoming/")]
    assert stored_files(linked) == {e.body_name for e in after}


def test_the_command_line_rekeys_the_pending_cases(lead: Linked,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    linked = lead
    case = reported_case(linked, follow_up=False)
    assert declare(linked, "erik", case.case_id) == 302
    runner = linked.casework.test_cli_runner()
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": "not the password")
    wrong: Result = runner.invoke(args=["cases", "rekey-pending", "--user", "lars"])
    assert wrong.exit_code != 0 and "does not open" in wrong.output
    assert conflicts(linked, case.case_id)[0].rekeyed_at is None
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": linked.staff["lars"].password)
    result: Result = runner.invoke(args=["cases", "rekey-pending", "--user", "lars"])
    assert result.exit_code == 0, result.output
    assert "Rekeyed 1 cases" in result.output and "LY-" in result.output
    assert not any(opens(linked, key_of(linked, "erik"), e)
                   for e in envelopes(linked, case.case_id))
    again = runner.invoke(args=["cases", "rekey-pending", "--user", "lars"])
    assert again.exit_code == 0 and "Rekeyed 0 cases" in again.output
    assert runner.invoke(args=["cases", "rekey-pending", "--user", "erik"]).output \
        .startswith("Rekeyed 0 cases")  # the declarer is offered nothing


def test_a_page_view_without_a_pending_conflict_rekeys_nothing(lead: Linked) -> None:
    linked = lead
    case = reported_case(linked)
    before, files_before = envelopes(linked, case.case_id), stored_files(linked)
    eva = client(linked, "eva")
    assert eva.get(f"/cases/{case.case_id}").status_code == 200
    assert rekey_post(linked, "eva", case.case_id) == 302  # "nothing to rekey"
    assert envelopes(linked, case.case_id) == before and stored_files(linked) == files_before
    assert csrf(eva, "/")  # still signed in
