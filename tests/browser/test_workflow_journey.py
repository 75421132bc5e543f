"""The workflow in a real browser: a reviewer triages, acknowledges and assesses a case; the
unit lead opens an investigation and concludes it with an outcome; the tipster reads each
step at intake. The case page offers each person only the moves they may take, and axe-core
finds no WCAG 2.1 A/AA violation on it in Swedish or English.

The case starts in "received" (set directly: as if the automatic acknowledgement had not
been sent), so that the reviewer's own acknowledgement is part of the journey.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from casework.models import Case, StageChange
from tests.casework.conftest import (  # noqa: F401  (fixtures)
    Staff,
    casework,
    casework_config,
    enrol,
    make_casework,
    services,
)
from tests.casework.linked import Linked, linked  # noqa: F401  (fixture)
from tests.casework.workflow_support import set_stage
from tests.intake.conftest import submit

from .casework_sites import Sites, scan, serving_linked
from .conftest import type_receipt
from .test_casework import tipster_tab
from .test_intake_accessibility import render

XSS = "<script>alert('xss-script')</script><img src=x onerror=\"alert('xss-img')\">"


@pytest.fixture
def sites(linked: Linked) -> Iterator[Sites]:  # noqa: F811  (fixture)
    with serving_linked(linked) as served:
        yield served


def sign_in(page: Page, sites: Sites, staff: Staff) -> None:
    page.goto(sites.casework_url + "/login")
    form = page.locator("form[action$='/login']")
    form.locator("#username").fill(staff.username)
    form.locator("#password").fill(staff.password)
    form.locator("#code").fill(staff.code(sites.linked.casework))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 302


def post(page: Page, form: str, button: str | None = None) -> int:
    """Submit the form matching ``form`` with its (named) button; the POST's status."""
    scope = page.locator(form)
    target = scope.get_by_role("button", name=button, exact=True) if button \
        else scope.locator("button[type=submit]").first
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        target.click()
    page.wait_for_load_state()
    return answer.value.status


def test_triage_transitions_and_the_tipster_told(sites: Sites, new_page: Callable[..., Page],
                                                 axe_source: str) -> None:
    apps = sites.linked
    receipt = submit(apps.intake.test_client(), category="corruption")
    apps.sync()
    with services(apps.casework).db.session() as db:
        case_id = db.scalars(select(Case.id)).one()
    set_stage(apps.casework, case_id, "received")
    case_url = f"{sites.casework_url}/cases/{case_id}"

    # The reviewer triages: priority, a label; then acknowledges and assesses.
    anna = new_page()
    sign_in(anna, sites, apps.staff["anna"])
    anna.goto(case_url)
    anna.locator("#triage-priority-code").select_option("high")
    anna.locator("#triage-add-label").fill("roads")
    assert post(anna, "#triage-form") == 302
    expect(anna.get_by_role("status")).to_contain_text("Triage saved.")
    expect(anna.locator("#triage-priority")).to_have_text("high")
    expect(anna.locator("#triage-labels")).to_contain_text("roads")
    # Only the reader's moves: acknowledging, not closing the case.
    expect(anna.locator("form.transition")).to_have_count(1)
    expect(anna.locator("#move-received-acknowledged")).to_contain_text("The tipster is told")
    anna.locator("#move-received-acknowledged-reason").fill(f"Logged. {XSS}")
    assert post(anna, "#move-received-acknowledged") == 302
    expect(anna.locator("#workflow-stage")).to_have_text("acknowledged")
    anna.locator("#move-acknowledged-assessed-code").select_option("within-scope")
    anna.locator("#move-acknowledged-assessed-reason").fill("Public procurement, in scope.")
    assert post(anna, "#move-acknowledged-assessed") == 302
    expect(anna.locator("#workflow-stage")).to_have_text("assessed")
    expect(anna.locator("#workflow-none")).to_be_visible()  # the rest is the lead's
    expect(anna.locator("#dialogue")).to_contain_text("Told the tipster: assessed.")
    expect(anna.locator("script, img, [onerror]").filter(has_text="xss")).to_have_count(0)

    # The unit lead opens an investigation and concludes with an outcome.
    lena = new_page()
    sign_in(lena, sites, apps.staff["lena"])
    lena.goto(case_url)
    expect(lena.locator("form.transition")).to_have_count(2)
    assert post(lena, "#move-assessed-investigating") == 302
    expect(lena.locator("#workflow-stage")).to_have_text("investigating")
    lena.locator("#move-investigating-concluded-code").select_option("evidence-sufficient")
    lena.locator("#move-investigating-concluded-outcome").select_option("substantiated")
    lena.locator("#move-investigating-concluded-reason").fill("Two invoices match.")
    assert post(lena, "#move-investigating-concluded") == 302
    expect(lena.locator("#workflow-stage")).to_have_text("concluded")
    expect(lena.locator("#workflow-outcome")).to_have_text("substantiated")
    # Reopening is offered now, and nothing else.
    expect(lena.locator("form.transition")).to_have_count(2)
    expect(lena.get_by_role("button", name="Reopen as: assessed", exact=True)).to_be_visible()

    with services(apps.casework).db.session() as db:
        moves = [(r.from_stage, r.to_stage) for r in db.scalars(
            select(StageChange).order_by(StageChange.at))]
    assert moves == [("received", "acknowledged"), ("acknowledged", "assessed"),
                     ("assessed", "investigating"), ("investigating", "concluded")]

    # The tipster reads the outcome in plain language, never the reasons.
    apps.sync()
    tipster = tipster_tab(sites, new_page())
    tipster.goto("/login")
    assert type_receipt(tipster, receipt) == 302
    dialogue = tipster.page.locator("ol.dialogue")
    expect(dialogue).to_contain_text("Your case is concluded. Outcome: Substantiated.")
    assert "Two invoices" not in tipster.page.content()
    assert "Logged." not in tipster.page.content()

    # axe-core on the case page, as the lead sees it (every section), in both languages.
    failures = []
    # Lena's own page, her language switched by cookie: signing her in again would wait
    # for fresh TOTP steps.
    page = lena
    for lang in ("sv", "en"):
        page.context.add_cookies([{"name": "lang", "value": lang,
                                   "url": sites.casework_url}])
        page.goto(case_url)
        assert page.locator("html").get_attribute("lang") == lang
        result = scan(page, axe_source)
        if result["violations"]:
            failures.append(f"{lang}:\n{render(result['violations'])}")
    assert not failures, "\n".join(failures)
    assert sites.dialogs == []
    assert sites.foreign_requests() == []
