"""An oral report in a real browser: a reader records it in casework and hands over the
receipt, sends minutes; the reporter signs in at intake with JavaScript off and approves
them; casework shows them approved.

Casework (with intake's receipt salt) and intake are served on free local ports.
axe-core (WCAG 2.1 A/AA) checks the new pages in Swedish and English: the form, the
receipt page (recorded once in each language: reloading it would post again), the case
page's oral section, and intake's dialogue with the minutes and their two forms. Forms
and fields are found by id, so the steps hold in both languages. No request leaves the
two apps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

import crypto
from casework.models import Case, MinutesStatus, OralReport
from tests.casework.conftest import (  # noqa: F401  (fixtures)
    casework,
    casework_config,
    enrol,
    make_casework,
    services,
)
from tests.casework.linked import Linked, linked  # noqa: F401  (fixture)

from .casework_sites import Sites, axe_clean, scan, serving_linked
from .test_intake_accessibility import render

SALT = b"t" * 16  # intake's instance salt in tests/support/casework.link_intake
TODAY = dt.datetime.now(dt.UTC).date().isoformat()


@pytest.fixture
def sites(linked: Linked, make_casework: Callable[..., Flask],  # noqa: F811
          argon2_params: crypto.Argon2Params) -> Iterator[Sites]:
    linked.casework = make_casework(escrow_public_key=linked.escrow.public_key.raw,
                                    intake_receipt_salt=SALT,
                                    intake_receipt_argon2=argon2_params)
    with serving_linked(linked) as served:
        yield served


def _record(page: Page, sites: Sites, axe_source: str, lang: str, marker: str) -> str:
    """Record an oral report with ``page`` in ``lang``; scan the receipt page; the code."""
    page.context.add_cookies([{"name": "lang", "value": lang, "url": sites.casework_url}])
    page.goto(sites.casework_url + "/oral/new")
    page.locator("#channel").select_option("meeting")
    page.locator("#held_on").fill(TODAY)
    page.locator("#category").select_option("ethics")
    page.locator("#agency").select_option("skatteverket")
    page.locator("#summary").fill(f"The head of unit hired her nephew ({marker}).")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("#oral-form button[type=submit]").click()
    assert answer.value.status == 200
    assert "no-store" in (answer.value.headers.get("cache-control") or "")
    assert page.locator("html").get_attribute("lang") == lang
    result = scan(page, axe_source)
    assert not result["violations"], f"the receipt page ({lang}):\n" \
        f"{render(result['violations'])}"
    return page.locator("#receipt-code").inner_text().strip()


def _intake_axe_clean(page: Page, sites: Sites, axe_source: str, what: str) -> None:
    for lang in ("sv", "en"):
        page.context.add_cookies([{"name": "lang", "value": lang, "url": sites.intake.url}])
        answer = page.reload()
        assert answer is not None and answer.status == 200, what
        result = scan(page, axe_source)
        assert not result["violations"], f"{what} ({lang}):\n{render(result['violations'])}"


def test_a_reader_records_an_oral_report_and_the_reporter_approves_the_minutes(
        sites: Sites, signed_in: Callable[[str], Page], browser: Browser,
        axe_source: str) -> None:
    apps = sites.linked

    # Eva finds the form from the start page; it is clean in both languages.
    eva = signed_in("eva")
    eva.goto(sites.casework_url + "/")
    eva.locator("#oral-link a").click()
    expect(eva.locator("#oral-tell")).to_be_visible()
    axe_clean(eva, sites, axe_source, "the oral report form")
    # Recorded once in Swedish (only to scan that receipt page), then the real one.
    _record(eva, sites, axe_source, "sv", "ORAL-SV")
    receipt = _record(eva, sites, axe_source, "en", "ORAL-JOURNEY")
    expect(eva.locator("#oral-handover")).to_contain_text("in person")
    with services(apps.casework).db.session() as db:
        case_id = db.scalars(select(Case.id).order_by(Case.created_at.desc())).first()
    eva.locator("#oral-case-link").click()
    expect(eva.locator("#report-what")).to_contain_text("ORAL-JOURNEY")

    # Minutes, sent from the case page's oral section.
    eva.locator("#minutes-held_on").fill(TODAY)
    eva.locator("#minutes-text").fill("You told us on the phone that the post was not "
                                      "advertised (MINUTES-JOURNEY).")
    with eva.expect_response(lambda r: r.request.method == "POST") as answer:
        eva.locator("#minutes-form button[type=submit]").click()
    assert answer.value.status == 302
    expect(eva.locator("#minutes-list")).to_contain_text("MINUTES-JOURNEY")
    axe_clean(eva, sites, axe_source, "the case page with the oral section")
    apps.sync()  # the receipt registered at intake, then the acknowledgement and minutes

    # The reporter signs in at intake with JavaScript off and approves the minutes.
    context = browser.new_context(java_script_enabled=False)
    context.on("request", lambda request: sites.requests.append(request.url))
    reporter = context.new_page()
    reporter.goto(sites.intake.url + "/login")
    reporter.locator("#receipt").fill(receipt)
    with reporter.expect_response(lambda r: r.request.method == "POST") as answer:
        reporter.locator("form[action$='/login'] button[type=submit]").click()
    assert answer.value.status == 302
    expect(reporter.locator("ol.dialogue")).to_contain_text("MINUTES-JOURNEY")
    expect(reporter.locator("#approve-minutes")).to_be_visible()
    expect(reporter.locator("#correct-minutes")).to_be_visible()

    # The dialogue with minutes to answer, scanned with axe (JavaScript on for axe only).
    scanner_context = browser.new_context(java_script_enabled=True, bypass_csp=True)
    scanner_context.on("request", lambda request: sites.requests.append(request.url))
    scanner = scanner_context.new_page()
    scanner.goto(sites.intake.url + "/login")
    scanner.locator("#receipt").fill(receipt)
    scanner.locator("form[action$='/login'] button[type=submit]").click()
    expect(scanner.locator("#approve-minutes")).to_be_visible()
    _intake_axe_clean(scanner, sites, axe_source, "intake's dialogue with minutes")

    with reporter.expect_response(lambda r: r.request.method == "POST") as answer:
        reporter.locator("#approve-minutes button[type=submit]").click()
    assert answer.value.status == 302
    expect(reporter.locator(".minutes-answer")).to_be_visible()
    expect(reporter.locator("#approve-minutes")).to_have_count(0)
    _intake_axe_clean(scanner, sites, axe_source, "intake's dialogue, minutes approved")
    apps.sync()

    with services(apps.casework).db.session() as db:
        row = db.get(OralReport, case_id)
        assert row is not None and row.minutes_status == MinutesStatus.APPROVED
    eva.reload()
    expect(eva.locator("#minutes-answers")).to_be_visible()
    context.close()
    scanner_context.close()
    assert sites.foreign_requests() == []
    assert sites.dialogs == []
