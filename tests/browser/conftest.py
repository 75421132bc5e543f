"""Real-browser fixtures: the intake app on a real socket, Debian's Chromium via Playwright.

The app is served by ``common.serve.build_server`` (the demo server) on 127.0.0.1 with a
free port, in a daemon thread, one fresh app per test. The browser is started once per
session. Chromium comes from Debian (``/usr/bin/chromium``) and axe-core from npm into
``.cache/axe``; ``make sysdeps`` installs both. If either is missing the tests are skipped
on a developer's machine and FAIL in CI (``CI=true``): a browser suite that silently skips
in CI proves nothing.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask_babel import force_locale, gettext

import crypto
from common.serve import build_server
from intake import IntakeConfig, create_app
from tests.intake.conftest import intake_config, people  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Dialog, Page, ViewportSize

    from .casework_sites import Sites

CHECKOUT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("LYKTA_CHROMIUM", "/usr/bin/chromium"))
AXE = CHECKOUT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Without the background-networking flags Chromium keeps calling home on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Screenshots go to the temporary folder (/tmp here), never into the checkout.
SCREENSHOTS = Path(os.environ.get("LYKTA_SCREENSHOTS", tempfile.gettempdir()))


def missing(what: str) -> NoReturn:
    """Skip for a developer, fail in CI: CI must never pass without the browser tests."""
    reason = f"{what}: run `make sysdeps` (as root it installs Chromium and axe-core)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class LiveApp:
    """A running intake app: its Flask object, base URL and configuration."""

    app: Flask
    url: str
    config: IntakeConfig

    def text(self, lang: str, message: str, **values: object) -> str:
        """``message`` as the app shows it in ``lang`` (through its own catalogues).

        Tests look for what the app would render, so they hold whether or not a
        catalogue for that language has been compiled yet.
        """
        with self.app.test_request_context(), force_locale(lang):
            return gettext(message, **values)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture
def live_app(intake_config: IntakeConfig) -> Iterator[LiveApp]:  # noqa: F811  (fixture)
    """The intake app (production settings, cheap Argon2) served on a free local port."""
    app = create_app(intake_config)
    server = build_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, name="intake-live", daemon=True)
    thread.start()
    try:
        yield LiveApp(app, f"http://127.0.0.1:{server.server_port}", intake_config)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, driven by Playwright's bundled driver."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the Python package playwright is not installed (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The axe-core script, read once."""
    if not AXE.is_file():
        missing(f"axe-core not found at {AXE.relative_to(CHECKOUT)} "
                "(npm install --prefix .cache/axe axe-core@4)")
    return AXE.read_text(encoding="utf-8")


@dataclass
class Tab:
    """One browser context with one page, recording every request it makes."""

    context: BrowserContext
    page: Page
    live: LiveApp
    requests: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.live.url + path)

    def t(self, message: str, **values: object) -> str:
        """``message`` in the language the current page is in."""
        return self.live.text(self.lang(), message, **values)

    def lang(self) -> str:
        return self.page.locator("html").get_attribute("lang") or ""

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(self.live.origin + "/")]


