"""axe-core on every casework page, for every role, in Swedish and English: WCAG 2.1 A/AA.

One linked pair of apps serves the whole module (two synced reports: an ethics case read
by the reviewer, a corruption case read by the unit lead). Each role signs in once, in its
own browser context, and the pages it may GET are scanned in a loop, once per language
(the ``lang`` cookie). Forms are found by their action and fields by their id, so the
same steps hold in both languages.

The list of pages is not written by hand: every GET endpoint of casework's url_map is
visited by each role the permission table allows it to (``casework.permissions``), with
its URL built from the values in ``ARGUMENTS`` (a case id is the role's synced case).
On top come the states a plain GET does not reach (filters, flashed notices, form
errors, the error pages). ``test_every_page_is_swept`` fails when an endpoint would be
left out (nobody we sign in may GET it, or its URL needs a value ``ARGUMENTS`` lacks), so
a page added later cannot ship without a scan.

axe runs with JavaScript on and the CSP bypassed (casework's pages allow no script).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from flask import url_for
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Response
from sqlalchemy import select
from werkzeug.routing import Rule

import crypto
from casework.accounts import create_user
from casework.identity import decide, request_identity
from casework.models import Case, ReleaseKind, ReporterNotice, Role, User
from casework.permissions import PENDING, PERMISSIONS, PUBLIC
from casework.statistics import releases
from casework.statistics.periods import Period
from tests.casework.test_identity import CONTACT, NAME, in_custody
from tests.intake.conftest import submit
from tests.support.casework import Staff, csrf, log_in, services

from .casework_sites import Linked, Sites, link_apps, scan, serving_linked
from .test_intake_accessibility import render

LANGUAGES = ["sv", "en"]

# Who signs in, by the name the tests use for them: one account per role.
ROSTER: dict[str, tuple[Role, str]] = {
    "reviewer": (Role.REVIEWER, "etik"),
    "unit_lead": (Role.UNIT_LEAD, "akt"),
    "custodian": (Role.CUSTODIAN, "kof"),
    "administrator": (Role.ADMINISTRATOR, "kof"),
    "statistician": (Role.STATISTICIAN, "kof"),
    "auditor": (Role.AUDITOR, "kof"),
}
# Enrolled but never signed in here: an akt reviewer who declares a conflict of interest
# on the lead's case, so that the lead's list of flagged cases and the case's conflict
# section have something to show.
DECLARER = "declarer"
# An etik reviewer whose identity request waits, so that the custodian's queue shows a
# decision form (both reports are confidential; the reviewer's and the lead's own
# requests are approved, so their identity pages can be read).
ASKER = "asker"
OTHERS: dict[str, tuple[Role, str]] = {DECLARER: (Role.REVIEWER, "akt"),
                                       ASKER: (Role.REVIEWER, "etik")}
# Not signed in, and signed in with a password but not enrolled yet.
VISITOR, NEWCOMER = "visitor", "newcomer"
ACCOUNTS = [VISITOR, NEWCOMER, *ROSTER]

# GET endpoints that are no page: files, stylesheets, the language switch (a redirect),
# the statistics API (JSON for machines; tests/casework/test_statistics_api.py), the
# health probes (text and JSON for load balancers; tests/casework/test_health.py).
NOT_PAGES = {"static", "assets.static", "language.switch", "api.openapi", "api.releases",
             "api.release", "health.live", "health.ready"}
# Downloads answer with a file (Content-Disposition: attachment), never a page.
DOWNLOADS = {"cases.download", "audit.export", "statistics.export",
             "statistics.release_pdf"}

# The category each unit's synced case is reported under.
CATEGORY_OF_UNIT = {"etik": "ethics", "akt": "corruption"}


@dataclass
class World:
    """The served apps, the synced cases and a signed-in browser context per account."""

    sites: Sites
    case_of_unit: dict[str, str]
    contexts: dict[str, BrowserContext] = field(default_factory=dict)
    request_of: dict[str, str] = field(default_factory=dict)  # an approved identity request
    release_id: str = ""  # a published statistics release (the previous quarter)

    @property
    def url(self) -> str:
        return self.sites.casework_url

    def case_for(self, account: str) -> str:
        """The case this account reads (a reader's unit's), else the ethics case."""
        unit = ROSTER[account][1] if account in ROSTER else "etik"
        return self.case_of_unit.get(unit, self.case_of_unit["etik"])


# How to fill each URL argument a GET endpoint may have, for a given account.
ARGUMENTS: dict[str, Callable[[World, str], str]] = {
    "case_id": lambda world, account: world.case_for(account),
    "request_id": lambda world, account: world.request_of[account],
    "release_id": lambda world, account: world.release_id,
}


def post_form(page: Page, form: str, fields: dict[str, str] | None = None) -> int:
    """Fill ``fields`` (by id) of the form matching the CSS selector ``form``, submit it
    with its own button, return the POST's status."""
    scope = page.locator(form)
    for name, value in (fields or {}).items():
        scope.locator(f"#{name}").fill(value)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        scope.locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    return answer.value.status


