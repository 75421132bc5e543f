"""axe-core on every intake page, in Swedish and English: WCAG 2.0/2.1 A and AA.

axe is a script, and the tipster's pages allow none (CSP ``default-src 'none'``), so the
scan runs in its own context with JavaScript on and the CSP bypassed. Pages are reached
as a tipster reaches them (forms filled and posted); the dialogue is opened with the
cookies of a JavaScript-free context that signed in, as in the journey test.

A violation that is known and waiting for a template fix is listed in ``KNOWN`` with its
rule id: that page then xfails, naming the rule. Once fixed, the page passes and the entry
must be removed (the check is strict, so a stale entry fails).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import WRONG_RECEIPTS, Tab, fill_report, send_report, type_receipt

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# page name -> {rule id: what to fix}. Empty: no known violations.
KNOWN: dict[str, dict[str, str]] = {}

AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  const brief = (items) => items.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target, html: n.html, summary: n.failureSummary})),
  }));
  return {violations: brief(result.violations), incomplete: brief(result.incomplete),
          passes: result.passes.length, version: axe.version};
}"""


def render(findings: list[dict[str, Any]]) -> str:
    lines = []
    for rule in findings:
        lines.append(f"- {rule['id']} ({rule['impact']}): {rule['help']} <{rule['helpUrl']}>")
        for node in rule["nodes"]:
            lines.append(f"    at {json.dumps(node['target'])}: {node['html'][:200]}")
            for line in (node["summary"] or "").splitlines():
                lines.append(f"      {line}")
    return "\n".join(lines)


Reach = Callable[[Tab, Callable[..., Tab]], Any]


def _post_empty_report(tab: Tab, _open: Callable[..., Tab]) -> None:
    tab.goto("/submit")
    tab.page.get_by_role("button", name=tab.t("Send report"), exact=True).click()
    expect(tab.page.get_by_role("alert")).to_be_visible()


def _receipt(tab: Tab, _open: Callable[..., Tab]) -> str:
    tab.goto("/submit")
    fill_report(tab, secrets.token_hex(4))
    return send_report(tab)


def _login_with(typed: str) -> Reach:
    def reach(tab: Tab, _open: Callable[..., Tab]) -> None:
        tab.goto("/login")
        type_receipt(tab, typed)
    return reach


def _signed_in(tab: Tab, open_tab: Callable[..., Tab]) -> None:
    """Report and sign in without JavaScript, then carry the cookies over."""
    plain = open_tab(javascript=False)
    plain.context.add_cookies(tab.context.cookies())  # the language choice
    receipt = _receipt(plain, open_tab)
    plain.goto("/login")
    assert type_receipt(plain, receipt) == 302
    tab.context.add_cookies(plain.context.cookies())
    tab.goto("/dialogue")
    expect(tab.page.locator("#case-status")).to_be_visible()


def _dialogue_after_message(tab: Tab, open_tab: Callable[..., Tab]) -> None:
    _signed_in(tab, open_tab)
    tab.page.get_by_label(tab.t("Your message"), exact=True).fill("One more thing.")
    tab.page.get_by_role("button", name=tab.t("Send message"), exact=True).click()
    expect(tab.page.get_by_role("status")).to_be_visible()


def _dialogue_empty_message(tab: Tab, open_tab: Callable[..., Tab]) -> None:
    _signed_in(tab, open_tab)
    tab.page.get_by_role("button", name=tab.t("Send message"), exact=True).click()
    expect(tab.page.get_by_role("alert")).to_be_visible()


def _signed_out_notice(tab: Tab, open_tab: Callable[..., Tab]) -> None:
    _signed_in(tab, open_tab)
    tab.page.get_by_role("button", name=tab.t("Sign out"), exact=True).click()
    expect(tab.page.get_by_role("status")).to_be_visible()


PAGES: dict[str, Reach] = {
    "landing": lambda tab, _: tab.goto("/"),
    "anonymity": lambda tab, _: tab.goto("/anonymity"),
    "submit-empty": lambda tab, _: tab.goto("/submit"),
    "submit-errors": _post_empty_report,
    "receipt": _receipt,
    "login": lambda tab, _: tab.goto("/login"),
    "login-empty": _login_with(""),
    **{f"login-{name}": _login_with(typed) for name, typed in WRONG_RECEIPTS.items()},
    "dialogue": _signed_in,
    "dialogue-after-message": _dialogue_after_message,
    "dialogue-empty-message": _dialogue_empty_message,
    "signed-out-notice": _signed_out_notice,
    "signed-out-dialogue": lambda tab, _: tab.goto("/dialogue"),
    "not-found": lambda tab, _: tab.goto("/no-such-page"),
}


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_wcag_violations(open_tab: Callable[..., Tab], axe_source: str,
                                     name: str, lang: str) -> None:
    tab = open_tab(javascript=True)
    tab.context.add_cookies([{"name": "lang", "value": lang, "url": tab.live.url}])
    PAGES[name](tab, open_tab)
    assert tab.lang() == lang, name

    tab.page.add_script_tag(content=axe_source)
    result = tab.page.evaluate(AXE_RUN, TAGS)
    assert result["passes"] > 0, "axe checked nothing: is the page empty?"
    assert tab.foreign_requests() == []

    if result["incomplete"]:  # "needs review": shown with -rP or on failure, not a failure
        print(f"axe needs review on {name} ({lang}):\n{render(result['incomplete'])}")
    found = {rule["id"] for rule in result["violations"]}
    known = KNOWN.get(name, {})
    report = (f"axe-core {result['version']} on {name} ({lang}, {tab.page.url}):\n"
              f"{render(result['violations'])}")
    if found and found <= set(known):
        pytest.xfail("; ".join(f"{rule}: {known[rule]}" for rule in sorted(found)))
    assert not found, report
    stale = set(known) - found
    assert not stale, f"{name}: {sorted(stale)} no longer found: remove it from KNOWN"


def test_the_scan_does_find_violations(open_tab: Callable[..., Tab], axe_source: str) -> None:
    """The harness itself: a page with an unlabelled field and no language must fail."""
    tab = open_tab(javascript=True)
    tab.page.set_content("<!doctype html><title>t</title><main><input type=text></main>")
    tab.page.add_script_tag(content=axe_source)
    result = tab.page.evaluate(AXE_RUN, TAGS)
    found = {rule["id"] for rule in result["violations"]}
    assert {"label", "html-has-lang"} <= found, render(result["violations"])