@pytest.fixture
def open_tab(browser: Browser, live_app: LiveApp) -> Iterator[Callable[..., Tab]]:
    """Factory of tabs on the live app; ``javascript=False`` is the tipster's setting."""
    contexts = []

    def make(*, javascript: bool = False) -> Tab:
        context = browser.new_context(java_script_enabled=javascript, bypass_csp=javascript,
                                      viewport={"width": 1000, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = Tab(context, context.new_page(), live_app)
        # Context-wide, so that requests of any page or frame are seen.
        context.on("request", lambda request: tab.requests.append(request.url))
        return tab

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def tab(open_tab: Callable[..., Tab]) -> Tab:
    """A JavaScript-free tab, as the anonymity guide tells tipsters to browse."""
    return open_tab(javascript=False)


# Steps shared by the journey and the accessibility scan. They use accessible locators
# (role and name, label text), so each step also proves that the control is labelled.

def fill_report(tab: Tab, marker: str, *, exclude: str | None = "Erik Etik") -> None:
    """Fill the report form: category, agency, what happened, one file, one exclusion."""
    page = tab.page
    page.get_by_role("radio", name=tab.t("Breach of ethics rules"), exact=True).check()
    page.get_by_label(tab.t("Which agency is concerned?"), exact=True).select_option(
        "Skatteverket")
    page.get_by_label(tab.t("What happened?"), exact=True).fill(
        f"The head of unit hired a relative. {marker}")
    page.get_by_label(tab.t("Files (optional)"), exact=True).set_input_files(
        files=[{"name": f"evidence-{marker}.txt", "mimeType": "text/plain",
                "buffer": f"minutes of the meeting {marker}\n".encode()}])
    if exclude:
        page.get_by_role("checkbox", name=exclude, exact=True).check()


def send_report(tab: Tab) -> str:
    """Submit the filled form; return the receipt code shown once."""
    page = tab.page
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=tab.t("Send report"), exact=True).click()
    assert answer.value.status == 200, page.locator("h1").inner_text()
    return page.locator("#receipt-code").inner_text().strip()


def type_receipt(tab: Tab, typed: str) -> int:
    """Sign in with ``typed`` on the current login page; return the POST's status."""
    page = tab.page
    page.get_by_label(tab.t("Receipt code"), exact=True).fill(typed)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=tab.t("Sign in"), exact=True).click()
    page.wait_for_load_state()
    return answer.value.status


def unknown_receipt() -> str:
    """A well-formed receipt code (check characters agree) that no report has."""
    return crypto.generate_receipt()


def mistyped_receipt() -> str:
    """A receipt code whose last check character disagrees with the rest."""
    code = crypto.generate_receipt()
    return code[:-1] + ("0" if code[-1] != "0" else "1")


# What a tipster may type instead of their receipt code, by the sign-in error it must
# get: each has a page of its own (the journey checks them, the accessibility scan too).
WRONG_RECEIPTS = {"malformed": "hello", "typo": mistyped_receipt(), "unknown": unknown_receipt()}


# --- casework pages (each journey defines ``sites``, a casework_sites.Sites) -----------


@pytest.fixture
def viewport() -> ViewportSize:
    """The size of every page ``new_page`` makes; a module may override it."""
    return {"width": 1000, "height": 900}


@pytest.fixture
def new_page(browser: Browser, sites: Sites,
             viewport: ViewportSize) -> Iterator[Callable[..., Page]]:
    """Factory of casework pages, each in its own context (own cookies), all recorded in ``sites``.

    JavaScript is on unless ``javascript=False``; with it on the CSP is bypassed (axe is a
    script), so "no script ran" proves the escaping and the sanitiser themselves. Casework
    is Swedish by default: the page starts in ``lang`` (English unless told). Cookies ignore
    ports, so intake sees the choice too.
    """
    contexts: list[BrowserContext] = []

    def dialog(opened: Dialog) -> None:
        sites.dialogs.append(opened.message)
        opened.dismiss()

    def make(*, javascript: bool = True, lang: str = "en") -> Page:
        context = browser.new_context(java_script_enabled=javascript, bypass_csp=javascript,
                                      viewport=viewport)
        context.set_default_timeout(15_000)
        context.add_cookies([{"name": "lang", "value": lang, "url": sites.casework_url},
                             {"name": "lang", "value": lang, "url": sites.intake.url}])
        contexts.append(context)
        context.on("request", lambda request: sites.requests.append(request.url))
        context.on("dialog", dialog)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in_staff(page: Page, sites: Sites, name: str) -> Page:
    """Sign ``name`` of ``sites``' staff in at casework on ``page`` (in English)."""
    staff = sites.linked.staff[name]
    page.goto(sites.casework_url + "/login")
    page.get_by_label("User name", exact=True).fill(staff.username)
    page.get_by_label("Password", exact=True).fill(staff.password)
    page.get_by_label("Code from your authenticator app", exact=True).fill(
        staff.code(sites.linked.casework))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert answer.value.status == 302
    return page


@pytest.fixture
def signed_in(new_page: Callable[..., Page], sites: Sites) -> Callable[[str], Page]:
    """A page in a context of its own, signed in as ``name`` (English to start with)."""
    return lambda name: sign_in_staff(new_page(), sites, name)
