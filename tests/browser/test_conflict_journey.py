"""A conflict of interest in a real browser: a reader declares, is refused, another reader
opens the case (the rekey happens then), and the unit lead sees the case flagged.

Casework and intake (the ``linked`` fixture, with an etik unit lead added before the
report) are served on free local ports. axe-core (WCAG 2.1 A/AA) checks the case page
with the declaration form, the case page with the flag, and the lead's list of conflicts
(pending and rekeyed), in Swedish and English: 0 violations. axe runs with JavaScript on
and the CSP bypassed (casework's pages allow no script). No request leaves the two apps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

import crypto
from casework.models import Case
from tests.casework.conflict_support import add_etik_lead, envelopes, key_of
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

REPORT = "The head of unit hired her nephew (CONFLICT-JOURNEY)."


@pytest.fixture
def sites(linked: Linked, enrol: Callable[..., Staff]) -> Iterator[Sites]:  # noqa: F811
    add_etik_lead(linked, enrol)
    submit(linked.intake.test_client(), category="ethics", what=REPORT)
    linked.sync()
    with serving_linked(linked) as served:
        yield served


def test_a_reader_declares_another_opens_the_case_and_the_lead_sees_the_flag(
        sites: Sites, signed_in: Callable[[str], Page], axe_source: str) -> None:
    apps = sites.linked
    with services(apps.casework).db.session() as db:
        case_id = db.scalars(select(Case.id)).one()
    case_url = f"{sites.casework_url}/cases/{case_id}"

    # Erik reads the case, sees what declaring does, and declares.
    erik = signed_in("erik")
    erik.goto(case_url)
    expect(erik.locator("#report-what")).to_contain_text("CONFLICT-JOURNEY")
    expect(erik.locator("#conflict-explained")).to_contain_text("You lose access at once")
    axe_clean(erik, sites, axe_source, "the case page with the declaration form")
    erik.get_by_label("I have a conflict of interest in this case").check()
    erik.get_by_label("Reason (optional)").fill("She is my cousin.")
    with erik.expect_response(lambda r: r.request.method == "POST") as answer:
        erik.get_by_role("button", name="Declare a conflict of interest").click()
    assert answer.value.status == 302
    expect(erik.locator("h1")).to_have_text("Inbox")
    expect(erik.locator(".notice")).to_contain_text("You declared a conflict of interest")
    refused = erik.goto(case_url)
    assert refused is not None and refused.status == 403
    assert "CONFLICT-JOURNEY" not in erik.content()

    # The lead sees it waiting, without opening the case.
    lars = signed_in("lars")
    lars.goto(sites.casework_url + "/")
    lars.get_by_role("link", name="Cases with a declared conflict of interest").click()
    expect(lars.locator("#conflicts")).to_contain_text("Erik")
    expect(lars.locator("#conflicts")).to_contain_text("Waiting for a reader")
    axe_clean(lars, sites, axe_source, "the lead's list, a rekey pending")

    # Eva opens the case: the rekey happens on the way, and the page says so.
    eva = signed_in("eva")
    eva.goto(case_url)
    expect(eva.locator("#report-what")).to_contain_text("CONFLICT-JOURNEY")
    expect(eva.locator("#conflict-flag")).to_contain_text("re-encrypted without the key")
    axe_clean(eva, sites, axe_source, "the case page with the conflict flag")
    erik_key: crypto.PrivateKey = key_of(apps, "erik")
    assert not any(erik_key.key_id in crypto.header_key_ids(e.header)
                   for e in envelopes(apps, case_id))

    # The lead's list now says who rekeyed it; the link leads to the flagged case.
    lars.goto(sites.casework_url + "/conflicts/")
    expect(lars.locator("#conflicts")).not_to_contain_text("Waiting for a reader")
    expect(lars.locator("#conflicts")).to_contain_text("Eva")
    axe_clean(lars, sites, axe_source, "the lead's list, rekeyed")
    lars.locator("#conflicts a").first.click()
    expect(lars.locator("#conflict-flag")).to_be_visible()
    assert sites.foreign_requests() == []
