"""Separation of duties: every route by every role, written out by hand.

The expected matrix below is independent of casework/permissions.py: the test signs in
as each role and calls each route. It also enumerates the app's url_map, so a route
added without a row here fails the suite.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask, g

import crypto
from casework import CaseworkConfig, create_app
from casework.models import Role
from casework.permissions import PERMISSIONS
from tests.support.casework import add_default_units
from tests.support.casework import enrol as enrol_in

from .conftest import EnglishClient, Staff, csrf, log_in

A, L, R, C, S, U = (Role.ADMINISTRATOR, Role.UNIT_LEAD, Role.REVIEWER, Role.CUSTODIAN,
                    Role.STATISTICIAN, Role.AUDITOR)
ALL = {A, L, R, C, S, U}

# endpoint: (method, path, roles allowed). "public" endpoints are reachable signed out.
EXPECTED: dict[str, tuple[str, str, set[Role] | str]] = {
    "static": ("GET", "/static/casework.css", "public"),
    "assets.static": ("GET", "/assets/lykta.css", "public"),
    "auth.login": ("GET", "/login", "public"),
    "language.switch": ("GET", "/language/en", "public"),
    "auth.enrol": ("GET", "/enrol", "pending"),
    "auth.logout": ("POST", "/logout", ALL),
    "home.index": ("GET", "/", ALL),
    "admin.users": ("GET", "/admin/users", {A}),
    "admin.create_user": ("POST", "/admin/users", {A}),
    "admin.reset_password": ("POST", "/admin/users/nobody/reset", {A}),
    "admin.directory": ("GET", "/admin/directory", {A}),
    "cases.index": ("GET", "/cases/", {L, R}),
    "cases.show": ("GET", f"/cases/{'0' * 32}", {L, R}),
    "cases.reply": ("POST", f"/cases/{'0' * 32}/reply", {L, R}),
    "cases.note": ("POST", f"/cases/{'0' * 32}/notes", {L, R}),
    "cases.download": ("GET", f"/cases/{'0' * 32}/files/{'1' * 32}", {L, R}),
    "cases.assign": ("POST", f"/cases/{'0' * 32}/assign", {L}),
    # --- triage, stages, links, feedback (casework/views/workflow.py) ---
    "workflow.triage": ("POST", f"/cases/{'0' * 32}/triage", {L, R}),
    "workflow.transition": ("POST", f"/cases/{'0' * 32}/stage", {L, R}),
    "workflow.link": ("POST", f"/cases/{'0' * 32}/links", {L, R}),
    "workflow.unlink": ("POST", f"/cases/{'0' * 32}/links/{'1' * 32}/remove", {L, R}),
    "workflow.merge": ("POST", f"/cases/{'0' * 32}/merge", {L}),
    # --- assignment, handover, escalation, referral (casework/views/handling.py) ---
    "handling.unassign": ("POST", f"/cases/{'0' * 32}/unassign", {L}),
    "handling.transfer": ("POST", f"/cases/{'0' * 32}/transfer", {L}),
    "handling.escalate": ("POST", f"/cases/{'0' * 32}/escalate", {L}),
    "handling.refer": ("POST", f"/cases/{'0' * 32}/refer", {L}),
    "handling.handover": ("GET", "/handover", {L}),
    "handling.handover_submit": ("POST", "/handover", {L}),
    # --- conflicts of interest and rekeying (casework/views/conflicts.py) ---
    "conflicts.declare": ("POST", f"/conflicts/{'0' * 32}/declare", {L, R}),
    "conflicts.rekey": ("POST", f"/conflicts/{'0' * 32}/rekey", {L, R}),
    "conflicts.index": ("GET", "/conflicts/", {L}),
    # --- the audit log (casework/views/audit.py) ---
    "audit.index": ("GET", "/audit/", {U}),
    "audit.export": ("GET", "/audit/export?format=csv", {U}),
    "audit.verify": ("GET", "/audit/verify", {U}),
    "audit.verify_now": ("POST", "/audit/verify", {U}),
    # --- identities under four eyes (casework/views/identity.py) ---
    "identity.request": ("POST", f"/cases/{'0' * 32}/identity/requests", {L, R}),
    "identity.withdraw": ("POST", f"/identity/requests/{'1' * 32}/withdraw", {L, R}),
    "identity.read": ("GET", f"/identity/requests/{'1' * 32}", {L, R}),
    "identity.queue": ("GET", "/identity/requests/", {C}),
    "identity.decide": ("POST", f"/identity/requests/{'1' * 32}/decide", {C}),
    # --- oral reports (casework/views/oral.py) ---
    "oral.new": ("GET", "/oral/new", {L, R}),
    "oral.create": ("POST", "/oral/new", {L, R}),
    "oral.minutes": ("POST", f"/cases/{'0' * 32}/minutes", {L, R}),
    # --- deadlines (casework/views/deadlines.py) ---
    "deadlines.extend": ("POST", f"/cases/{'0' * 32}/deadline/extend", {L, R}),
    "admin.set_email": ("POST", "/admin/users/nobody/email", {A}),
    # --- retention (casework/views/retention.py) ---
    "retention.index": ("GET", "/retention/", {A, L}),
    "retention.hold": ("POST", f"/cases/{'0' * 32}/hold", {L}),
    "retention.lift": ("POST", f"/holds/{'1' * 32}/lift", {L}),
    "retention.unit": ("POST", "/retention/units/etik", {A}),
    # --- KOF statistics (casework/views/statistics.py) ---
    "statistics.dashboard": ("GET", "/statistics/", {S}),
    "statistics.export": ("GET", "/statistics/export?format=csv", {S}),
    "statistics.releases": ("GET", "/statistics/releases/", {S}),
    "statistics.publish": ("POST", "/statistics/releases/", {S}),
    "statistics.release": ("GET", f"/statistics/releases/{'1' * 32}", {S}),
    "statistics.release_pdf": ("GET", f"/statistics/releases/{'1' * 32}/report.pdf", {S}),
    "statistics.tokens": ("GET", "/statistics/tokens/", {S}),
    "statistics.token_create": ("POST", "/statistics/tokens/", {S}),
    "statistics.token_revoke": ("POST", f"/statistics/tokens/{'1' * 32}/revoke", {S}),
    # --- the statistics API (casework/views/api.py): public, token checked in the view ---
    "api.openapi": ("GET", "/api/v1/openapi.json", "public"),
    "api.releases": ("GET", "/api/v1/releases", "public"),
    "api.release": ("GET", f"/api/v1/releases/{'1' * 32}", "public"),
    # --- health and readiness (common/health.py) ---
    "health.live": ("GET", "/healthz", "public"),
    "health.ready": ("GET", "/readyz", "public"),
    # --- background jobs (casework/views/jobs.py) ---
    "jobs.failed": ("GET", "/admin/jobs/", {A}),
    "jobs.retry": ("POST", f"/admin/jobs/{'1' * 32}/retry", {A}),
    "jobs.discard": ("POST", f"/admin/jobs/{'1' * 32}/discard", {A}),
}


def test_every_route_of_the_app_has_an_expected_row(casework: Flask) -> None:
    endpoints = {rule.endpoint for rule in casework.url_map.iter_rules()}
    assert endpoints == set(EXPECTED), "a route was added or removed: decide who may use it"
    assert set(PERMISSIONS) == endpoints


@pytest.fixture(scope="module")
def shared_casework(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One app for the whole matrix: building one per case (migrations included) cost
    more than a second each, for some 300 cases. Each case still signs in a person of
    its own (a fresh account, so no TOTP step is ever waited for), and the routes are
    called with ids that name nothing, so no case changes what another sees."""
    folder = tmp_path_factory.mktemp("permissions")
    app = create_app(CaseworkConfig(
        instance_path=folder, database_url=f"sqlite:///{folder / 'casework.sqlite'}",
        secret_key=b"c" * 32, signing_key_path=folder / "casework-signing.seed",
        argon2=crypto.INSECURE_FAST))
    app.config["TESTING"] = True
    app.test_client_class = EnglishClient
    add_default_units(app)
    return app


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize("endpoint", sorted(e for e, v in EXPECTED.items()
                                            if not isinstance(v[2], str)))
