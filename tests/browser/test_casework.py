"""Casework in a real browser, linked to intake: from a tipster's report to a reply and back.

Both apps of the ``linked`` fixture are served on free local ports. A tipster reports
through intake (JavaScript off), the bridge syncs, a reviewer signs in at casework with
user name, password and TOTP code, reads the case and its file, replies with simple
markup and a script payload, and the tipster reads the reply; an internal note stays in
casework; signing out closes the case pages. The journey runs with JavaScript on and off:
every action is a plain form or link. With JavaScript on, the contexts also bypass the
Content-Security-Policy, so "no script ran" proves the escaping and the sanitiser
themselves, not only the CSP. No request may leave the two apps' origins.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator

import pyotp
import pytest
from playwright.sync_api import Locator, Page, expect

from casework.accounts import create_user
from casework.models import Role
from tests.casework.conftest import (  # noqa: F401  (fixtures)
    Staff,
    casework,
    casework_config,
    csrf,
    enrol,
    log_in,
    make_casework,
    services,
)
from tests.casework.linked import Linked, linked  # noqa: F401  (fixture)
from tests.intake.conftest import submit

# serving: journeys written against this module import it from here too.
from .casework_sites import Sites, serving, serving_linked  # noqa: F401
from .conftest import Tab, fill_report, send_report, type_receipt

# Two ways to run script, should the sanitiser (casework) or the escaping (intake) fail.
XSS = "<script>alert('xss-script')</script><img src=x onerror=\"alert('xss-img')\">"


@pytest.fixture
def sites(linked: Linked) -> Iterator[Sites]:  # noqa: F811  (fixture)
    with serving_linked(linked) as served:
        yield served


def tipster_tab(sites: Sites, page: Page) -> Tab:
    """A page on intake, wrapped so that the intake journey's helpers apply."""
    return Tab(page.context, page, sites.intake)