def go(page: Page, url: str) -> int:
    response: Response | None = page.goto(url)
    assert response is not None, url
    return response.status


def sign_in(page: Page, world: World, staff: Staff) -> int:
    go(page, world.url + "/login")
    return post_form(page, "form[action$='/login']", {
        "username": staff.username, "password": staff.password,
        "code": staff.code(world.sites.linked.casework)})


# --- the sweep's plan ----------------------------------------------------------------


def get_endpoints(world: World) -> dict[str, Rule]:
    """Every endpoint casework answers a GET on, but for files and the language switch."""
    app = world.sites.linked.casework
    return {rule.endpoint: rule for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or ()) and rule.endpoint not in NOT_PAGES | DOWNLOADS}


def may_get(account: str, endpoint: str) -> bool:
    rule = PERMISSIONS.get(endpoint)
    if account == VISITOR:
        return rule == PUBLIC
    if account == NEWCOMER:
        return rule == PENDING
    return isinstance(rule, frozenset) and ROSTER[account][0] in rule


def endpoint_url(world: World, account: str, rule: Rule) -> str | None:
    """The URL of ``rule`` for ``account``, or None if an argument has no value."""
    if not set(rule.arguments) <= set(ARGUMENTS):
        return None
    values: dict[str, Any] = {name: ARGUMENTS[name](world, account) for name in rule.arguments}
    with world.sites.linked.casework.test_request_context():
        return world.url + url_for(rule.endpoint, **values)


Reach = Callable[[Page, World], int]


def get(path: str) -> Reach:
    return lambda page, world: go(page, world.url + path)


def case_path(account: str, suffix: str = "") -> Reach:
    return lambda page, world: go(page, f"{world.url}/cases/{world.case_for(account)}{suffix}")


def _without_csrf(page: Page, world: World) -> int:
    """A form posted without its CSRF token: the app's 400 page."""
    go(page, world.url + "/")
    page.eval_on_selector("form[action$='/logout'] input[name=csrf_token]", "e => e.remove()")
    return post_form(page, "form[action$='/logout']")


def _forbidden(account: str) -> Reach:
    """A page of another role: the 403 page."""
    other = "/admin/users" if ROSTER[account][0] is not Role.ADMINISTRATOR else "/cases/"
    return get(other)


def _with_note(account: str) -> Reach:
    def reach(page: Page, world: World) -> int:
        if (status := case_path(account)(page, world)) != 200:
            return status
        return post_form(page, "form[action$='/notes']",
                         {"note-text": f"A note {secrets.token_hex(3)}"})
    return reach


def _triaged(account: str) -> Reach:
    """Triage saved: a notice, a label with its remove button, the timeline's entry."""
    def reach(page: Page, world: World) -> int:
        if (status := case_path(account)(page, world)) != 200:
            return status
        return post_form(page, "#triage-form", {"triage-add-label": "follow-up"})
    return reach


def _held(account: str) -> Reach:
    """A legal hold placed: the case's retention section lists it, with its lift button."""
    def reach(page: Page, world: World) -> int:
        if (status := case_path(account)(page, world)) != 200:
            return status
        return post_form(page, "#hold-form", {"hold-reason": "Court proceedings"})
    return reach


def _release_published(page: Page, world: World) -> int:
    """A release published from the form: the report page with its notice."""
    go(page, world.url + "/statistics/releases/")
    return post_form(page, "#publish-form")


def _token_created(page: Page, world: World) -> int:
    go(page, world.url + "/statistics/tokens/")
    return post_form(page, "#token-form", {"token-name": "Transparensportalen"})


