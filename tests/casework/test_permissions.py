"""Separation of duties: every route by every role, written out by hand.

The expected matrix below is independent of casework/permissions.py: the test signs in
as each role and calls each route. It also enumerates the app's url_map, so a route
added without a row here fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask, g

from casework.models import Role
from casework.permissions import PERMISSIONS

from .conftest import Staff, csrf, log_in

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
}


def test_every_route_of_the_app_has_an_expected_row(casework: Flask) -> None:
    endpoints = {rule.endpoint for rule in casework.url_map.iter_rules()}
    assert endpoints == set(EXPECTED), "a route was added or removed: decide who may use it"
    assert set(PERMISSIONS) == endpoints


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize("endpoint", sorted(e for e, v in EXPECTED.items()
                                            if not isinstance(v[2], str)))
def test_route_by_role(casework: Flask, enrol: Callable[..., Staff], role: Role,
                       endpoint: str) -> None:
    unit = "kof" if role in (S, U) else "etik"
    staff = enrol(f"user-{role.value}", role, unit)
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
def test_signed_out_visitors_reach_only_public_routes(casework: Flask, endpoint: str) -> None:
    method, path, allowed = EXPECTED[endpoint]
    client = casework.test_client()
    response = client.get(path) if method == "GET" else client.post(path, data={})
    if allowed == "public":
        # The language switch answers with a redirect back to the page it was used on.
        assert response.status_code == (302 if endpoint == "language.switch" else 200)
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
