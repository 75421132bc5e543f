"""The inbox's filters in a real browser: the form's labelled controls narrow the list,
the page links keep every filter, an empty result says what to do, and a unit lead sees
the conflict flag.

Casework and intake (the ``linked`` fixture, with an etik unit lead added before the
reports) are served on free local ports; 60 further cases of etik are added as rows, so
that the filtered list has a second page. axe-core (WCAG 2.1 A/AA) checks the inbox
unfiltered, filtered, on its second page, empty, and the lead's inbox with the flag, in
Swedish and English: 0 violations.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import select

from casework.bridge.imports import new_reference
from casework.models import Assignment, Case, CaseLabel, Conflict, User
from casework.models.cases import CaseReader
from tests.casework.conflict_support import add_etik_lead
from tests.casework.conftest import (  # noqa: F401  (fixtures)
    Staff,
    casework,
    casework_config,
    enrol,
    make_casework,
    services,
)
from tests.casework.linked import Linked, linked  # noqa: F401  (fixture)
from tests.intake.conftest import submit

from .casework_sites import Sites, axe_clean, serving_linked

TODAY = dt.datetime.now(dt.UTC).date()


def _rows(apps: Linked) -> None:
    """60 urgent, labelled, investigating cases for eva and lars; one with a conflict."""
    with services(apps.casework).db.session() as db:
        people = {name: ident for name, ident in db.execute(select(User.username, User.id))}
        for index in range(60):
            case = Case(reference=new_reference(), unit_id="etik", category="ethics",
                        stage="investigating", priority="urgent",
                        received_on=TODAY - dt.timedelta(days=index),
                        acknowledged_on=TODAY - dt.timedelta(days=index),
                        tipster_public_key=bytes(32), intake_receipt_id=secrets.token_hex(16))
            db.add(case)
            db.flush()
            db.add_all([CaseReader(case_id=case.id, user_id=people[name])
                        for name in ("eva", "lars")])
            db.add(CaseLabel(case_id=case.id, label="roads <b>2026</b>"))
            if index == 0:
                db.add(Assignment(case_id=case.id, user_id=people["eva"],
                                  assigned_by=people["lars"]))
                db.add(Conflict(case_id=case.id, user_id=people["erik"]))


@pytest.fixture
def sites(linked: Linked, enrol: Callable[..., Staff]) -> Iterator[Sites]:  # noqa: F811
    add_etik_lead(linked, enrol)
    submit(linked.intake.test_client(), category="ethics", what="A first report")
    submit(linked.intake.test_client(), category="bias", what="A second report")
    linked.sync()
    _rows(linked)
    with serving_linked(linked) as served:
        yield served


@pytest.fixture
def viewport() -> ViewportSize:
    """Wider than the other journeys' pages (the filter form)."""
    return {"width": 1200, "height": 900}


def test_filters_narrow_the_list_keep_it_across_pages_and_say_what_to_do(
        sites: Sites, signed_in: Callable[[str], Page], axe_source: str) -> None:
    eva = signed_in("eva")
    eva.goto(sites.casework_url + "/cases/")
    rows = eva.locator("#inbox tbody tr")
    expect(rows).to_have_count(50)
    axe_clean(eva, sites, axe_source, "the inbox")

    # The form: every control has its label.
    eva.get_by_label("Stage", exact=True).select_option("investigating")
    eva.get_by_label("Priority", exact=True).select_option("urgent")
    eva.get_by_label("Label", exact=True).fill("roads <b>2026</b>")
    eva.get_by_label("Order", exact=True).select_option("oldest")
    for control in ("Assigned to", "Deadline", "Whose", "Unit"):
        expect(eva.get_by_label(control, exact=True)).to_be_visible()
    eva.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(50)
    assert "stage=investigating" in eva.url and "priority=urgent" in eva.url
    expect(eva.locator("#inbox tbody .tag").first).to_have_text("roads <b>2026</b>")
    axe_clean(eva, sites, axe_source, "the filtered inbox")

    # The next page keeps every filter: the 10 oldest of the 60.
    eva.get_by_role("link", name="Next page").click()
    for part in ("stage=investigating", "priority=urgent", "sort=oldest", "label=roads"):
        assert part in eva.url, part
    expect(rows).to_have_count(10)
    expect(eva.get_by_label("Stage", exact=True)).to_have_value("investigating")
    axe_clean(eva, sites, axe_source, "the filtered inbox, second page")

    # Her personal inbox: the one case assigned to her.
    eva.goto(sites.casework_url + "/cases/?mine=1")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Eva")

    # Nothing matches: the page says what to do, and the way back.
    eva.goto(sites.casework_url + "/cases/?stage=concluded&priority=low")
    expect(eva.locator("#inbox-empty")).to_contain_text("Widen them")
    axe_clean(eva, sites, axe_source, "the inbox with no match")
    eva.locator("#inbox-empty").get_by_role("link", name="Clear the filters").click()
    expect(rows).to_have_count(50)

    # A bad value is a clear 400, not a guess.
    answer = eva.goto(sites.casework_url + "/cases/?stage=everything")
    assert answer is not None and answer.status == 400
    assert sites.foreign_requests() == []


def test_the_lead_sees_the_conflict_flag(sites: Sites, signed_in: Callable[[str], Page],
                                         axe_source: str) -> None:
    lars = signed_in("lars")
    lars.goto(sites.casework_url + "/cases/?assignee=none&sort=newest")
    expect(lars.locator("#inbox")).not_to_contain_text("Needs reassignment")
    lars.goto(sites.casework_url + "/cases/")
    expect(lars.locator("#inbox").get_by_text("Needs reassignment")).to_have_count(1)
    axe_clean(lars, sites, axe_source, "the lead's inbox with the flag")
    eva = signed_in("eva")
    eva.goto(sites.casework_url + "/cases/")
    expect(eva.locator("#inbox")).not_to_contain_text("Needs reassignment")
