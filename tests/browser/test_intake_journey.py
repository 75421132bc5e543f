"""The tipster's journey in a real browser with JavaScript switched off.

Landing page → report form → receipt → sign in → dialogue → follow-up message → sign
out, in Swedish (the default) and in English, plus the sign-in error pages and the
keyboard's way in. Every request the browser makes must go to the app's own origin.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

import crypto

from .conftest import SCREENSHOTS, WRONG_RECEIPTS, Tab, fill_report, send_report, type_receipt


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_report_sign_in_follow_up_sign_out(tab: Tab, lang: str) -> None:
    page = tab.page
    marker = f"marker{secrets.token_hex(6)}"

    # Landing page, Swedish by default; English is one link away and keeps the page.
    tab.goto("/")
    assert tab.lang() == "sv"
    # The Swedish catalogue is compiled and used: the default page is not English.
    assert tab.t("Make a report") != "Make a report"
    if lang == "en":
        page.get_by_role("link", name="English", exact=True).click()
        assert tab.lang() == "en"
        assert page.url == tab.live.url + "/"
        expect(page.get_by_role("link", name="Svenska", exact=True)).to_be_visible()
    expect(page.locator("h1")).to_have_text(
        tab.t("Report wrongdoing in the public administration"))

    # The call to action in the page (the menu has the same link too).
    page.get_by_role("main").get_by_role("link", name=tab.t("Make a report"),
                                         exact=True).click()
    assert page.url == tab.live.url + "/submit"
    expect(page.locator("h1")).to_have_text(tab.t("Make a report"))
    fill_report(tab, marker, exclude="Erik Etik")
    if lang == "sv":
        page.screenshot(path=str(SCREENSHOTS / "lykta-submit.png"), full_page=True)
    receipt = send_report(tab)

    expect(page.locator("h1")).to_have_text(tab.t("Your report has been sent"))
    crypto.normalize_receipt(receipt)  # well-formed, with matching check characters
    assert receipt == receipt.upper() and receipt.count("-") == 3
    if lang == "sv":
        page.screenshot(path=str(SCREENSHOTS / "lykta-receipt.png"), full_page=True)
    # Neither the file nor the text lies readable anywhere under the instance folder.
    assert files_containing(tab.live.config.instance_path, marker.encode()) == []

    # Sign in as a person would type it from a paper note: lower case, spaces.
    page.get_by_role("main").get_by_role(
        "link", name=tab.t("Sign in with your receipt code"), exact=True).click()
    expect(page.locator("h1")).to_have_text(tab.t("Sign in with your receipt code"))
    typed = receipt.lower().replace("-", " ")
    assert type_receipt(tab, typed) == 302
    assert page.url == tab.live.url + "/dialogue"

    expect(page.locator("h1")).to_have_text(tab.t("Your report"))
    expect(page.locator("#case-status")).to_have_text(tab.t("Received"))
    dialogue = page.locator("ol.dialogue")
    expect(dialogue).to_contain_text(f"evidence-{marker}.txt")
    expect(dialogue).to_contain_text("Skatteverket")

    # A follow-up with a file.
    message = f"I found one more document. {marker}-2"
    page.get_by_label(tab.t("Your message"), exact=True).fill(message)
    page.get_by_label(tab.t("Files (optional)"), exact=True).set_input_files(
        files=[{"name": f"more-{marker}.txt", "mimeType": "text/plain",
                "buffer": f"second document {marker}\n".encode()}])
    page.get_by_role("button", name=tab.t("Send message"), exact=True).click()
    assert page.url == tab.live.url + "/dialogue"
    expect(page.get_by_role("status")).to_contain_text(tab.t("Your message was sent."))
    expect(dialogue.locator("li.from-you")).to_have_count(2)
    expect(dialogue.locator("li.from-you").last).to_contain_text(message)
    expect(dialogue.locator("li.from-you").last).to_contain_text(f"more-{marker}.txt")
    assert files_containing(tab.live.config.instance_path, marker.encode()) == []

    # Sign out: the dialogue address now says so, and the cookie alone opens nothing.
    page.get_by_role("button", name=tab.t("Sign out"), exact=True).click()
    assert page.url == tab.live.url + "/login"
    expect(page.get_by_role("status")).to_contain_text(tab.t("You are signed out."))
    response = tab.goto("/dialogue")
    assert response.status == 401
    expect(page.locator("h1")).to_have_text(tab.t("You are signed out"))
    expect(page.locator("ol.dialogue")).to_have_count(0)
    assert message not in page.content()

    assert tab.lang() == lang
    assert tab.foreign_requests() == []
    assert any(url.endswith("/assets/lykta.css") for url in tab.requests)


def test_sign_in_errors_each_have_their_own_page(tab: Tab) -> None:
    page = tab.page
    cases = {
        "malformed": (400, "That is not a receipt code"),
        "typo": (400, "The code seems to contain a typo"),
        "unknown": (401, "No report found for that code"),
    }
    assert set(cases) == set(WRONG_RECEIPTS)
    titles = {}
    for name, (status, title) in cases.items():
        typed = WRONG_RECEIPTS[name]
        tab.goto("/login")
        assert type_receipt(tab, typed) == status, name
        heading = page.locator("h1").inner_text()
        assert heading == tab.t(title), name
        titles[name] = heading
        # A way back, and nothing echoes the code that was typed.
        expect(page.get_by_role("main").get_by_role(
            "link", name=tab.t("Back to the start page"), exact=True)).to_be_visible()
        assert typed not in page.locator("main").inner_text(), name
    assert len(set(titles.values())) == len(cases), titles
    assert tab.foreign_requests() == []


def test_empty_sign_in_shows_the_field_error(tab: Tab) -> None:
    tab.goto("/login")
    assert type_receipt(tab, "") == 400
    summary = tab.page.get_by_role("alert")
    expect(summary).to_contain_text(tab.t("Type your receipt code."))
    field = tab.page.get_by_label(tab.t("Receipt code"), exact=True)
    described = (field.get_attribute("aria-describedby") or "").split()
    assert described == ["receipt-hint", "receipt-error"]
    # The summary's link leads to the field.
    assert summary.get_by_role("link").get_attribute("href") == "#receipt"


@pytest.mark.parametrize("field", [
    "category",
    "agency",
    "what",
])
def test_error_summary_links_lead_to_their_field(tab: Tab, field: str) -> None:
    page = tab.page
    tab.goto("/submit")
    page.get_by_role("button", name=tab.t("Send report"), exact=True).click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(tab.t("There is a problem"))
    hrefs = [link.get_attribute("href") for link in summary.get_by_role("link").all()]
    # A group of radio buttons is reached through its first button.
    target_id = {"category": "category-0"}.get(field, field)
    assert f"#{target_id}" in hrefs, hrefs
    target = page.locator(f"[id='{target_id}']")  # the page is loaded: count, do not wait
    assert target.count() == 1, f"the summary's link #{target_id} leads nowhere"
    # The field says what is wrong, in words tied to it.
    assert f"{field}-error" in (target.get_attribute("aria-describedby") or "").split()


@pytest.mark.parametrize("path", ["/", "/submit", "/login"])
def test_first_tab_reaches_the_skip_link(tab: Tab, path: str) -> None:
    page = tab.page
    tab.goto(path)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name=tab.t("Skip to content"), exact=True)
    expect(skip).to_be_focused()
    assert skip.get_attribute("href") == "#main"
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0, "the focused skip link must be on screen"
    expect(page.locator("main#main")).to_have_count(1)
    page.keyboard.press("Enter")
    assert page.url.endswith(path + "#main")
    expect(page.locator("main#main")).to_be_focused()
    assert tab.foreign_requests() == []
