"""The open-data API: tokens (shown once, only a hash kept, revocable), the rate limit (in
process and on Redis), published releases only and never a case id, JSON errors, no
cookies, and schemathesis against the OpenAPI description the API serves."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import inspect, select, text

import crypto
from casework import CaseworkConfig, create_app
from casework.models import ApiToken, AuditEntry, Case, Role, StatisticsRelease, User
from casework.models.base import utcnow
from casework.statistics import api as api_domain
from casework.statistics import export, openapi
from casework.statistics.tables import TOTAL, ReleasedCell, ReleasedTable, Suppression
from casework.statistics.tokens import (
    TOKEN_SHAPE,
    TokenRefused,
    authenticate,
    create_token,
    digest,
)
from casework.views.api import LIMITER
from tests.support.casework import add_default_units
from tests.support.databases import stored_bytes

from .conftest import EnglishClient, Staff, csrf, log_in, services

# --- helpers -------------------------------------------------------------------------------


def new_token(app: Flask, name: str = "Transparensportalen") -> str:
    with app.app_context(), services(app).unit() as work:
        user = work.session.scalars(select(User)).first()
        assert user is not None, "enrol someone first"
        _row, token = create_token(work.session, user, name)
        return token


def released_document(period: str, kind: str) -> str:
    """A stored release's tables: S3's export schema when it is there, else its shape."""
    table = ReleasedTable(
        "received_by_category", ("corruption", "ethics"), (TOTAL,),
        {("corruption", TOTAL): ReleasedCell(12), ("ethics", TOTAL): ReleasedCell(
            None, Suppression.PRIMARY), (TOTAL, TOTAL): ReleasedCell(15)})
    try:
        from casework.statistics import export
    except ImportError:  # STAND-IN until casework.statistics.export lands
        return json.dumps({"schema": "lykta-statistics/1", "period": period, "kind": kind,
                           "k": 5, "protection": 5, "tables": [{
                               "id": table.id, "rows": list(table.rows),
                               "columns": list(table.columns),
                               "cells": [[r, c, v.value, v.suppressed]
                                         for (r, c), v in table.cells.items()]}]})
    return export.to_json([table], period=period, kind=kind, k=5, protection=5,
                          titles={table.id: "Reports received by category"})


def store_release(app: Flask, period: str = "2026-Q1", kind: str = "quarterly",
                  at: dt.datetime | None = None) -> StatisticsRelease:
    with services(app).db.session() as db:
        release = StatisticsRelease(kind=kind, period=period, k=5, protection=5,
                                    tables=released_document(period, kind), pattern="{}",
                                    released_at=at or utcnow())
        db.add(release)
        db.flush()
        db.expunge(release)
        return release


# A release as schema 1 stored it (count tables only): still served, and described.
SCHEMA_1_RELEASE = json.dumps({
    "schema": "lykta-statistics/1", "period": "2024", "kind": "annual", "k": 5,
    "protection": 5, "tables": [{"id": "received_by_unit", "title": "Reports",
                                 "rows": ["etik"], "columns": ["total"],
                                 "cells": [["etik", "total", 7, None],
                                           ["total", "total", 7, None]]}],
    "legend": {":c": "confidential"}})


def magnitudes_document() -> str:
    """A schema 2 release with durations (one group hidden) and sums of kronor."""
    from casework.statistics.disclosure import ReleasedDays

    sums = ReleasedTable("art27_damage_sek", ("etik", "akt"), (TOTAL,), {
        ("etik", TOTAL): ReleasedCell(302_000), ("akt", TOTAL): ReleasedCell(None),
        (TOTAL, TOTAL): ReleasedCell(None)})
    days = {"etik": ReleasedDays(6, 5, 7), "akt": ReleasedDays(None, None, None,
                                                               Suppression.PRIMARY),
            "kof": ReleasedDays(0, None, None), TOTAL: ReleasedDays(11, 5, 9)}
    return export.to_json([], period="2023", kind="annual", k=5, protection=5,
                          titles={"art27_damage_sek": "Damage"},
                          durations={"days_to_feedback": days}, amounts=[sums])


def store_text(app: Flask, period: str, kind: str, tables: str) -> None:
    with services(app).db.session() as db:
        db.add(StatisticsRelease(kind=kind, period=period, k=5, protection=5, tables=tables,
                                 pattern="{}", released_at=utcnow()))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(make_casework: Callable[..., Flask]) -> Flask:
    return make_casework(statistics_api_per_minute=1000)


@pytest.fixture
def statistician(app: Flask, enrol: Callable[..., Staff]) -> Staff:
    return enrol("stina", Role.STATISTICIAN, "kof")


@pytest.fixture
def signed_in(app: Flask, statistician: Staff) -> FlaskClient:
    client = app.test_client()
    log_in(app, client, statistician)
    return client


def create_in_page(client: FlaskClient, name: str = "Transparensportalen") -> str:
    response = client.post("/statistics/tokens/", data={
        "csrf_token": csrf(client, "/statistics/tokens/"), "token-name": name})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert "no-store" in response.headers["Cache-Control"]
    found = re.search(r'id="token-text">([^<]+)<', response.get_data(as_text=True))
    assert found is not None
    return found.group(1)


# --- tokens ----------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_only_its_hash_is_kept(app: Flask,
                                                         signed_in: FlaskClient) -> None:
    token = create_in_page(signed_in)
    assert TOKEN_SHAPE.fullmatch(token)
    page = signed_in.get("/statistics/tokens/").get_data(as_text=True)
    assert token not in page and "Transparensportalen" in page
    with services(app).db.session() as db:
        row = db.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        entry = db.scalars(select(AuditEntry).where(
            AuditEntry.action == "api_token_created")).one()
        assert json.loads(entry.details) == {"token_id": row.id}
        assert token not in entry.details and row.token_hash not in entry.details
    assert app.test_client().get("/api/v1/releases", headers=bearer(token)).status_code == 200


def test_the_token_is_never_in_the_database_or_the_logs(
        app: Flask, signed_in: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = create_in_page(signed_in)
    client = app.test_client()
    for path in ("/api/v1/releases", "/api/v1/releases/" + "0" * 32, "/api/v1/releases?after=x"):
        client.get(path, headers=bearer(token))
    client.get("/api/v1/releases", headers=bearer(token[:-1] + "A"))
    assert token not in caplog.text and token[6:] not in caplog.text
    # Every row (text) and, on SQLite, the file and its WAL as bytes.
    with services(app).db.session() as db:
        for table in inspect(db.connection()).get_table_names():
            for row in db.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 (names from the catalogue)
                assert not any(token[6:] in str(value) for value in row), table
    assert token[6:].encode() not in stored_bytes(services(app).config.database_url)


def test_a_revoked_token_is_refused(app: Flask, signed_in: FlaskClient) -> None:
    token = create_in_page(signed_in)
    client = app.test_client()
    assert client.get("/api/v1/releases", headers=bearer(token)).status_code == 200
    with services(app).db.session() as db:
        token_id = db.scalars(select(ApiToken.id)).one()
    revoke = f"/statistics/tokens/{token_id}/revoke"
    form = {"csrf_token": csrf(signed_in, "/statistics/tokens/")}
    assert signed_in.post(revoke, data=form).status_code == 302
    refused = client.get("/api/v1/releases", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "unauthorized"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert signed_in.post(revoke, data=form).status_code == 409  # revoked already
    assert signed_in.post(f"/statistics/tokens/{'f' * 32}/revoke", data=form).status_code == 404
    assert signed_in.post("/statistics/tokens/x/revoke", data=form).status_code == 404
    page = signed_in.get("/statistics/tokens/").get_data(as_text=True)
    assert revoke not in page  # no button for a revoked token


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token lykta_x",
    "Bearer lykta_" + "A" * 43,  # well-formed, unknown
    "Bearer lykta_" + "A" * 44, "Bearer " + "A" * 49, "Bearer lykta_" + "A" * 42 + "=",
    "Bearer lykta_" + "A" * 43 + " extra", "Bearer\tlykta_" + "A" * 43, "x" * 5000,
])
def test_a_missing_or_bad_header_is_401_in_json(app: Flask, statistician: Staff,
                                                header: str | None) -> None:
    new_token(app)
    headers = {} if header is None else {"Authorization": header}
    for path in ("/api/v1/releases", "/api/v1/releases/" + "0" * 32):
        response = app.test_client().get(path, headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/json"
        assert response.get_json() == {"error": "unauthorized", "message": response.get_json()[
            "message"]}


def test_the_scheme_is_case_insensitive(app: Flask, statistician: Staff) -> None:
    token = new_token(app)
    headers = {"Authorization": f"bearer {token}"}
    assert app.test_client().get("/api/v1/releases", headers=headers).status_code == 200


def test_last_used_is_written_at_most_once_a_minute(app: Flask, statistician: Staff) -> None:
    token = new_token(app)
    start = dt.datetime(2026, 5, 1, 12, 0, 0)
    with services(app).db.session() as db:
        row = authenticate(db, f"Bearer {token}", now=start)
        assert row.last_used_at == start
        authenticate(db, f"Bearer {token}", now=start + dt.timedelta(seconds=59))
        assert row.last_used_at == start
        later = start + dt.timedelta(seconds=61)
        authenticate(db, f"Bearer {token}", now=later)
        assert row.last_used_at == later
        with pytest.raises(TokenRefused):
            authenticate(db, "Bearer lykta_" + "B" * 43)


def test_token_pages_escape_names_and_refuse_bad_forms(app: Flask,
                                                       signed_in: FlaskClient) -> None:
    create_in_page(signed_in, "<script>alert(1)</script>")
    page = signed_in.get("/statistics/tokens/").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    assert signed_in.post("/statistics/tokens/", data={"token-name": "x"}).status_code == 400
    token = csrf(signed_in, "/statistics/tokens/")
    for name in ("", "   ", "x" * 101):
        response = signed_in.post("/statistics/tokens/", data={"csrf_token": token,
                                                              "token-name": name})
        assert response.status_code == 400
    with services(app).db.session() as db:
        assert len(db.scalars(select(ApiToken)).all()) == 1
    assert digest("a") != digest("b")


# --- the rate limit --------------------------------------------------------------------------


def fixed_clock(app: Flask, token: str, at: list[float]) -> None:
    """Build the app's limiter (one request) and then pin its clock to ``at[0]``."""
    app.test_client().get("/api/v1/releases", headers=bearer(token))
    app.extensions[LIMITER].clock = lambda: at[0]