def _user_created(page: Page, world: World) -> int:
    go(page, world.url + "/admin/users")
    return post_form(page, "form[action$='/admin/users']", {
        "username": f"new{secrets.token_hex(3)}", "display_name": "Ny Person"})


def _user_form_errors(page: Page, world: World) -> int:
    go(page, world.url + "/admin/users")
    return post_form(page, "form[action$='/admin/users']", {"username": "Not Valid!"})


def _login_errors(page: Page, world: World) -> int:
    go(page, world.url + "/login")
    return post_form(page, "form[action$='/login']")


def _sign_in_failed(page: Page, world: World) -> int:
    go(page, world.url + "/login")
    return post_form(page, "form[action$='/login']", {
        "username": "nobody", "password": "not the password", "code": "123456"})


def _enrol_errors(page: Page, world: World) -> int:
    go(page, world.url + "/enrol")
    return post_form(page, "form[action$='/enrol']", {"code": "12"})


def _oral_recorded(page: Page, world: World) -> int:
    """An oral report recorded: the receipt page shown once (casework.oral)."""
    go(page, world.url + "/oral/new")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return post_form(page, "#oral-form", {"held_on": today,
                                          "summary": "Told by phone (A11Y-ORAL)."})


def _oral_form_errors(page: Page, world: World) -> int:
    go(page, world.url + "/oral/new")
    return post_form(page, "#oral-form", {"held_on": "", "summary": ""})


def extra_states(account: str) -> dict[str, tuple[Reach, int]]:
    """States of pages that a plain GET of an endpoint does not show: name -> (how, status).

    The error pages are one template: every signed-in account sees it once (its menu
    differs by role), the reviewer sees all three statuses. States the lead shares with
    the reviewer (the empty inbox, the unknown case) are scanned for the reviewer only.
    """
    if account == VISITOR:
        return {"login-errors": (_login_errors, 400),
                "sign-in-failed": (_sign_in_failed, 401),
                "signed-out": (get("/cases/"), 401),
                "not-found": (get("/no-such-page"), 404)}
    if account == NEWCOMER:
        return {"enrol-errors": (_enrol_errors, 400)}
    states: dict[str, tuple[Reach, int]] = {"forbidden": (_forbidden(account), 403)}
    role, unit = ROSTER[account]
    if role is Role.REVIEWER:
        states |= {
            "not-found": (get("/no-such-page"), 404),
            "bad-request": (_without_csrf, 400),
            "inbox-empty": (get("/cases/?stage=concluded"), 200),
            "inbox-mine": (get("/cases/?mine=1"), 200),
            "case-unknown": (get("/cases/" + "0" * 32), 403),  # unknown or not theirs: alike
        }
    if role in (Role.REVIEWER, Role.UNIT_LEAD):
        states |= {
            "inbox-filtered": (get(f"/cases/?stage=received&sort=oldest&unit={unit}"), 200),
            "case-after-note": (_with_note(account), 302),
            "case-after-triage": (_triaged(account), 302),
            "oral-receipt": (_oral_recorded, 200),
            "oral-form-errors": (_oral_form_errors, 400),
        }
    if role is Role.UNIT_LEAD:
        states |= {"case-after-hold": (_held(account), 302)}
    if role is Role.AUDITOR:
        states |= {
            "audit-filtered": (get("/audit/?since=2000-01-01&text=sign"), 200),
            "audit-empty": (get("/audit/?until=2000-01-01"), 200),
            "audit-bad-filter": (get("/audit/?since=not-a-date"), 400),
            "audit-export-refused": (get("/audit/export?format=xml"), 400),
        }
    if role is Role.STATISTICIAN:
        # The token shown once (a POST's answer: 200), then listed with its revoke button.
        states |= {"token-created": (_token_created, 200)}
        states |= {"release-published": (_release_published, 302)}
    if role is Role.STATISTICIAN:
        # The dashboard filtered (slices of its tables) and refusing a malformed period.
        states |= {"statistics-filtered": (get("/statistics/?unit=etik&category=ethics"), 200),
                   "statistics-year": (get(f"/statistics/?period={dt.date.today().year}"), 200),
                   "statistics-bad-period": (get("/statistics/?period=2026-Q5"), 400)}
    if role is Role.ADMINISTRATOR:
        states |= {"users-created": (_user_created, 302),
                   "users-form-errors": (_user_form_errors, 400)}
    return states


