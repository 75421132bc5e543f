"""The case page's timeline: audit entries of the case (and of cases merged into it),
described from codes in the reader's language, with reasons decrypted for readers only.

Most tests write ``AuditEntry`` rows directly (their hashes do not matter for showing
them); the last drives real domain functions and finds their entries through the audit
log's subscriber.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from casework.case_view import CaseView, ensure_reader_tag
from casework.cases import assign, reply
from casework.models import AuditEntry, Case, CaseEnvelope, User
from casework.readers import reader_keys, report_content_key
from casework.reasons import seal_reason
from casework.timeline import MAX_ITEMS, OLDER_OMITTED, TimelineItem, case_timeline
from tests.intake.conftest import submit

from .conftest import services
from .handling_support import client as _reviewer
from .linked import Linked

XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'
START = dt.datetime(2026, 3, 1, 9, 0)
ITEM = re.compile(r'<li data-action="([a-z_]+)">(.*?)</li>', re.S)


# --- helpers -----------------------------------------------------------------------------


def _new_case(linked: Linked, category: str = "ethics", what: str = "Nepotism") -> str:
    """Submit a report through intake, import it; the new case's id."""
    with services(linked.casework).db.session() as db:
        before = set(db.scalars(select(Case.id)))
    submit(linked.intake.test_client(), category=category, what=what)
    linked.sync()
    with services(linked.casework).db.session() as db:
        (case_id,) = set(db.scalars(select(Case.id))) - before
    return case_id


def _user_id(linked: Linked, name: str) -> str:
    with services(linked.casework).db.session() as db:
        return db.scalars(select(User.id).where(User.username == name)).one()


def _add(linked: Linked, case_id: str, action: str, actor: str | None = None,
         details: dict[str, Any] | None = None, raw: str | None = None,
         minutes: int | None = None) -> int:
    """Append an entry (after any the audit log wrote itself); its seq."""
    actor_id = _user_id(linked, actor) if actor else None
    with services(linked.casework).db.session() as db:
        seq = (db.scalar(select(func.max(AuditEntry.seq))) or 0) + 1
        db.add(AuditEntry(
            seq=seq, at=START + dt.timedelta(minutes=seq if minutes is None else minutes),
            actor_id=actor_id, action=action,
            case_id=case_id, prev_hash=b"\0" * 32, hash=seq.to_bytes(32, "big"),
            details=raw if raw is not None else json.dumps(
                details or {}, sort_keys=True, separators=(",", ":"))))
    return seq


def _timeline(linked: Linked, name: str, case_id: str, lang: str = "en") -> list[TimelineItem]:
    """The builder's result for ``name`` (the access check passed, as on the page)."""
    app = linked.casework
    with app.test_request_context(), force_locale(lang), services(app).db.session() as db:
        user = db.scalars(select(User).where(User.username == name)).one()
        case = db.get(Case, case_id)
        assert case is not None
        return case_timeline(services(app), db, user, linked.staff[name].key,
                             CaseView(case=case, report={}))