def test_over_the_rate_is_429_per_token_in_process(make_casework: Callable[..., Flask],
                                                   enrol: Callable[..., Staff]) -> None:
    app = make_casework(statistics_api_per_minute=3)
    enrol("stina", Role.STATISTICIAN, "kof")
    first, second = new_token(app, "one"), new_token(app, "two")
    at = [6000.0 * 60 + 15]
    fixed_clock(app, first, at)
    assert isinstance(app.extensions[LIMITER], api_domain.MemoryLimiter)
    client = app.test_client()
    assert [client.get("/api/v1/releases", headers=bearer(first)).status_code
            for _ in range(4)] == [200, 200, 200, 429]
    refused = client.get("/api/v1/releases", headers=bearer(first))
    assert refused.get_json()["error"] == "rate_limited"
    assert refused.headers["Retry-After"] == "45"
    assert client.get("/api/v1/releases", headers=bearer(second)).status_code == 200
    at[0] += 60  # the next window
    assert client.get("/api/v1/releases", headers=bearer(first)).status_code == 200
    # The description is public and not counted.
    assert all(client.get("/api/v1/openapi.json").status_code == 200 for _ in range(5))


def test_over_the_rate_is_429_on_redis_shared_by_workers(
        make_casework: Callable[..., Flask], enrol: Callable[..., Staff], redis_url: str) -> None:
    app = make_casework(statistics_api_per_minute=2, redis_url=redis_url)
    enrol("stina", Role.STATISTICIAN, "kof")
    token = new_token(app)
    at = [7000.0 * 60]
    fixed_clock(app, token, at)
    assert isinstance(app.extensions[LIMITER], api_domain.RedisLimiter)
    with services(app).db.session() as db:
        token_id = db.scalars(select(ApiToken.id)).one()
    # Another worker process: its own limiter, the same Redis counter.
    other = api_domain.RedisLimiter(redis_url, 2, clock=lambda: at[0])
    other.hit(token_id)
    client = app.test_client()
    assert client.get("/api/v1/releases", headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/releases", headers=bearer(token)).status_code == 429
    at[0] += 60
    assert client.get("/api/v1/releases", headers=bearer(token)).status_code == 200


def test_a_redis_that_does_not_answer_refuses_rather_than_go_unlimited(
        tmp_path: Path) -> None:
    limiter = api_domain.RedisLimiter(f"unix://{tmp_path / 'none.sock'}", 5)
    with pytest.raises(api_domain.LimiterUnavailable):
        limiter.hit("x")


# --- what the API answers --------------------------------------------------------------------


def test_a_release_is_served_exactly_as_published(app: Flask, statistician: Staff) -> None:
    token = new_token(app)
    release = store_release(app, at=dt.datetime(2026, 4, 2, 9, 30, 12))
    client = app.test_client()
    listed = client.get("/api/v1/releases", headers=bearer(token))
    assert listed.status_code == 200 and listed.mimetype == "application/json"
    assert listed.get_json() == {"releases": [{
        "id": release.id, "kind": "quarterly", "period": "2026-Q1",
        "released_at": "2026-04-02", "schema": json.loads(release.tables)["schema"]}],
        "next": None}
    one = client.get(f"/api/v1/releases/{release.id}", headers=bearer(token))
    assert one.status_code == 200 and one.mimetype == "application/json"
    assert one.get_data(as_text=True) == release.tables
    assert "Set-Cookie" not in one.headers


@pytest.mark.parametrize("path", ["/api/v1/releases/" + "0" * 32, "/api/v1/releases/x",
                                  "/api/v1/releases/" + "A" * 32, "/api/v1/releases/%2e%2e",
                                  "/api/v1/nothing", "/api/v2/releases"])
def test_unknown_is_404_in_json(app: Flask, statistician: Staff, path: str) -> None:
    token = new_token(app)
    store_release(app)
    response = app.test_client().get(path, headers=bearer(token))
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_pages_and_malformed_cursors(app: Flask, statistician: Staff) -> None:
    token = new_token(app)
    made = [store_release(app, period=f"2025-Q{q}", at=dt.datetime(2025, 3 * q, 2))
            for q in (1, 2, 3)]
    with services(app).db.session() as db:
        page, following = api_domain.list_releases(db, limit=2)
        assert [s.id for s in page] == [m.id for m in made[:2]] and following == made[1].id
        page, following = api_domain.list_releases(db, after=following, limit=2)
        assert [s.id for s in page] == [made[2].id] and following is None
    client = app.test_client()
    after = client.get(f"/api/v1/releases?after={made[0].id}", headers=bearer(token))
    assert [r["id"] for r in after.get_json()["releases"]] == [m.id for m in made[1:]]
    for bad in ("x", "", "0" * 32, made[0].id.upper(), "%00"):
        response = client.get(f"/api/v1/releases?after={bad}", headers=bearer(token))
        assert response.status_code == 400, bad
        assert response.get_json()["error"] == "bad_request"


def test_no_post_no_json_body_no_cookie(app: Flask, statistician: Staff) -> None:
    token = new_token(app)
    client = app.test_client()
    posted = client.post("/api/v1/releases", headers=bearer(token))
    assert posted.status_code == 405 and posted.get_json()["error"] == "method_not_allowed"
    typed = client.get("/api/v1/releases", headers=bearer(token) | {
        "Content-Type": "application/json"})
    assert typed.status_code == 415 and typed.mimetype == "application/json"
    client.set_cookie("lykta_casework", "forged.cookie.value")
    answer = client.get("/api/v1/releases", headers=bearer(token))
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers


def seed_cases(app: Flask, count: int) -> list[tuple[str, str]]:
    """Cases with metadata only (the API never reads them): (id, reference) pairs."""
    made = []
    with services(app).db.session() as db:
        for i in range(count):
            case = Case(reference="LY-" + secrets.token_hex(4).upper(), unit_id="etik",
                        category=("ethics", "corruption")[i % 2],
                        received_on=dt.date(2025, 1, 1) + dt.timedelta(days=i),
                        tipster_public_key=crypto.PrivateKey.generate().public_key.raw,
                        intake_receipt_id=secrets.token_hex(16))
            db.add(case)
            db.flush()
            made.append((case.id, case.reference))
    return made


def publish_or_store(app: Flask, statistician: Staff) -> None:
    """A release of the seeded cases, published by the real path when it is there."""
    try:
        import casework.statistics.figures  # noqa: F401
        from casework.models import ReleaseKind
        from casework.statistics.periods import Period
        from casework.statistics.releases import publish
    except ImportError:  # STAND-IN until S1/S4 land: a stored release of the same shape
        store_release(app, period="2025-Q1")
        return
    # A request context: the release stores its labels in the publisher's language.
    with app.test_request_context(), services(app).unit() as work:
        user = work.session.scalars(select(User).where(
            User.username == statistician.username)).one()
        publish(services(app), work.session, user, ReleaseKind.QUARTERLY,
                Period.parse("2025-Q1"), today=dt.date(2026, 1, 1))


def test_no_answer_carries_a_case_id_or_reference(app: Flask, statistician: Staff) -> None:
    cases = seed_cases(app, 24)
    publish_or_store(app, statistician)
    token = new_token(app)
    client = app.test_client()
    bodies = [client.get("/api/v1/openapi.json").get_data(as_text=True)]
    listed = client.get("/api/v1/releases", headers=bearer(token))
    bodies.append(listed.get_data(as_text=True))
    for summary in listed.get_json()["releases"]:
        answer = client.get(f"/api/v1/releases/{summary['id']}", headers=bearer(token))
        assert answer.status_code == 200
        bodies.append(answer.get_data(as_text=True))
        bodies.append(str(answer.headers))
    assert len(bodies) >= 4
    for case_id, reference in cases:
        assert not any(case_id in body or reference in body for body in bodies)
    # Nor a date finer than the period in the tables (released_at is the list's only date).
    for body in bodies[2::2]:
        assert not re.search(r"\d{4}-\d{2}-\d{2}", body)


# --- schemathesis against the description the API serves -------------------------------------


def test_the_served_description_is_the_module_s() -> None:
    folder = Path(__file__)  # only to show the test needs no app: the spec is static
    assert folder.exists()
    assert openapi.spec() == openapi.SPEC and openapi.spec() is not openapi.SPEC


@pytest.fixture(scope="module")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """One app for every generated case: a token, two releases, a high rate limit."""
    folder = tmp_path_factory.mktemp("statistics-api")
    app = create_app(CaseworkConfig(
        instance_path=folder, database_url=f"sqlite:///{folder / 'casework.sqlite'}",
        secret_key=b"c" * 32, signing_key_path=folder / "casework-signing.seed",
        argon2=crypto.INSECURE_FAST, statistics_api_per_minute=100_000))
    app.config["TESTING"] = True
    app.test_client_class = EnglishClient
    add_default_units(app)
    from tests.support.casework import enrol as enrol_in
    staff = enrol_in(app, "stina", Role.STATISTICIAN, "kof")
    store_release(app, "2025-Q4")
    store_release(app, "2025", "annual")
    store_text(app, "2024", "annual", SCHEMA_1_RELEASE)  # published before schema 2
    store_text(app, "2023", "annual", magnitudes_document())
    # And one published the real way, so its stored form is checked against the schema.
    seed_cases(app, 24)
    publish_or_store(app, staff)
    yield app, new_token(app)


SCHEMA = schemathesis.openapi.from_dict(openapi.spec())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@SCHEMA.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_openapi_description(
        case: schemathesis.Case, api_world: tuple[Flask, str]) -> None:
    app, token = api_world
    case.call_and_validate(app=app, headers=bearer(token), checks=CHECKS)


def test_the_description_is_what_the_api_serves(api_world: tuple[Flask, str]) -> None:
    app, _token = api_world
    served = app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json() == openapi.SPEC
    assert "Set-Cookie" not in served.headers


def test_every_stored_release_conforms_to_the_described_schema(
        api_world: tuple[Flask, str]) -> None:
    """Random ids only ever meet a 404: here every stored release (the real publish path's
    among them, when it is there) is fetched and checked by the same checks, and the
    list's pages too."""
    app, token = api_world
    with services(app).db.session() as db:
        ids = list(db.scalars(select(StatisticsRelease.id)))
    assert len(ids) >= 3
    one = SCHEMA["/api/v1/releases/{id}"]["GET"]
    for release_id in ids:
        response = one.Case(path_parameters={"id": release_id}).call_and_validate(
            app=app, headers=bearer(token), checks=CHECKS)
        assert response.status_code == 200
    listed = SCHEMA["/api/v1/releases"]["GET"].Case(query={"after": ids[0]})
    assert listed.call_and_validate(app=app, headers=bearer(token),
                                    checks=CHECKS).status_code == 200