def test_route_by_role(shared_casework: Flask, role: Role, endpoint: str) -> None:
    casework = shared_casework
    unit = "kof" if role in (S, U) else "etik"
    name = re.sub(r"[^a-z0-9]+", "-", f"{role.value}-{endpoint}")[:60]
    staff = enrol_in(casework, name, role, unit)
    client = casework.test_client()
    log_in(casework, client, staff)
    method, path, allowed = EXPECTED[endpoint]
    token = csrf(client, "/")
    with client:  # keeps the request context, so g shows who refused
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": token})
        refused_by_table = bool(g.get("refused_by_table"))
    assert response.status_code < 500
    if role in allowed:
        # The route may still refuse (e.g. no such case): but not the permission table.
        assert not refused_by_table, f"{role} refused {endpoint}"
    else:
        assert response.status_code == 403 and refused_by_table, f"{role} reached {endpoint}"


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_signed_out_visitors_reach_only_public_routes(shared_casework: Flask,
                                                      endpoint: str) -> None:
    method, path, allowed = EXPECTED[endpoint]
    client = shared_casework.test_client()
    response = client.get(path) if method == "GET" else client.post(path, data={})
    if allowed == "public":
        # The language switch answers with a redirect back to the page it was used on; the
        # API's data routes need a token (checked in the view), not a staff session.
        expected = {"language.switch": 302, "api.releases": 401, "api.release": 401}
        assert response.status_code == expected.get(endpoint, 200)
    else:
        assert response.status_code in (400, 401)  # 400: CSRF refused before anything else


def test_an_endpoint_missing_from_the_table_is_refused_for_everyone(
    make_casework: Callable[..., Flask], enrol: Callable[..., Staff], casework: Flask
) -> None:
    @casework.get("/forgotten")
    def forgotten() -> str:
        return "should never be reached"

    admin = enrol("admin", A)
    client = casework.test_client()
    log_in(casework, client, admin)
    assert client.get("/forgotten").status_code == 403
