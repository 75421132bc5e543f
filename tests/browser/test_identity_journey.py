"""A confidential reporter's identity, from intake to an approved disclosure, in real
browsers: the reporter sends a confidential report at intake with JavaScript off; a
reader asks for the identity; the custodian approves, telling the reporter first; the
bridge syncs the notice; only then does the reader read the name; the reporter sees the
notice under its heading.

axe-core (WCAG 2.1 A/AA) checks the case page's identity section, the custodian's queue
(waiting and decided) and the identity page, in Swedish and English: 0 violations. No
request leaves the two apps, no dialog opens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from casework.models import Case, IdentityRequest
from tests.casework.conftest import (  # noqa: F401  (fixtures)
    casework,
    casework_config,
    enrol,
    make_casework,
    services,
)
from tests.casework.linked import Linked, linked  # noqa: F401  (fixture)
from tests.casework.test_identity import CONTACT, NAME, in_custody

from .casework_sites import Sites, axe_clean, serving_linked

REPORT = "The head of unit hired her nephew (IDENTITY-JOURNEY)."


@pytest.fixture
def sites(linked: Linked) -> Iterator[Sites]:  # noqa: F811
    with serving_linked(linked) as served:
        yield served


def send_confidential_report(page: Page, sites: Sites) -> str:
    """At intake, JavaScript off, in English: a confidential ethics report; the receipt."""
    page.goto(sites.intake.url + "/submit")
    page.get_by_role("radio", name="Breach of ethics rules", exact=True).check()
    page.get_by_label("Which agency is concerned?", exact=True).select_option("Skatteverket")
    page.get_by_label("What happened?", exact=True).fill(REPORT)
    page.get_by_role("radio", name="Confidential: I give my name, kept sealed",
                     exact=True).check()
    page.get_by_label("Your name", exact=True).fill(NAME)
    page.get_by_label("How we can reach you", exact=True).fill(CONTACT)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Send report", exact=True).click()
    assert answer.value.status == 200, page.locator("h1").inner_text()
    return page.locator("#receipt-code").inner_text().strip()


def submit_form(page: Page, button: str) -> int:
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    return answer.value.status


def test_confidential_report_to_approved_disclosure(
        sites: Sites, new_page: Callable[..., Page], signed_in: Callable[[str], Page],
        axe_source: str) -> None:
    apps = sites.linked
    reporter = new_page(javascript=False)
    receipt = send_confidential_report(reporter, sites)
    apps.sync()
    with services(apps.casework).db.session() as db:
        case_id = db.scalars(select(Case.id)).one()
    in_custody(apps, case_id, custodians=("cecilia",))  # as intake seals it
    case_url = f"{sites.casework_url}/cases/{case_id}"

    # Eva, a reader, asks; the name is nowhere on her page.
    eva = signed_in("eva")
    eva.goto(case_url)
    expect(eva.locator("#report-what")).to_contain_text("IDENTITY-JOURNEY")
    expect(eva.locator("#identity-explained")).to_contain_text("a custodian")
    eva.get_by_label("Why do you need the reporter's identity?").select_option(
        "investigation-needs")
    eva.get_by_label("Explain the need").fill("We must interview the reporter as a witness.")
    assert submit_form(eva, "Send the request") == 302
    expect(eva.locator("#identity-requests")).to_contain_text("Waiting for a custodian")
    axe_clean(eva, sites, axe_source, "the case page with a pending request")
    assert NAME not in eva.content()

    # Cecilia, the custodian, finds the queue from her start page and approves.
    cecilia = signed_in("cecilia")
    cecilia.goto(sites.casework_url + "/")
    cecilia.get_by_role("link", name="Requests to read a confidential reporter's identity").click()
    expect(cecilia.locator("main")).to_contain_text("interview the reporter as a witness")
    axe_clean(cecilia, sites, axe_source, "the custodian's queue, one waiting")
    cecilia.get_by_role("radio", name="Approve", exact=True).check()
    cecilia.get_by_label("Reason for the decision").select_option("investigation-needs")
    cecilia.get_by_label("Explain the decision").fill("A witness statement is needed.")
    cecilia.get_by_role("radio", name="The reporter is told first, in their dialogue").check()
    cecilia.get_by_label("Notice to the reporter, or why they are not told").fill(
        "The ethics committee will learn your name to interview you as a witness.")
    assert submit_form(cecilia, "Record the decision") == 302
    expect(cecilia.locator("#decided")).to_contain_text("Approved")
    axe_clean(cecilia, sites, axe_source, "the custodian's queue, one decided")

    # Not before the reporter is told: the notice waits for the sync.
    eva.goto(case_url)
    expect(eva.locator("#identity-requests")).to_contain_text("waits for the next sync")
    with services(apps.casework).db.session() as db:
        request_id = db.scalars(select(IdentityRequest.id)).one()
    refused = eva.goto(f"{sites.casework_url}/identity/requests/{request_id}")
    assert refused is not None and refused.status == 409
    assert NAME not in eva.content()
    apps.sync()

    eva.goto(case_url)
    eva.get_by_role("link", name="Read the identity").click()
    expect(eva.locator("#identity-name")).to_have_text(NAME)
    expect(eva.locator("#identity-contact")).to_have_text(CONTACT)
    axe_clean(eva, sites, axe_source, "the identity page")

    # The reporter reads the notice in their dialogue, under its heading.
    reporter.goto(sites.intake.url + "/login")
    reporter.get_by_label("Receipt code", exact=True).fill(receipt)
    with reporter.expect_response(lambda r: r.request.method == "POST"):
        reporter.get_by_role("button", name="Sign in", exact=True).click()
    expect(reporter.locator("ol.dialogue")).to_contain_text("Your identity will be disclosed")
    expect(reporter.locator("ol.dialogue")).to_contain_text("ethics committee will learn")
    assert sites.foreign_requests() == [] and sites.dialogs == []
