"""Handling a case in a real browser: an etik unit lead assigns it, escalates it to the
anti-corruption team, refers it to JO, and hands a reviewer's cases over to another.

Casework and intake (the ``linked`` fixture, with an etik unit lead added before the
report) are served on free local ports. axe-core (WCAG 2.1 A/AA) checks the case page
with the handling section (before and after escalation and referral) and the handover
page, in Swedish and English: 0 violations. No request leaves the two apps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from casework.models import Assignment, Case, Escalation, User
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

REPORT = "The head of unit hired her nephew (HANDLING-JOURNEY)."


@pytest.fixture
def sites(linked: Linked, enrol: Callable[..., Staff]) -> Iterator[Sites]:  # noqa: F811
    add_etik_lead(linked, enrol)
    submit(linked.intake.test_client(), category="ethics", what=REPORT)
    linked.sync()
    with serving_linked(linked) as served:
        yield served


def _submit(page: Page, button: str) -> None:
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    assert answer.value.status in (200, 302), button


def test_a_lead_assigns_escalates_refers_and_hands_over(
        sites: Sites, signed_in: Callable[[str], Page], axe_source: str) -> None:
    apps = sites.linked
    with services(apps.casework).db.session() as db:
        case = db.scalars(select(Case)).one()
        case_id, reference = case.id, case.reference
    case_url = f"{sites.casework_url}/cases/{case_id}"

    lars = signed_in("lars")
    lars.goto(case_url)
    expect(lars.locator("#report-what")).to_contain_text("HANDLING-JOURNEY")
    expect(lars.locator("#handling")).to_contain_text("No one is assigned this case.")
    axe_clean(lars, sites, axe_source, "the case page with the handling section")

    # Assign the case to Eva.
    lars.get_by_label("Give this case to").select_option(label="Eva")
    _submit(lars, "Assign")
    expect(lars.locator("#assignees")).to_contain_text("Eva")

    # Escalate it to the anti-corruption team: Anna (its reviewer) reads it then.
    lars.get_by_label("Escalate to").select_option(label="Anti-corruption team")
    lars.locator("#escalate-form").get_by_label("Reason").select_option(
        label="suspected crime")
    lars.locator("#escalate-form").get_by_label("Explanation (optional)").fill(
        "Bribery may be involved.")
    _submit(lars, "Escalate the case")
    expect(lars.locator(".notice")).to_contain_text("The case was escalated")
    expect(lars.locator("#escalations")).to_contain_text("Anti-corruption team")
    anna = signed_in("anna")
    anna.goto(case_url)
    expect(anna.locator("#report-what")).to_contain_text("HANDLING-JOURNEY")
    expect(anna.locator("#handling")).not_to_contain_text("Escalate the case")

    # Refer it to JO: recorded, and the tipster is told at the next sync.
    lars.get_by_label("Refer to").select_option(label="Parliamentary Ombudsmen (JO)")
    lars.locator("#refer-form").get_by_label("Reason").select_option(label="other reason")
    _submit(lars, "Record the referral")
    expect(lars.locator(".notice")).to_contain_text("The referral was recorded")
    expect(lars.locator("#escalations")).to_contain_text("Parliamentary Ombudsmen (JO)")
    axe_clean(lars, sites, axe_source, "the case page after escalation and referral")
    with services(apps.casework).db.session() as db:
        assert sorted((e.kind, e.destination) for e in db.scalars(select(Escalation))) == [
            ("referral", "jo"), ("unit", "akt")]

    # Hand Eva's cases over to Erik, from the start page's link.
    lars.goto(sites.casework_url + "/")
    lars.get_by_role("link", name="Hand over a person's cases to someone else").click()
    expect(lars.locator("h1")).to_have_text("Hand over cases")
    axe_clean(lars, sites, axe_source, "the handover page")
    lars.get_by_label("Hand over the cases of").select_option(label="Eva")
    lars.locator("#handover-form").get_by_label("To", exact=True).select_option(label="Erik")
    _submit(lars, "Hand over")
    expect(lars.locator("#handed-over")).to_contain_text(reference)
    with services(apps.casework).db.session() as db:
        holders = set(db.scalars(select(User.username).join(
            Assignment, Assignment.user_id == User.id)))
    assert holders == {"erik"}
    assert sites.foreign_requests() == []