def plan(world: World, account: str) -> dict[str, tuple[Reach, int]]:
    """Every page ``account`` is shown: its GET endpoints, then the extra states."""
    pages: dict[str, tuple[Reach, int]] = {}
    for endpoint, rule in sorted(get_endpoints(world).items()):
        if not may_get(account, endpoint):
            continue
        url = endpoint_url(world, account, rule)
        if url is not None:
            pages[endpoint] = ((lambda u: lambda page, _world: go(page, u))(url), 200)
    return pages | extra_states(account)


# --- fixtures --------------------------------------------------------------------------


def declare_conflict(linked: Linked, case_id: str) -> None:
    client = linked.casework.test_client()
    log_in(linked.casework, client, linked.staff[DECLARER])
    response = client.post(f"/conflicts/{case_id}/declare", data={
        "csrf_token": csrf(client, f"/cases/{case_id}"), "conflict-confirm": "y",
        "conflict-reason": "I know the head of unit."})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def identity_requests(linked: Linked, case_of_unit: dict[str, str]) -> dict[str, str]:
    """The reviewer's and the lead's identity requests, approved (the reporter's notice
    withheld, so no sync is needed); the asker's, waiting. Request ids by account."""
    app, found = linked.casework, {}
    for case_id in case_of_unit.values():
        in_custody(linked, case_id, custodians=("custodian",))  # as intake seals it
    for account, case_id in (("reviewer", case_of_unit["etik"]),
                             ("unit_lead", case_of_unit["akt"]), (ASKER, case_of_unit["etik"])):
        with app.app_context(), services(app).unit() as work:
            person = work.session.scalars(select(User).where(User.username == account)).one()
            found[account] = request_identity(services(app), work.session, person,
                                              linked.staff[account].key, case_id,
                                              "investigation-needs", "A witness is needed.")
    for account in ("reviewer", "unit_lead"):
        with app.app_context(), services(app).unit() as work:
            person = work.session.scalars(select(User).where(User.username == "custodian")).one()
            decide(services(app), work.session, person, linked.staff["custodian"].key,
                   found[account], True, "investigation-needs", "Needed.",
                   ReporterNotice.WITHHELD, "Telling would warn the person concerned.")
    return found


def publish_release(linked: Linked) -> str:
    """The statistician's release of the previous quarter, so its report can be scanned."""
    app = linked.casework
    with app.test_request_context(), services(app).unit() as work:
        person = work.session.scalars(select(User).where(User.username == "statistician")).one()
        return releases.publish(services(app), work.session, person, ReleaseKind.QUARTERLY,
                                Period.previous_quarter(dt.datetime.now(dt.UTC).date())).id


