"""The audit log in a real browser: a reader opens a case, the auditor finds that in the
log from the start page, filters it, exports it and sees it verified, and never the
report's text.

Casework and intake (the ``linked`` fixture, with an auditor added) are served on free
local ports. axe-core (WCAG 2.1 A/AA) checks the log (filtered) and the verification page
in Swedish and English: 0 violations. No request leaves the two apps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from casework.models import Case, Role
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

REPORT = "The treasurer pays a friend's firm (AUDIT-JOURNEY-7731)."


@pytest.fixture
def sites(linked: Linked, enrol: Callable[..., Staff]) -> Iterator[Sites]:  # noqa: F811
    linked.staff["ulla"] = enrol("ulla", Role.AUDITOR, "kof")
    submit(linked.intake.test_client(), category="ethics", what=REPORT)
    linked.sync()
    with serving_linked(linked) as served:
        yield served


def test_the_auditor_finds_a_read_filters_exports_and_verifies(
        sites: Sites, signed_in: Callable[[str], Page], axe_source: str) -> None:
    with services(sites.linked.casework).db.session() as db:
        case = db.scalars(select(Case)).one()
        case_id, reference = case.id, case.reference
    eva = signed_in("eva")
    eva.goto(f"{sites.casework_url}/cases/{case_id}")
    expect(eva.locator("#report-what")).to_contain_text("AUDIT-JOURNEY-7731")

    ulla = signed_in("ulla")
    ulla.get_by_role("link", name="The audit log: browse, filter, export and verify it").click()
    expect(ulla.locator("h1")).to_have_text("Audit log")
    ulla.get_by_label("Action", exact=True).select_option("case_read")
    ulla.get_by_label("Case (reference or id)").fill(reference)
    ulla.get_by_role("button", name="Show", exact=True).click()
    rows = ulla.locator("#audit-log tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("case_read")
    expect(rows.first).to_contain_text(reference)
    expect(rows.first).to_contain_text("Eva")  # the display name, not the id
    assert "AUDIT-JOURNEY" not in ulla.content()
    axe_clean(ulla, sites, axe_source, "the audit log, filtered")

    csv_link = ulla.get_by_role("link", name="CSV", exact=True).get_attribute("href")
    assert csv_link is not None and "action=case_read" in csv_link
    exported = ulla.request.get(sites.casework_url + csv_link)
    assert exported.status == 200 and "case_read" in exported.text()
    assert "AUDIT-JOURNEY" not in exported.text()

    ulla.get_by_role("link", name="Verify the log and see its signed head").click()
    # The check runs in the background (casework/audit/verification.py): start it, then
    # reload until its outcome is shown (a small log is done at once; bounded).
    ulla.get_by_role("button", name="Verify now").click()
    for _ in range(100):
        if ulla.locator("#verify-result").count():
            break
        ulla.reload()
    expect(ulla.locator("#verify-result")).to_contain_text("The log is intact")
    axe_clean(ulla, sites, axe_source, "the verification page")
    assert sites.foreign_requests() == []