def _page_items(linked: Linked, name: str, case_id: str,
                lang: str = "en") -> list[tuple[str, str]]:
    """(action, text) of each timeline line on the rendered page (200 asserted)."""
    client = _reviewer(linked, name)
    client.set_cookie("lang", lang)
    response = client.get(f"/cases/{case_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    section = page.split('id="timeline"', 1)
    assert len(section) == 2, "no timeline on the page"
    return [(action, html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", body))).strip())
            for action, body in ITEM.findall(section[1].split("</ol>", 1)[0])]


def _seal(linked: Linked, case_id: str, author: str, text: str,
          only: str | None = None) -> str:
    """Seal a real reason, as the workflow does: to the verified readers (or ``only``)."""
    app, key = linked.casework, linked.staff[author].key
    author_id = _user_id(linked, author)
    with app.app_context(), services(app).db.session() as db:
        case = db.get(Case, case_id)
        assert case is not None and key is not None
        content_key = report_content_key(case, key)
        ensure_reader_tag(services(app), db, case, content_key)
        readers = reader_keys(db, services(app).config, case, content_key)
        if only is not None:
            other = linked.staff[only].key
            assert other is not None
            readers = [other.public_key]
        envelope_id = seal_reason(services(app), db, case, author_id=author_id,
                                  readers=readers, text=text)
    assert envelope_id is not None
    return envelope_id


def _mine(items: list[TimelineItem], seqs: int) -> list[TimelineItem]:
    """The last ``seqs`` items (those a test added after the audit log's own)."""
    return items[-seqs:]


def _stage(reason_envelope_id: str | None = None, **changes: Any) -> dict[str, Any]:
    return {"from_stage": "acknowledged", "to_stage": "assessed",
            "reason_code": "within-scope", "outcome": None, "reopened": False,
            "reason_envelope_id": reason_envelope_id, "status_envelope_id": None, **changes}


# --- what is shown, and how ---------------------------------------------------------------


def _every_action(linked: Linked, case_id: str, other_id: str) -> None:
    anna = _user_id(linked, "anna")
    _add(linked, case_id, "case_opened", None, {"unit_id": "etik"})
    _add(linked, case_id, "acknowledged_automatically", None, {"envelope_id": "a" * 32})
    _add(linked, case_id, "case_triaged", "eva", {"changed": ["category", "priority"]})
    _add(linked, case_id, "cases_linked", "eva",
         {"linked_case_id": other_id, "kind": "related"})
    _add(linked, case_id, "cases_linked", "eva",
         {"linked_case_id": other_id, "kind": "duplicate"})
    _add(linked, case_id, "cases_unlinked", "eva", {"linked_case_id": other_id})
    _add(linked, case_id, "case_merged", "eva", {"into_case_id": other_id})
    _add(linked, case_id, "stage_changed", "eva", _stage())
    _add(linked, case_id, "stage_changed", "eva",
         _stage(from_stage="investigating", to_stage="concluded", outcome="substantiated",
                reason_code="evidence-sufficient"))
    _add(linked, case_id, "stage_changed", "eva",
         _stage(from_stage="concluded", to_stage="assessed", reopened=True,
                reason_code="new-information"))
    _add(linked, case_id, "feedback_recorded", "eva", {"envelope_id": "b" * 32})
    _add(linked, case_id, "case_assigned", "eva", {"user_id": anna, "envelopes_changed": 3})
    _add(linked, case_id, "case_unassigned", "eva", {"user_id": anna})
    _add(linked, case_id, "case_escalated", "eva",
         {"kind": "kof", "destination": "kof", "reason_code": "seriousness",
          "readers_added": 2, "reason_envelope_id": None})
    _add(linked, case_id, "case_referred", "eva",
         {"authority": "jo", "reason_code": "criminal-suspicion",
          "reason_envelope_id": None, "status_envelope_id": None})
    _add(linked, case_id, "conflict_declared", "erik", {})
    _add(linked, case_id, "case_rekeyed", "eva", {"envelopes": 5, "removed": 1})
    _add(linked, case_id, "reply_sent", "eva", {"envelope_id": "c" * 32})


def test_every_action_is_described_in_english_in_order_with_its_actor(linked: Linked) -> None:
    case_id = _new_case(linked)
    other_id = _new_case(linked, what="The same nepotism")
    with services(linked.casework).db.session() as db:
        other = db.get(Case, other_id)
        assert other is not None
        other_reference = other.reference
    _every_action(linked, case_id, other_id)
    items = _mine(_timeline(linked, "eva", case_id), 18)
    lines = [(i.action, i.actor, i.description) for i in items]
    assert lines == [
        ("case_opened", "Lykta (automatic)", "Case opened from a report to Ethics committee"),
        ("acknowledged_automatically", "Lykta (automatic)",
         "Receipt acknowledged to the tipster automatically"),
        ("case_triaged", "Eva", "Triaged: category, priority set"),
        ("cases_linked", "Eva", f"Linked to case {other_reference} (related)"),
        ("cases_linked", "Eva", f"Marked as a duplicate of case {other_reference}"),
        ("cases_unlinked", "Eva", f"Link to case {other_reference} removed"),
        ("case_merged", "Eva", f"Merged into case {other_reference}"),
        ("stage_changed", "Eva", "Stage changed from acknowledged to assessed (reason: "
                                 "within the channel's scope)"),
        ("stage_changed", "Eva", "Stage changed from investigating to concluded, outcome: "
                                 "substantiated (reason: evidence sufficient)"),
        ("stage_changed", "Eva", "Reopened: from concluded to assessed (reason: new "
                                 "information)"),
        ("feedback_recorded", "Eva", "A reply was recorded as the feedback to the tipster"),
        ("case_assigned", "Eva", "Assigned to Anna"),
        ("case_unassigned", "Eva", "Anna was taken off the case"),
        ("case_escalated", "Eva", "Escalated to Commission for Public Administration (KOF) "
                                  "(readers added: 2) (reason: seriousness)"),
        ("case_referred", "Eva", "Referred to an external authority: Parliamentary "
                                 "Ombudsmen (JO) (reason: suspected crime)"),
        ("conflict_declared", "Erik", "Declared a conflict of interest; the case awaits "
                                      "rekeying"),
        ("case_rekeyed", "Eva", "Rekeyed after a declared conflict (items re-encrypted: 5; "
                                "people removed: 1)"),
        ("reply_sent", "Eva", "Replied to the tipster"),
    ]
    times = [i.when for i in items if i.when is not None]
    assert len(times) == len(items) and times == sorted(times)  # oldest first
    assert all(i.reason is None and not i.reason_unreadable for i in items)


def test_every_action_is_described_in_swedish(linked: Linked) -> None:
    case_id = _new_case(linked)
    other_id = _new_case(linked, what="The same nepotism")
    _every_action(linked, case_id, other_id)
    english = _mine(_timeline(linked, "eva", case_id, "en"), 18)
    swedish = _mine(_timeline(linked, "eva", case_id, "sv"), 18)
    assert [i.action for i in swedish] == [i.action for i in english]
    by_action = {(i.action, n): i.description for n, i in enumerate(swedish)}
    # The labels the workflow shares with the rest of the case page, in Swedish.
    assert "Etikkommittén" in by_action[("case_opened", 0)]
    assert "bekräftad" in by_action[("stage_changed", 7)]
    assert "bedömd" in by_action[("stage_changed", 7)]
    assert "befogad" in by_action[("stage_changed", 8)]
    assert "avslutad" in by_action[("stage_changed", 9)]
    assert "Kommissionen för offentlig förvaltning (KOF)" in by_action[("case_escalated", 13)]
    assert "Justitieombudsmannen (JO)" in by_action[("case_referred", 14)]
    assert all(i.description for i in swedish)


def test_the_page_lists_the_timeline_with_dates_and_actors(linked: Linked) -> None:
    case_id = _new_case(linked)
    _add(linked, case_id, "stage_changed", "eva", _stage(), minutes=10)
    _add(linked, case_id, "case_assigned", "erik",
         {"user_id": _user_id(linked, "eva"), "envelopes_changed": 2}, minutes=20)
    client = _reviewer(linked, "eva")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert '<section aria-labelledby="timeline-heading">' in page
    assert '<time datetime="2026-03-01T09:10:00Z">2026-03-01 09:10 UTC</time>' in page
    items = _page_items(linked, "eva", case_id)[-2:]
    assert items[0][0] == "stage_changed" and "Eva" in items[0][1]
    assert items[1] == ("case_assigned", "2026-03-01 09:20 UTC, Erik Assigned to Eva")
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "timeline" not in title.lower()  # the section is in the page, not its title


def test_reads_and_downloads_are_not_in_the_timeline(linked: Linked) -> None:
    case_id = _new_case(linked)
    _add(linked, case_id, "case_read", "eva", {})
    _add(linked, case_id, "file_downloaded", "eva", {"envelope_id": "d" * 32})
    _add(linked, case_id, "note_added", "eva", {"envelope_id": "e" * 32})
    _add(linked, case_id, "reply_sent", "eva", {"envelope_id": "f" * 32})
    actions = [a for a, _text in _page_items(linked, "eva", case_id)]
    assert "reply_sent" in actions
    assert not {"case_read", "file_downloaded", "note_added"} & set(actions)


def test_entries_of_a_merged_duplicate_are_in_its_primary_case(linked: Linked) -> None:
    primary = _new_case(linked)
    duplicate = _new_case(linked, what="The same again")
    unrelated = _new_case(linked, what="Something else")
    _add(linked, duplicate, "stage_changed", "erik", _stage())
    _add(linked, duplicate, "case_merged", "erik", {"into_case_id": primary})
    _add(linked, unrelated, "reply_sent", "erik", {"envelope_id": "a" * 32})
    _add(linked, primary, "reply_sent", "eva", {"envelope_id": "b" * 32})
    with services(linked.casework).db.session() as db:
        merged = db.get(Case, duplicate)
        assert merged is not None
        merged.merged_into_id, reference = primary, merged.reference
    items = _mine(_timeline(linked, "eva", primary), 3)
    assert [(i.action, i.case_reference) for i in items] == [
        ("stage_changed", reference), ("case_merged", reference), ("reply_sent", None)]
    assert not any(i.actor == "Erik" and i.action == "reply_sent"
                   for i in _timeline(linked, "eva", primary))  # not the unrelated case's
    texts = [t for _a, t in _page_items(linked, "eva", primary)]
    assert any(f"in merged case {reference}" in t for t in texts)


def test_a_long_history_shows_the_newest_entries_and_says_so(linked: Linked) -> None:
    case_id = _new_case(linked)
    with services(linked.casework).db.session() as db:
        first = (db.scalar(select(func.max(AuditEntry.seq))) or 0) + 1
        db.add_all(AuditEntry(seq=seq, at=START, action="reply_sent", case_id=case_id,
                              details="{}", prev_hash=b"\0" * 32, hash=b"\0" * 32)
                   for seq in range(first, first + MAX_ITEMS + 5))
    items = _timeline(linked, "eva", case_id)
    assert len(items) == MAX_ITEMS + 1
    assert items[0].action == OLDER_OMITTED and items[0].when is None
    assert all(i.action == "reply_sent" for i in items[1:])
    page = _reviewer(linked, "eva").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Older entries are not shown here" in page


# --- reasons ----------------------------------------------------------------------------


def test_a_reader_sees_the_reason_escaped_and_a_non_recipient_the_code_only(
        linked: Linked) -> None:
    case_id = _new_case(linked)
    reason = _seal(linked, case_id, "eva", f"The nephew was hired twice {XSS}", only="eva")
    _add(linked, case_id, "stage_changed", "eva", _stage(reason))
    (mine,) = _mine(_timeline(linked, "eva", case_id), 1)
    assert mine.reason == f"The nephew was hired twice {XSS}" and not mine.reason_unreadable
    page = _reviewer(linked, "eva").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "The nephew was hired twice &lt;script&gt;" in page
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    # Erik reads the case, but the reason was not sealed to him: the code-based line only.
    (his,) = _mine(_timeline(linked, "erik", case_id), 1)
    assert his.reason is None and not his.reason_unreadable
    assert his.description == mine.description
    page = _reviewer(linked, "erik").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "nephew was hired twice" not in page and "not readable" not in page


def test_a_reason_sealed_to_the_readers_is_shown_to_each(linked: Linked) -> None:
    case_id = _new_case(linked)
    reason = _seal(linked, case_id, "erik", "Within scope: a public employer.")
    _add(linked, case_id, "stage_changed", "erik", _stage(reason))
    for name in ("eva", "erik"):
        (item,) = _mine(_timeline(linked, name, case_id), 1)
        assert item.reason == "Within scope: a public employer."


def test_a_tampered_reason_body_is_not_readable_and_the_page_renders(linked: Linked) -> None:
    case_id = _new_case(linked)
    reason = _seal(linked, case_id, "eva", "Secret reasoning")
    _add(linked, case_id, "stage_changed", "eva", _stage(reason))
    store = services(linked.casework).store
    path = store.root / reason
    body = bytearray(path.read_bytes())
    body[len(body) // 2] ^= 0x01
    path.write_bytes(bytes(body))
    (item,) = _mine(_timeline(linked, "eva", case_id), 1)
    assert item.reason is None and item.reason_unreadable
    items = _page_items(linked, "eva", case_id)
    assert "The reason given is not readable." in items[-1][1]
    assert "Secret reasoning" not in items[-1][1]
    path.unlink()  # the body gone altogether: the same, not an error page
    (item,) = _mine(_timeline(linked, "eva", case_id), 1)
    assert item.reason_unreadable
    assert "not readable" in _page_items(linked, "eva", case_id)[-1][1]


@pytest.mark.parametrize("pointer", ["note", "other-author", "missing", "other-case",
                                     "not-an-id"])
def test_a_reason_pointer_to_anything_but_its_own_reason_is_not_readable(
        linked: Linked, pointer: str) -> None:
    """A log row cannot make the timeline show a note, another person's reason or another
    case's reason under this entry."""
    case_id = _new_case(linked)
    other_case = _new_case(linked, what="Elsewhere")
    if pointer == "other-author":
        envelope_id = _seal(linked, case_id, "erik", "Erik's reason")
    elif pointer == "other-case":
        envelope_id = _seal(linked, other_case, "eva", "Other case's reason")
    elif pointer == "note":
        envelope_id = _note(linked, case_id)
    else:
        envelope_id = "0" * 32 if pointer == "missing" else "../../etc/passwd"
    _add(linked, case_id, "stage_changed", "eva", _stage(envelope_id))
    (item,) = _mine(_timeline(linked, "eva", case_id), 1)
    assert item.reason is None and item.reason_unreadable
    texts = [t for _a, t in _page_items(linked, "eva", case_id)]
    assert "The reason given is not readable." in texts[-1]
    assert not any(secret in " ".join(texts) for secret in
                   ("Erik's reason", "Other case's reason", "A note, not a reason"))


def _note(linked: Linked, case_id: str) -> str:
    """A note, relabelled as a reason in its row (its sealed routing still says note)."""
    from casework.cases import add_note
    app = linked.casework
    with app.app_context(), services(app).db.session() as db:
        eva = db.scalars(select(User).where(User.username == "eva")).one()
        envelope_id = add_note(services(app), db, eva, linked.staff["eva"].key, case_id,
                               "A note, not a reason")
    with services(app).db.session() as db:
        envelope = db.get(CaseEnvelope, envelope_id)
        assert envelope is not None
        envelope.kind = "reason"
    return envelope_id


# --- entries the timeline cannot read ---------------------------------------------------


@pytest.mark.parametrize("raw", ["{not json", '["a list"]', '"text"', "null",
                                 '{"from_stage": 5, "to_stage": "assessed"}',
                                 '{"from_stage": "acknowledged"}',
                                 json.dumps(_stage(reason_code="<b>x</b>")),
                                 json.dumps(_stage(reopened="yes"))])
def test_malformed_details_give_a_generic_line_and_the_page_renders(
        linked: Linked, raw: str) -> None:
    case_id = _new_case(linked)
    _add(linked, case_id, "stage_changed", "eva", raw=raw)
    (item,) = _mine(_timeline(linked, "eva", case_id), 1)
    assert item.description == "An action was recorded whose details cannot be shown"
    assert item.actor == "Eva"
    assert _page_items(linked, "eva", case_id)[-1][0] == "stage_changed"


@pytest.mark.parametrize(("action", "details"), [
    ("case_assigned", {"user_id": 7}),
    ("case_escalated", {"kind": "kof", "destination": "kof", "readers_added": -1,
                        "reason_code": "seriousness"}),
    ("case_rekeyed", {"envelopes": True, "removed": 0}),
    ("case_triaged", {"changed": "category"}),
    ("cases_linked", {"linked_case_id": "x" * 200, "kind": "related"}),
    ("case_referred", {"authority": "<script>", "reason_code": "other"}),
])
def test_wrong_types_in_details_give_a_generic_line(linked: Linked, action: str,
                                                   details: dict[str, Any]) -> None:
    case_id = _new_case(linked)
    _add(linked, case_id, action, "eva", details)
    (item,) = _mine(_timeline(linked, "eva", case_id), 1)
    assert item.description == "An action was recorded whose details cannot be shown"


def test_unknown_people_and_cases_are_named_generically(linked: Linked) -> None:
    case_id = _new_case(linked)
    _add(linked, case_id, "case_assigned", None, {"user_id": "f" * 32, "envelopes_changed": 1})
    _add(linked, case_id, "cases_linked", "eva", {"linked_case_id": "e" * 32, "kind": "related"})
    assigned, linked_item = _mine(_timeline(linked, "eva", case_id), 2)
    assert assigned.description == "Assigned to an unknown person"
    assert linked_item.description == "Linked to case another case (related)"


# --- end to end: the audit log's own entries ----------------------------------------------


def test_assigning_and_replying_appear_through_the_audit_log(linked: Linked) -> None:
    case_id = _new_case(linked, category="corruption", what="Kickbacks on roads")
    app = linked.casework
    anna_id = _user_id(linked, "anna")
    with app.test_request_context(), services(app).unit() as uow:
        lena = uow.session.scalars(select(User).where(User.username == "lena")).one()
        assign(services(app), uow.session, lena, linked.staff["lena"].key, case_id, anna_id)
    with app.test_request_context(), services(app).unit() as uow:
        anna = uow.session.scalars(select(User).where(User.username == "anna")).one()
        reply(services(app), uow.session, anna, linked.staff["anna"].key, case_id,
              "Which roads?")
    items = _page_items(linked, "anna", case_id)
    actions = [a for a, _t in items]
    assert actions.index("case_assigned") < actions.index("reply_sent")
    assert any(a == "case_assigned" and "Lena" in t and "Assigned to Anna" in t
               for a, t in items)
    assert any(a == "reply_sent" and "Anna" in t and "Which roads?" not in t
               for a, t in items)
    assert "case_read" not in actions


def test_a_declared_conflict_shows_its_reason_to_the_others_after_the_rekey(
        linked: Linked) -> None:
    """The conflict's reason is named by its row (the event names none); it is sealed to
    the other readers and survives the rekey that opening the case performs."""
    from casework.conflicts import declare_conflict
    case_id = _new_case(linked)
    earlier = _seal(linked, case_id, "eva", "Assessed: within scope.")  # erik holds it too
    _add(linked, case_id, "stage_changed", "eva", _stage(earlier))
    app = linked.casework
    with app.test_request_context(), services(app).unit() as uow:
        erik = uow.session.scalars(select(User).where(User.username == "erik")).one()
        declare_conflict(services(app), uow.session, erik, linked.staff["erik"].key, case_id,
                         f"My brother-in-law is named {XSS}")
    _page_items(linked, "eva", case_id)  # eva's visit rekeys the case (logged at its end)
    items = _page_items(linked, "eva", case_id)
    conflict = [t for a, t in items if a == "conflict_declared"]
    assert len(conflict) == 1 and "Erik" in conflict[0]
    assert f"My brother-in-law is named {XSS}" in conflict[0]  # unescaped from the page
    actions = [a for a, _t in items]
    assert actions.index("conflict_declared") < actions.index("case_rekeyed")
    # The earlier reason, which erik could open, was rekeyed: it is read from its new body.
    assert any(a == "stage_changed" and "Assessed: within scope." in t for a, t in items)
    with services(app).db.session() as db:
        rekeyed = db.get(CaseEnvelope, earlier)
        assert rekeyed is not None and rekeyed.generation == 1
    page = _reviewer(linked, "eva").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert _reviewer(linked, "erik").get(f"/cases/{case_id}").status_code == 403



def test_a_stage_change_shows_its_reason_code_and_sealed_text(linked: Linked) -> None:
    """casework.workflow seals the reason and logs the change; the timeline joins them."""
    from casework.workflow import change_stage
    case_id = _new_case(linked)  # acknowledged automatically at import
    app = linked.casework
    with app.test_request_context(), services(app).unit() as uow:
        eva = uow.session.scalars(select(User).where(User.username == "eva")).one()
        change_stage(services(app), uow.session, eva, linked.staff["eva"].key, case_id,
                     "assessed", "within-scope", f"A public employer {XSS}")
    items = _page_items(linked, "erik", case_id)
    (line,) = [t for a, t in items if a == "stage_changed"]
    assert "Eva" in line and "Stage changed from acknowledged to assessed" in line
    assert "(reason: within the channel's scope)" in line
    assert f"A public employer {XSS}" in line
    (swedish,) = [t for a, t in _page_items(linked, "erik", case_id, "sv")
                  if a == "stage_changed"]
    assert "bekräftad" in swedish and "bedömd" in swedish
    page = _reviewer(linked, "erik").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page