@pytest.fixture(scope="module")
def world(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    linked = link_apps(tmp_path_factory.mktemp("casework-a11y"), ROSTER | OTHERS)
    # Oral reports on (intake's test salt), so that /oral/new shows its form, not "off".
    services(linked.casework).config = replace(
        services(linked.casework).config, intake_receipt_salt=b"t" * 16,
        intake_receipt_argon2=crypto.INSECURE_FAST)
    client = linked.intake.test_client()
    for category in CATEGORY_OF_UNIT.values():
        submit(client, category=category, identity="confidential", name=NAME, contact=CONTACT)
    assert linked.sync()[0] == 2 * len(CATEGORY_OF_UNIT)  # each report, and its identity
    with services(linked.casework).db.session() as db:
        case_of_unit = {case.unit_id: case.id for case in db.scalars(select(Case))}
    assert set(case_of_unit) == set(CATEGORY_OF_UNIT), case_of_unit
    declare_conflict(linked, case_of_unit["akt"])
    requests = identity_requests(linked, case_of_unit)
    release_id = publish_release(linked)

    with serving_linked(linked) as sites:
        built = World(sites, case_of_unit, request_of=requests, release_id=release_id)
        yield built
        for context in built.contexts.values():
            context.close()


@pytest.fixture(scope="module")
def open_context(browser: Browser, world: World) -> Callable[[str], BrowserContext]:
    """The account's browser context, signed in (or enrolling) the first time it is asked."""

    def open_for(account: str) -> BrowserContext:
        if account in world.contexts:
            return world.contexts[account]
        context = browser.new_context(java_script_enabled=True, bypass_csp=True,
                                      viewport={"width": 1000, "height": 900})
        context.set_default_timeout(15_000)
        context.on("request", lambda request: world.sites.requests.append(request.url))
        context.on("dialog", lambda dialog: dismiss(world, dialog))
        page = context.new_page()
        if account == NEWCOMER:
            casework = world.sites.linked.casework
            with services(casework).db.session() as db:
                _, password = create_user(db, services(casework).config, username="nora",
                                          display_name="Nora Ny", unit_id="etik",
                                          role=Role.REVIEWER)
            staff = Staff("nora", password, "", None)
            go(page, world.url + "/login")
            status = post_form(page, "form[action$='/login']",
                               {"username": "nora", "password": password})
            assert status == 302 and page.url == world.url + "/enrol", page.url
        elif account != VISITOR:
            staff = world.sites.linked.staff[account]
            assert sign_in(page, world, staff) == 302, page.content()[:2000]
        world.contexts[account] = context
        return context

    return open_for


def dismiss(world: World, dialog: Dialog) -> None:
    world.sites.dialogs.append(dialog.message)
    dialog.dismiss()


# --- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("account", ACCOUNTS)
def test_every_page_has_no_wcag_violations(world: World, axe_source: str,
                                           open_context: Callable[[str], BrowserContext],
                                           account: str, lang: str) -> None:
    context = open_context(account)
    context.add_cookies([{"name": "lang", "value": lang, "url": world.url}])
    page = context.pages[0]
    failures: list[str] = []
    scanned = []
    for name, (reach, expected) in plan(world, account).items():
        status = reach(page, world)
        if status != expected:
            failures.append(f"{name}: answered {status}, expected {expected} ({page.url})")
            continue
        if (shown := page.locator("html").get_attribute("lang")) != lang:
            failures.append(f"{name}: the page is in {shown!r}, not {lang!r}")
        result = scan(page, axe_source)
        scanned.append(name)
        if result["incomplete"]:  # "needs review": shown with -rP, not a failure
            print(f"axe needs review on {name} ({lang}):\n{render(result['incomplete'])}")
        if result["violations"]:
            failures.append(f"{name} ({page.url}):\n{render(result['violations'])}")
    print(f"{account} ({lang}) scanned: {', '.join(scanned)}")
    assert not failures, f"axe-core as {account} in {lang}:\n" + "\n".join(failures)
    assert world.sites.foreign_requests() == []
    assert world.sites.dialogs == []


def test_every_page_is_swept(world: World) -> None:
    """Fail closed: each GET endpoint is scanned for some account, with a URL it can build."""
    endpoints = get_endpoints(world)
    swept = {endpoint for account in ACCOUNTS for endpoint in plan(world, account)}
    missing = {}
    for endpoint, rule in sorted(endpoints.items()):
        if endpoint in swept:
            continue
        readers = [a for a in ACCOUNTS if may_get(a, endpoint)]
        unknown = sorted(set(rule.arguments) - set(ARGUMENTS))
        missing[endpoint] = (f"{rule.rule}: " + (f"no value in ARGUMENTS for {unknown}"
                             if unknown else f"no account of ROSTER may GET it ({readers})"))
    assert not missing, ("pages the accessibility sweep would not scan (add them, or list "
                         f"a file download in DOWNLOADS): {missing}")
    rules = {rule.endpoint for rule in world.sites.linked.casework.url_map.iter_rules()}
    assert rules >= (NOT_PAGES | DOWNLOADS), "a stale entry in NOT_PAGES or DOWNLOADS"
    assert {role for role, _unit in ROSTER.values()} == set(Role)


def test_the_scan_does_find_violations(world: World, axe_source: str,
                                       open_context: Callable[[str], BrowserContext]) -> None:
    """The harness itself: a casework page given an unlabelled field must fail the scan."""
    page = open_context(VISITOR).pages[0]
    assert go(page, world.url + "/login") == 200
    page.eval_on_selector("main", "m => m.insertAdjacentHTML('beforeend', "
                                  "'<input type=text id=unlabelled>')")
    page.eval_on_selector("html", "h => h.removeAttribute('lang')")
    found = {rule["id"] for rule in scan(page, axe_source)["violations"]}
    assert {"label", "html-has-lang"} <= found, found
