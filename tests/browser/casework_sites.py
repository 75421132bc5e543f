"""Casework and intake, linked, on real sockets: shared by the casework browser tests.

``serving`` and ``Sites`` serve the ``linked`` fixture's apps (tests/browser/
test_casework.py, one pair per test). ``link_apps`` builds such a pair from the same
support functions in a folder of the caller's choosing, so that a module can keep one
pair for all its tests (the accessibility sweep: tests/browser/
test_casework_accessibility.py).

The journeys share axe-core's scans (``scan``, ``axe_clean``) from here, and the
``new_page`` and ``signed_in`` fixtures from tests/browser/conftest.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

import crypto
from casework import CaseworkConfig, create_app
from casework.models import Role
from common.serve import build_server
from intake.services import Intake

# The conftest first: it imports tests.casework.linked, which imports it back.
from tests.casework.conftest import Staff, services
from tests.casework.linked import Linked
from tests.support.casework import add_default_units, enrol, link_intake

from .conftest import LiveApp
from .test_intake_accessibility import TAGS, render

if TYPE_CHECKING:
    from playwright.sync_api import Page

# As tests/browser/test_intake_accessibility.py runs axe, but with full details for the
# violations only: axe does less work for the passes, and the sweep runs ~90 scans.
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  const brief = (items) => items.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target, html: n.html, summary: n.failureSummary})),
  }));
  return {violations: brief(result.violations), incomplete: brief(result.incomplete),
          passes: result.passes.length, version: axe.version};
}"""


@contextmanager
def serving(app: Flask, name: str) -> Iterator[str]:
    """Serve ``app`` on a free port in a daemon thread; yield its base URL."""
    server = build_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Sites:
    """The linked apps on real sockets, and what every browser context did."""

    linked: Linked
    intake: LiveApp
    casework_url: str
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        origins = (self.intake.origin + "/", self.casework_url + "/")
        return [url for url in self.requests if not url.startswith(origins)]


@contextmanager
def serving_linked(linked: Linked) -> Iterator[Sites]:
    """Both apps of ``linked`` served on free local ports."""
    intake_services: Intake = linked.intake.extensions["lykta.intake"]
    with serving(linked.intake, "intake-live") as intake_url, \
            serving(linked.casework, "casework-live") as casework_url:
        yield Sites(linked, LiveApp(linked.intake, intake_url, intake_services.config),
                    casework_url)


def link_apps(folder: Path, staff: dict[str, tuple[Role, str]],
              argon2: crypto.Argon2Params = crypto.INSECURE_FAST) -> Linked:
    """A casework app in ``folder`` with its units and ``staff`` (name: role, unit) enrolled,
    and an intake app linked to it (its directory lists them), as the ``linked`` fixture
    builds them (tests/casework/conftest.py, tests/casework/linked.py)."""
    escrow = crypto.generate_escrow_key()
    casework = create_app(CaseworkConfig(
        instance_path=folder, database_url=f"sqlite:///{folder / 'casework.sqlite'}",
        secret_key=b"c" * 32, signing_key_path=folder / "casework-signing.seed",
        argon2=argon2, escrow_public_key=escrow.public_key.raw))
    casework.config["TESTING"] = True
    services(casework).db.engine  # noqa: B018 (engine is created eagerly)
    add_default_units(casework)
    enrolled: dict[str, Staff] = {name: enrol(casework, name, role, unit)
                                  for name, (role, unit) in staff.items()}
    intake, signing = link_intake(casework, folder / "intake", escrow, argon2)
    intake.config["TESTING"] = True
    return Linked(intake, casework, enrolled, escrow, signing)


def scan(page: Page, axe_source: str) -> dict[str, Any]:
    """axe-core's findings on ``page`` as it is (WCAG 2.1 A/AA)."""
    page.add_script_tag(content=axe_source)
    result: dict[str, Any] = page.evaluate(AXE_RUN, TAGS)
    assert result["passes"] > 0, f"axe checked nothing on {page.url}: is the page empty?"
    return result


def axe_clean(page: Page, sites: Sites, axe_source: str, what: str) -> None:
    """axe-core finds nothing on the page in Swedish and in English (reloaded in each)."""
    for lang in ("sv", "en"):
        page.context.add_cookies([{"name": "lang", "value": lang, "url": sites.casework_url}])
        answer = page.reload()
        assert answer is not None and answer.status == 200, what
        assert page.locator("html").get_attribute("lang") == lang
        result = scan(page, axe_source)
        assert not result["violations"], f"{what} ({lang}):\n{render(result['violations'])}"