def submit_status(page: Page, button: str) -> int:
    """Click ``button`` (which posts a form); return the POST's status."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    return answer.value.status


def sign_in(page: Page, sites: Sites, username: str, password: str, code: str) -> int:
    """Sign in at casework with the one form; return the POST's status."""
    page.goto(sites.casework_url + "/login")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.get_by_label("User name", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Code from your authenticator app", exact=True).fill(code)
    return submit_status(page, "Sign in")


def wrong_code(secret: str) -> str:
    """Six digits that no step in the accepted window (±1 step, and beyond) produces."""
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // 30
    valid = {totp.at(step * 30) for step in range(now - 3, now + 4)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


def assert_no_payload(page: Page, scope: str) -> None:
    """Neither payload became markup, and no script element carries it."""
    expect(page.locator(f"{scope} script, {scope} img, {scope} [onerror]")).to_have_count(0)
    for script in page.locator("script").all():
        assert "xss" not in (script.text_content() or "")


def note_box(page: Page) -> Locator:
    """The note field, found through its form: its label leads to the reply field (below)."""
    return page.locator("form[action$='/notes'] textarea")


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_report_reply_note_and_sign_out(sites: Sites, new_page: Callable[..., Page],
                                        javascript: bool) -> None:
    marker = f"marker{secrets.token_hex(6)}"
    eva: Staff = sites.linked.staff["eva"]

    # The tipster reports with JavaScript off, as the anonymity guide says.
    tipster = tipster_tab(sites, new_page(javascript=False))
    tipster.goto("/submit")
    fill_report(tipster, marker, exclude=None)
    receipt = send_report(tipster)
    assert sites.linked.sync() == (2, 1)  # report + file in; the acknowledgement out

    # The reviewer signs in with password and a fresh TOTP code.
    page = new_page(javascript=javascript)
    assert sign_in(page, sites, eva.username, eva.password, eva.code(sites.linked.casework)) \
        == 302
    assert page.url == sites.casework_url + "/"
    expect(page.locator("h1")).to_have_text("Welcome, Eva")
    expect(page.locator("#key-status")).to_contain_text("unlocked")

    # The inbox lists the case; opening it shows the report and its file.
    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Inbox", exact=True).click()
    expect(page.locator("h1")).to_have_text("Inbox")
    rows = page.locator("#inbox tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("ethics")
    link = rows.get_by_role("link")
    reference = link.inner_text()
    assert reference.startswith("LY-")
    link.click()
    expect(page.locator("h1")).to_have_text(f"Case {reference}")
    expect(page.locator("#report-what")).to_contain_text(
        f"The head of unit hired a relative. {marker}")
    files = page.locator("#files")
    expect(files).to_contain_text(f"evidence-{marker}.txt")
    with page.expect_download() as download:
        files.get_by_role("link", name="original", exact=True).click()
    assert download.value.suggested_filename == f"evidence-{marker}.txt"
    assert download.value.path().read_bytes() == f"minutes of the meeting {marker}\n".encode()
    case_url = page.url

    # A reply with simple markup and a script payload.
    reply = f"<b>bold {marker}</b> Which year was this? {marker}-reply {XSS}"
    page.get_by_label("Reply to the tipster", exact=True).fill(reply)
    page.get_by_role("button", name="Send reply", exact=True).click()
    assert page.url == case_url
    expect(page.get_by_role("status")).to_contain_text("Reply sealed for the tipster.")
    sent = page.locator("#dialogue li.from-you").filter(has_text=f"{marker}-reply")
    expect(sent).to_have_count(1)
    # Replies go to the tipster as plain text: the reviewer sees exactly that.
    expect(sent).to_contain_text(f"bold {marker}")
    expect(sent.locator("b")).to_have_count(0)
    assert_no_payload(page, "#dialogue")
    assert sites.linked.sync() == (0, 1)

    # The tipster signs in with the receipt and reads the reply; nothing runs.
    reader = tipster_tab(sites, new_page(javascript=javascript))
    reader.goto("/login")
    assert type_receipt(reader, receipt) == 302
    assert reader.page.url == sites.intake.url + "/dialogue"
    dialogue = reader.page.locator("ol.dialogue")
    expect(dialogue.locator("li.from-them").filter(has_text=f"{marker}-reply")).to_have_count(1)
    expect(dialogue).to_contain_text(f"bold {marker}")
    assert_no_payload(reader.page, "ol.dialogue")

    # An internal note: shown in casework, never sent to intake.
    note = f"Check the hiring files. {marker}-note"
    note_box(page).fill(note)
    page.get_by_role("button", name="Save note", exact=True).click()
    assert page.url == case_url
    expect(page.get_by_role("status")).to_contain_text("Note saved")
    expect(page.locator("#notes")).to_contain_text(note)
    expect(page.locator("#dialogue")).not_to_contain_text(f"{marker}-note")
    assert sites.linked.sync() == (0, 0)
    reader.page.reload()
    expect(dialogue).to_contain_text(f"{marker}-reply")
    assert f"{marker}-note" not in reader.page.content()

    # Sign out: the case pages are closed to this browser now.
    page.get_by_role("button", name=f"Sign out ({eva.username})", exact=True).click()
    assert page.url == sites.casework_url + "/login"
    response = page.goto(sites.casework_url + "/cases/")
    assert response is not None and response.status == 401
    expect(page.locator("h1")).to_have_text("You are signed out")
    response = page.goto(case_url)
    assert response is not None and response.status == 401
    assert marker not in page.content()

    assert sites.dialogs == []
    assert sites.foreign_requests() == []
    assert any(url.endswith("/static/casework.css") for url in sites.requests)
    assert any(url.endswith("/assets/lykta.css") for url in sites.requests)


def test_wrong_totp_code_shows_the_sign_in_failed_page(sites: Sites,
                                                       new_page: Callable[..., Page]) -> None:
    eva: Staff = sites.linked.staff["eva"]
    page = new_page(javascript=True)
    assert sign_in(page, sites, eva.username, eva.password, wrong_code(eva.totp_secret)) == 401
    expect(page.locator("h1")).to_have_text("Sign-in failed")
    main = page.get_by_role("main")
    expect(main).to_contain_text("The user name, password or code was wrong.")
    assert eva.password not in page.content()
    expect(main.get_by_role("link", name="Back to the start page", exact=True)).to_be_visible()
    # Not signed in: the inbox says so.
    response = page.goto(sites.casework_url + "/cases/")
    assert response is not None and response.status == 401
    assert sites.foreign_requests() == []


def test_first_sign_in_shows_an_inline_svg_qr_code(sites: Sites,
                                                   new_page: Callable[..., Page]) -> None:
    casework_app = sites.linked.casework
    with services(casework_app).db.session() as db:
        _, password = create_user(db, services(casework_app).config, username="nora",
                                  display_name="Nora Ny", unit_id="etik", role=Role.REVIEWER)

    page = new_page(javascript=True)
    assert sign_in(page, sites, "nora", password, "") == 302  # no code before enrolment
    assert page.url == sites.casework_url + "/enrol"
    expect(page.locator("h1")).to_have_text("Set up your sign-in")
    qr = page.locator(".qr")
    expect(qr.locator("svg")).to_have_count(1)  # inline: an <svg> in the page itself
    expect(qr.locator("img, object, iframe, embed")).to_have_count(0)
    expect(qr.locator("svg title")).to_have_text("TOTP QR code")
    box = qr.locator("svg").bounding_box()
    assert box is not None and box["width"] > 50 and box["height"] > 50

    # The key beside it completes the enrolment, and the new password signs in.
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("Code from your authenticator app", exact=True).fill(
        pyotp.TOTP(secret).now())
    new_password = "a long new password for nora"
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password again", exact=True).fill(new_password)
    assert submit_status(page, "Finish set-up") == 302
    assert page.url == sites.casework_url + "/"
    expect(page.locator("h1")).to_have_text("Welcome, Nora Ny")
    expect(page.locator("#key-status")).to_contain_text("unlocked")

    assert sites.dialogs == []
    assert sites.foreign_requests() == []


def test_each_case_form_field_has_its_own_label(sites: Sites,
                                                new_page: Callable[..., Page]) -> None:
    submit(sites.linked.intake.test_client(), category="ethics")
    sites.linked.sync()
    eva: Staff = sites.linked.staff["eva"]
    page = new_page(javascript=False)
    assert sign_in(page, sites, eva.username, eva.password, eva.code(sites.linked.casework)) \
        == 302
    page.goto(sites.casework_url + "/cases/")
    page.locator("#inbox tbody").get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text("Case LY-")
    # The page is loaded: count, do not wait.
    for action, label in (("/reply", "Reply to the tipster"), ("/notes", "Internal note")):
        form = page.locator(f"form[action$='{action}']")
        assert form.get_by_label(label, exact=True).count() == 1, label
    ids = [element.get_attribute("id") or "" for element in page.locator("[id]").all()]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert repeated == [], f"repeated ids: {repeated}"


def test_the_tipster_reads_the_reply_as_the_reviewer_saw_it(
        sites: Sites, new_page: Callable[..., Page]) -> None:
    apps = sites.linked
    receipt = submit(apps.intake.test_client(), category="ethics")
    apps.sync()
    eva = apps.casework.test_client()
    log_in(apps.casework, eva, apps.staff["eva"])
    found = re.search(r'href="(/cases/[0-9a-f]+)"', eva.get("/cases/").get_data(as_text=True))
    assert found, "the case is not in the inbox"
    case_path = found.group(1)
    eva.post(f"{case_path}/reply", data={"csrf_token": csrf(eva, case_path),
                                         "reply-text": f"<b>Which year?</b> {XSS}"})
    assert apps.sync() == (0, 1)

    reader = tipster_tab(sites, new_page(javascript=False))
    reader.goto("/login")
    assert type_receipt(reader, receipt) == 302
    reply = reader.page.locator("ol.dialogue li.from-them").filter(has_text="Which year?")
    shown = reply.inner_text()
    assert "<b>" not in shown and "<script>" not in shown and "onerror" not in shown, shown
