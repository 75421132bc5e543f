"""Benchmarks for casework: inbox filters at 1k/10k/100k cases, opening a case with a 10 MiB file.

Run from the repository root::

    .venv/bin/python -m bench.casework_bench

Every number goes through the real view stack in-process (Flask test client: session
resume, unlocking the staff key, the permission table, the view, the Jinja template) on
a throwaway SQLite file (tempfile, WAL, the app's own pragmas and migrations). Sign-in is
not measured, so Argon2 runs at ``crypto.INSECURE_FAST`` for the staff passwords and the
tipster receipt; nothing timed here derives a key from a password.

Results are printed and written (overwritten) to ``bench/results/casework.md``. Nothing
here asserts a time limit: the numbers are for people to read. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import html
import io
import json
import os
import random
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageChops
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Engine

import crypto
from bench import harness
from bench.bridge_code import new_reference
from bench.harness import (
    MIB,
    DiscardSink,
    Run,
    fmt_ms,
    fmt_size,
    md_table,
    memory_kib,
    p50_p95,
    pct,
    version,
    versions,
)
from casework import CaseworkConfig, create_app
from casework.accounts import create_user
from casework.cases import PAGE_SIZE
from casework.models import (
    Assignment,
    Case,
    CaseEnvelope,
    CaseLabel,
    Priority,
    Role,
    Stage,
    User,
)
from casework.models.cases import CaseReader
from casework.scrub import scrub
from common.vocabulary import AGENCIES as AGENCY_NAMES
from intake.services import Intake
from scripts.local_bridge import sync_once
from tests.support.casework import (
    CSRF,
    Staff,
    add_default_units,
    enrol,
    link_intake,
    log_in,
    services,
)

ARGON2 = crypto.INSECURE_FAST  # sign-in is not measured; see the module docstring
COOKIE = "lykta_casework"
SIZES = (1_000, 10_000, 100_000)
UNITS = ("etik", "akt")  # the two units that receive reports; cases are split ~50/50
# Stage mix of a two-year-old instance: most old cases are closed.
STAGE_WEIGHTS = {Stage.RECEIVED: 2, Stage.ACKNOWLEDGED: 18, Stage.ASSESSED: 20,
                 Stage.INVESTIGATING: 20, Stage.CONCLUDED: 40}
CATEGORY_NAMES = ("corruption", "procurement", "bias", "ethics", "funds", "retaliation",
                  "other")
# Agency codes from the fixed list (free text never reaches a row), and no agency at all.
AGENCIES = (*tuple(AGENCY_NAMES)[:4], None)
# Priorities set at triage: most cases normal, few urgent.
PRIORITY_WEIGHTS = {Priority.LOW: 10, Priority.NORMAL: 70, Priority.HIGH: 17,
                    Priority.URGENT: 3}
LABEL = "roads"  # an exact label on LABEL_SHARE of cases
LABEL_SHARE = 0.01
ASSIGNED_SHARE = 0.01  # share of the reviewer's unit's cases assigned to them ("mine")
# A second reviewer with the same number of assigned cases at every N: more than a page
# (50), so `mine_few` compares full pages from 1k to 100k (at 1k, 1% of etik is 5 cases,
# less than a page, which makes the `mine` row's 1k figure a short page).
FEW_ASSIGNED = 60
# Every rare filter (mine, stage received, label, priority urgent) matches at least this
# many of etik's cases at every N: two full pages and more, so that each filter is
# measured on full pages at 1,000 cases as at 100,000 (see fill_cases).
FULL = 2 * PAGE_SIZE + 20
BATCH = 10_000
FILE_BYTES = 10 * MIB

RECEIPT = re.compile(r'id="receipt-code">([0-9A-Z-]+)<')
# Links only, no visible text: the templates are being translated.
ROW = re.compile(r'href="/cases/[0-9a-f]{32}"')
NEXT = re.compile(r'href="(/cases/\?[^"]*after=[^"]*)"')
FILE_LINK = re.compile(r'href="(/cases/[0-9a-f]{32}/files/[0-9a-f]{32})"')


class BenchError(RuntimeError):
    """Something in casework did not behave (wrong status, missing link, wrong bytes)."""


# --------------------------------------------------------------------------- helpers


def casework_machine() -> list[str]:
    return harness.machine_lines([
        ["Flask / Werkzeug", versions("flask", "werkzeug")],
        ["SQLAlchemy", version("sqlalchemy")],
        ["SQLite library", sqlite3.sqlite_version],
        ["Pillow", version("pillow")],
        ["PyNaCl", version("PyNaCl")],
        ["Argon2 (not measured)", f"crypto.INSECURE_FAST: t={ARGON2.time_cost}, "
                                  f"m={ARGON2.memory_kib} KiB, p={ARGON2.parallelism}"],
    ], harness.code_fingerprint(["casework/**/*.py", "casework/templates/*", "common/*.py",
                         "crypto/*.py"], "casework/, common/, crypto/"))


# --------------------------------------------------------------------------- apps and people


def casework_config(root: Path, escrow: bytes | None = None,
                    database_url: str | None = None) -> CaseworkConfig:
    """The same config for the same folder (the RSS child rebuilds the app from it); the
    database is a SQLite file in it unless ``database_url`` names another (PostgreSQL for
    bench.production_bench)."""
    return CaseworkConfig(
        instance_path=root,
        database_url=database_url or f"sqlite:///{root / 'casework.sqlite'}",
        secret_key=b"c" * 32, signing_key_path=root / "casework-signing.seed",
        argon2=ARGON2, escrow_public_key=escrow)


def build_casework(root: Path, escrow: bytes | None = None,
                   database_url: str | None = None) -> Flask:
    """A casework app with the default units (as tests/casework/conftest.py builds it)."""
    root.mkdir(parents=True, exist_ok=True)
    app = create_app(casework_config(root, escrow, database_url))
    add_default_units(app)
    return app


def user_id(app: Flask, staff: Staff) -> str:
    with services(app).db.session() as db:
        found = db.scalar(select(User.id).where(User.username == staff.username))
    if found is None:
        raise BenchError(f"{staff.username} is not enrolled")
    return found


def signed_in(app: Flask, staff: Staff) -> FlaskClient:
    """A test client that ``staff`` signed in on, through the form."""
    client = app.test_client()
    log_in(app, client, staff)
    return client


def get(client: FlaskClient, path: str) -> tuple[float, str]:
    """Seconds for one GET through the whole stack, and the page text (200 or raise)."""
    start = time.perf_counter()
    response = client.get(path)
    took = time.perf_counter() - start
    if response.status_code != 200:
        raise BenchError(f"GET {path} answered {response.status_code}")
    return took, response.get_data(as_text=True)


# --------------------------------------------------------------------------- 1. inbox


def _floor(rng: random.Random, etik: list[dict[str, Any]], matching: set[str],
           make: Callable[[dict[str, Any]], None]) -> None:
    """Make at least FULL of etik's cases match (``make`` turns one into a match)."""
    short = FULL - sum(1 for case in etik if case["id"] in matching)
    if short > 0:
        others = [case for case in etik if case["id"] not in matching]
        for case in rng.sample(others, min(short, len(others))):
            make(case)
            matching.add(case["id"])


def fill_cases(engine: Engine, n: int, reader_id: str, few_id: str,
               lead_id: str, both_id: str) -> tuple[int, int, float]:
    """Bulk-insert ``n`` cases (Core executemany); return (cases in etik, assigned, secs).

    ``reader_id`` is given ASSIGNED_SHARE of etik's cases, ``few_id`` FEW_ASSIGNED of them.
    The rare filters (the reader's assignments, stage received, the label, priority
    urgent) each match at least FULL of etik's cases at every N, so each is measured on
    full pages at 1,000 cases too (at 1,000, 1% of etik is 5 cases: a short page that
    stops early and flatters the small size).
    """
    rng = random.Random(n)  # reproducible spread; ids and references are random anyway
    today = dt.date.today()
    stages = list(STAGE_WEIGHTS)
    weights = list(STAGE_WEIGHTS.values())
    priorities = list(PRIORITY_WEIGHTS)
    priority_weights = list(PRIORITY_WEIGHTS.values())
    references: set[str] = set()
    cases: list[dict[str, Any]] = []
    labelled: set[str] = set()
    mine: set[str] = set()
    start = time.perf_counter()
    for _ in range(n):
        reference = new_reference()
        while reference in references:
            reference = new_reference()
        references.add(reference)
        received = today - dt.timedelta(days=rng.randrange(730))
        stage = rng.choices(stages, weights)[0]
        unit = UNITS[rng.randrange(2)]
        case_id = secrets.token_hex(16)
        cases.append({
            "id": case_id, "reference": reference, "unit_id": unit,
            "category": rng.choice(CATEGORY_NAMES), "agency": rng.choice(AGENCIES),
            "stage": stage.value, "received_on": received,
            "priority": rng.choices(priorities, priority_weights)[0].value,
            "acknowledged_on": (None if stage == Stage.RECEIVED
                                else min(today, received + dt.timedelta(rng.randrange(7)))),
            "feedback_on": (min(today, received + dt.timedelta(rng.randrange(30, 90)))
                            if stage == Stage.CONCLUDED else None),
            "tipster_public_key": bytes(32), "intake_receipt_id": secrets.token_hex(16),
            "created_at": dt.datetime.combine(received, dt.time(12)),
        })
        if rng.random() < LABEL_SHARE:
            labelled.add(case_id)
        if unit == "etik" and rng.random() < ASSIGNED_SHARE:
            mine.add(case_id)
    etik = [case for case in cases if case["unit_id"] == "etik"]

    def to_received(case: dict[str, Any]) -> None:
        case.update(stage=Stage.RECEIVED.value, acknowledged_on=None, feedback_on=None)

    def to_urgent(case: dict[str, Any]) -> None:
        case["priority"] = Priority.URGENT.value

    _floor(rng, etik, {c["id"] for c in etik if c["stage"] == Stage.RECEIVED.value},
           to_received)
    _floor(rng, etik, {c["id"] for c in etik if c["priority"] == Priority.URGENT.value},
           to_urgent)
    _floor(rng, etik, labelled, lambda _case: None)
    _floor(rng, etik, mine, lambda _case: None)
    received_of = {case["id"]: case["received_on"] for case in cases}
    few_cases = rng.sample([case["id"] for case in etik], min(FEW_ASSIGNED, len(etik)))
    now = dt.datetime.now(dt.UTC)
    assignments = [{"case_id": case_id, "user_id": reader_id, "received_on": received_of[case_id],
                    "assigned_by": lead_id, "assigned_at": now} for case_id in mine]
    assignments += [{"case_id": case_id, "user_id": few_id, "assigned_by": lead_id,
                     "received_on": received_of[case_id], "assigned_at": now}
                    for case_id in few_cases]
    with engine.begin() as conn:
        for at in range(0, n, BATCH):
            batch = cases[at:at + BATCH]
            conn.execute(insert(Case), batch)
            # The inbox lists what its report is sealed to (case_readers), as the flush
            # listener records it for real cases: here, etik's reviewers on etik's cases,
            # and the reviewer of both units on every case. The newcomer reads none.
            # Rows copy the case's received_on, as casework.readers and the column
            # default do for real ones (the inbox's indexes, migrations 0009 and 0010).
            readers = [{"case_id": case["id"], "user_id": user_id,
                        "received_on": case["received_on"]}
                       for case in batch
                       for user_id in ((both_id, reader_id, few_id, lead_id)
                                       if case["unit_id"] == "etik" else (both_id,))]
            conn.execute(insert(CaseReader), readers)
        conn.execute(insert(Assignment), assignments)
        if labelled:
            conn.execute(insert(CaseLabel), [
                {"case_id": case_id, "label": LABEL, "received_on": received_of[case_id]}
                for case_id in labelled])
    return len(etik), len(mine), time.perf_counter() - start


@dataclass
class InboxResult:
    n: int
    in_etik: int
    assigned: int
    fill_s: float
    db_mib: float
    samples: dict[str, list[float]] = field(default_factory=dict)
    deep_pages: int = 0
    last_page_depth: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    plans: dict[str, str] = field(default_factory=dict)
    sql_only: dict[str, float] = field(default_factory=dict)
    sql_steps: dict[str, int] = field(default_factory=dict)
    row_value: tuple[str, float, int] | None = None  # plan, seconds, VM steps


KINDS = {
    "floor": "Stack floor: `GET /` (no inbox query)",
    "first": "First page `/cases/`",
    "deep": "Deep pages (follow `after=`)",
    "last": "Last page (cursor at the oldest 50)",
    "stage": "Filtered `?stage=acknowledged` (18%)",
    "stage_rare": f"Filtered `?stage=received` (2%, at least {FULL})",
    "mine": f"`?mine=1`, {ASSIGNED_SHARE:.0%} of the unit assigned (at least {FULL})",
    "mine_few": f"`?mine=1`, {FEW_ASSIGNED} cases assigned",
    "assignee": f"`?assignee=<colleague>` ({FEW_ASSIGNED} cases assigned to them)",
    "unassigned": "`?assignee=none` (unassigned, ~99%)",
    "overdue_ack": "`?overdue=acknowledgement` (the received ones older than 7 days)",
    "overdue_feedback": "`?overdue=feedback` (~50%)",
    "overdue_any": "`?overdue=any`",
    "priority_urgent": f"`?priority=urgent` (3%, at least {FULL})",
    "priority_high": "`?priority=high` (17%)",
    "label": f"`?label={LABEL}` ({LABEL_SHARE:.0%} of cases, at least {FULL} in etik)",
    "combined": "`?stage=investigating&priority=high&assignee=none`",
    "newcomer_stage": "`?stage=received`, a reviewer who reads none of the unit's cases",
    "two_units": "First page, reader of 2 units",
    "newcomer": "First page, a reviewer who reads none of the unit's cases",
}


class SqlCapture:
    """The inbox SELECT the view actually sends, with its parameters."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, tuple[Any, ...]]] = []

    def __enter__(self) -> SqlCapture:
        event.listen(self.engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hook)

    def _hook(self, _conn: object, _cursor: object, statement: str, parameters: Any,
              _context: object, _executemany: bool) -> None:
        # The page's SELECT (the columns' queries have no LIMIT).
        if "LIMIT" in statement and "cases.id" in statement:
            self.seen.append((statement, tuple(parameters)))


def explain(db_path: Path, statement: str, params: tuple[Any, ...], reps: int = 15) -> \
        tuple[str, float, int]:
    """EXPLAIN QUERY PLAN of one statement, its median time alone (sqlite3, no ORM) and
    how many SQLite virtual-machine steps one run takes (a count of work, not of time)."""
    conn = sqlite3.connect(db_path)
    steps = [0]

    def tick() -> int:
        steps[0] += 10
        return 0

    try:
        plan = " / ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement,
                                                         params))
        conn.set_progress_handler(tick, 10)
        conn.execute(statement, params).fetchall()
        conn.set_progress_handler(None, 0)
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            conn.execute(statement, params).fetchall()
            times.append(time.perf_counter() - start)
    finally:
        conn.close()
    return plan, statistics.median(times), steps[0]


KEYSET_OR = "(cases.received_on < ? OR cases.received_on = ? AND cases.id < ?)"
KEYSET_ROW = "(cases.received_on, cases.id) < (?, ?)"


def row_value_variant(statement: str, params: tuple[Any, ...]) -> \
        tuple[str, tuple[Any, ...]] | None:
    """The same SELECT with the keyset condition as a row value (SQLite >= 3.15), or None."""
    at = statement.find(KEYSET_OR)
    if at < 0:
        return None
    k = statement[:at].count("?")
    return (statement.replace(KEYSET_OR, KEYSET_ROW),
            (*params[:k], params[k], params[k + 2], *params[k + 3:]))


@dataclass
class InboxSite:
    """One size's app, its signed-in clients and its requests, kept for the whole section
    so that the sizes' requests can interleave."""

    app: Flask
    db_path: Path
    clients: dict[str, FlaskClient]
    requests: dict[str, tuple[str, str]]  # kind: (who, path)
    result: InboxResult


def database_mib(engine: Engine, db_path: Path) -> float:
    """The database's size on disk: the SQLite file, or PostgreSQL's own count."""
    if engine.dialect.name == "sqlite":
        return db_path.stat().st_size / MIB
    with engine.connect() as connection:
        size = connection.scalar(text("SELECT pg_database_size(current_database())"))
    return int(size or 0) / MIB


def build_inbox(n: int, root: Path, database_url: str | None = None) -> InboxSite:
    """A casework app with ``n`` cases and its readers signed in, warmed up (on a SQLite
    file in ``root``, or on the database ``database_url`` names)."""
    app = build_casework(root, database_url=database_url)
    cw = services(app)
    reader = enrol(app, "eva", Role.REVIEWER, "etik")
    few = enrol(app, "ulf", Role.REVIEWER, "etik")
    both = enrol(app, "bo", Role.REVIEWER, "etik", also=(("akt", Role.REVIEWER),))
    newcomer = enrol(app, "nils", Role.REVIEWER, "etik")
    with cw.db.session() as db:
        lead, _ = create_user(db, cw.config, username="lena", display_name="Lena",
                              unit_id="etik", role=Role.UNIT_LEAD)
        lead_id = lead.id
    in_etik, assigned, fill_s = fill_cases(cw.db.engine, n, user_id(app, reader),
                                           user_id(app, few), lead_id, user_id(app, both))
    db_path = root / "casework.sqlite"
    result = InboxResult(n, in_etik, assigned, fill_s, database_mib(cw.db.engine, db_path))
    # The cursor whose page holds the 50 oldest cases of etik (the end of the inbox).
    with cw.db.session() as db:
        edge = db.scalars(select(Case).where(Case.unit_id == "etik")
                          .order_by(Case.received_on.asc(), Case.id.asc())
                          .offset(PAGE_SIZE).limit(1)).first()
        assert edge is not None
        last_cursor = f"{edge.received_on.isoformat()}_{edge.id}"
    result.last_page_depth = -(-in_etik // PAGE_SIZE)

    client = signed_in(app, reader)
    clients = {"reader": client, "few": signed_in(app, few), "both": signed_in(app, both),
               "newcomer": signed_in(app, newcomer)}
    requests = {  # kind: (who, path)
        "floor": ("reader", "/"), "first": ("reader", "/cases/"),
        "last": ("reader", f"/cases/?after={last_cursor}"),
        "stage": ("reader", "/cases/?stage=acknowledged"),
        "stage_rare": ("reader", "/cases/?stage=received"),
        "mine": ("reader", "/cases/?mine=1"), "mine_few": ("few", "/cases/?mine=1"),
        "assignee": ("reader", f"/cases/?assignee={user_id(app, few)}"),
        "unassigned": ("reader", "/cases/?assignee=none"),
        "overdue_ack": ("reader", "/cases/?overdue=acknowledgement"),
        "overdue_feedback": ("reader", "/cases/?overdue=feedback"),
        "overdue_any": ("reader", "/cases/?overdue=any"),
        "priority_urgent": ("reader", "/cases/?priority=urgent"),
        "priority_high": ("reader", "/cases/?priority=high"),
        "label": ("reader", f"/cases/?label={LABEL}"),
        "combined": ("reader", "/cases/?stage=investigating&priority=high&assignee=none"),
        "newcomer_stage": ("newcomer", "/cases/?stage=received"),
        "two_units": ("both", "/cases/"),
        "newcomer": ("newcomer", "/cases/"),
    }
    for who, path in requests.values():  # warm-up: templates, statement cache, page cache
        get(clients[who], path)
    result.samples = {kind: [] for kind in KINDS}
    return InboxSite(app, db_path, clients, requests, result)


def sample_inbox(sites: list[InboxSite], reps: int) -> None:
    """``reps`` requests of each kind at each size, interleaved across kinds AND sizes:
    on a busy machine the load drifts over minutes, and measuring one size after the
    other would turn that drift into a difference between sizes."""
    for _ in range(reps):
        for site in sites:
            for kind, (who, path) in site.requests.items():
                took, page = get(site.clients[who], path)
                site.result.samples[kind].append(took)
                if kind != "floor":
                    site.result.rows[kind] = len(ROW.findall(page))


def finish_inbox(site: InboxSite, walks: int, depth: int, sql_detail: bool = True
                 ) -> InboxResult:
    """Deep pages, then each kind's SQL alone (plan, time, SQLite steps; on SQLite only)."""
    app, db_path, result = site.app, site.db_path, site.result
    cw = services(app)
    clients, requests = site.clients, site.requests
    client = clients["reader"]
    samples = result.samples
    for _ in range(walks):
        _, page = get(client, "/cases/")
        pages = 0
        while pages < depth:
            link = NEXT.search(page)
            if not link:
                break
            took, page = get(client, html.unescape(link.group(1)))
            samples["deep"].append(took)
            pages += 1
        result.deep_pages = pages
    result.rows["deep"] = len(ROW.findall(page))
    if not sql_detail or cw.db.engine.dialect.name != "sqlite":
        return result  # the statement-level figures below are SQLite's (sqlite3, VM steps)

    # The exact SQL of each kind, for EXPLAIN QUERY PLAN and a time without the web stack.
    deep_link = NEXT.search(get(client, "/cases/")[1])
    if deep_link:
        requests["deep"] = ("reader", html.unescape(deep_link.group(1)))
    for kind, (who, path) in requests.items():
        if kind == "floor":
            continue
        with SqlCapture(cw.db.engine) as sql:
            get(clients[who], path)
        if not sql.seen:
            raise BenchError(f"no inbox SELECT seen for {path}")
        statement, params = sql.seen[-1]
        result.plans[kind], result.sql_only[kind], result.sql_steps[kind] = explain(
            db_path, statement, params)
        if kind == "last":
            variant = row_value_variant(statement, params)
            if variant:
                result.row_value = explain(db_path, *variant)
    return result


def _ratio(first: float | None, last: float | None, digits: int = 2) -> str:
    if not first or not last:
        return "-"
    return f"{last / first:.{digits}f}x"


# The filters issue 10 asks to stay flat: <= FLAT_LIMIT x the p50 from 1k to 100k cases.
FLAT_KINDS = ("mine", "stage_rare", "label", "overdue_ack", "overdue_feedback", "overdue_any")
FLAT_LIMIT = 1.5


def _k(result: InboxResult) -> str:
    return f"{result.n // 1000}k" if result.n >= 1000 else str(result.n)


def _pairs(results: list[InboxResult]) -> list[tuple[InboxResult, InboxResult]]:
    """(smaller, largest) for each smaller size: 1k -> 100k and 10k -> 100k."""
    return [(r, results[-1]) for r in results[:-1]]


def _p50(result: InboxResult, kind: str) -> float | None:
    samples = result.samples.get(kind)
    return pct(samples, 50) if samples else None


def _best(result: InboxResult, kind: str) -> float | None:
    samples = result.samples.get(kind)
    return min(samples) if samples else None


def _p50_ratio(small: InboxResult, big: InboxResult, kind: str) -> str:
    return _ratio(_p50(small, kind), _p50(big, kind))


def flat_lines(results: list[InboxResult]) -> list[str]:
    """The summary for issue 10: the personal inbox and the rare filters, full pages."""
    pairs = _pairs(results)
    if not pairs:
        return []
    lines = ["", f"### The filters that must stay flat (issue 10: p50 at most {FLAT_LIMIT}x "
             f"from {_k(results[0])} to {_k(results[-1])} cases)", "",
             "Request p50 at each size, the rows on the page (50 = a full page), and the "
             "ratios of the request p50, of the best request (least disturbed by other "
             "processes) and of the SQLite virtual-machine steps of the inbox SELECT (a "
             "count of work that no load changes):", ""]
    header = ["Request", *[f"{r.n:,} cases (rows)" for r in results],
              *[f"p50 {_k(b)} / {_k(a)}" for a, b in pairs],
              f"best {_k(results[-1])} / {_k(results[0])}",
              *[f"steps {_k(b)} / {_k(a)}" for a, b in pairs], f"<= {FLAT_LIMIT}x"]
    rows = []
    for kind in FLAT_KINDS:
        p50s = [_p50(r, kind) for r in results]
        first, last = p50s[0], p50s[-1]
        flat = first is not None and last is not None and last / first <= FLAT_LIMIT
        rows.append([
            KINDS[kind],
            *[f"{fmt_ms(p)} ({r.rows.get(kind, '-')})" if p is not None else "-"
              for r, p in zip(results, p50s, strict=True)],
            *[_p50_ratio(a, b, kind) for a, b in pairs],
            _ratio(_best(results[0], kind), _best(results[-1], kind)),
            *[_ratio(a.sql_steps.get(kind), b.sql_steps.get(kind), 1) for a, b in pairs],
            "yes" if flat else "**no**"])
    lines += md_table(header, rows)
    return lines


def inbox_lines(results: list[InboxResult], reps: int, walks: int, depth: int) -> list[str]:
    lines = [
        "## 1. Inbox page latency vs number of cases",
        "",
        f"N cases bulk-inserted (SQLAlchemy Core `insert()` executemany, batches of {BATCH:,}) "
        "into a fresh casework SQLite file: `received_on` uniform over the last 730 days, "
        "units `etik`/`akt` ~50/50, stages "
        + ", ".join(f"{s.value} {w}%" for s, w in STAGE_WEIGHTS.items())
        + "; priorities "
        + ", ".join(f"{p.value} {w}%" for p, w in PRIORITY_WEIGHTS.items())
        + f"; the label `{LABEL}` on {LABEL_SHARE:.0%} of cases. **Full pages at every N:** "
        f"the rare filters (the reviewer's assignments, stage `received`, the label, "
        f"priority `urgent`) each match at least {FULL} of etik's cases at every size "
        "(random etik cases are assigned, moved to `received`, labelled or made urgent "
        "until they do), so their first page holds 50 rows at 1,000 cases as at 100,000 "
        "and the ratios compare the same work (the table of rows per page below checks "
        "it). Readers, all enrolled "
        "through `complete_enrolment` and signed in through `/login`: the reviewer of "
        "`etik` (assigned "
        f"{ASSIGNED_SHARE:.0%} of etik's cases), a second `etik` reviewer with "
        f"{FEW_ASSIGNED} assigned cases (`mine_few`), a reviewer of both `etik` and "
        "`akt`, and a newcomer to `etik` who reads none of its cases. Every request goes "
        "through session resume (unlocking the staff key), the permission table, "
        "`casework.inbox.inbox` and the `inbox.html` template; times are "
        "wall-clock per request in the Flask test client (no HTTP server). "
        f"{reps} requests of each kind at each size, after one warm-up each, interleaved "
        "across kinds and across sizes (all the sizes' databases are built first and stay "
        "open, and each round requests every kind at every size), so that a change in the "
        "machine's load during the run hits every size alike. Deep pages: the "
        f"`Next page` link followed {depth} times from page 1 (or to the end), {walks} "
        "walks, every page timed. The stack floor is the start page `/`: the same session "
        "resume and permission check, no inbox query.",
    ]
    lines += flat_lines(results)
    lines += ["", "Every request, p50 / p95:", ""]
    pairs = _pairs(results)
    header = ["Request", *[f"{r.n:,} cases" for r in results],
              *[f"p50 {_k(b)} / {_k(a)}" for a, b in pairs]]
    rows = []
    for kind, label in KINDS.items():
        row = [label, *[p50_p95(r.samples.get(kind, [])) for r in results]]
        row += [_p50_ratio(a, b, kind) for a, b in pairs]
        rows.append(row)
    lines += md_table(header, rows)

    lines += ["", "The inbox SELECT alone: the statement the view sent (captured with a "
              "SQLAlchemy event), re-run with `sqlite3` on the same file, median of 15, and "
              "the SQLite virtual-machine steps of one run (a count of work, immune to "
              "machine noise):", ""]
    many = len(results) > 1
    sql_header = ["Query", *[f"{r.n:,} cases" for r in results],
                  *([f"Time {_k(results[-1])} / {_k(results[0])}"] if many else []),
                  *[f"Steps {_k(b)} / {_k(a)}" for a, b in pairs]]
    rows = []
    for kind, label in KINDS.items():
        if kind == "floor":
            continue
        row = [label, *[f"{fmt_ms(r.sql_only[kind])} ({r.sql_steps[kind]:,} steps)"
                        if kind in r.sql_only else "-" for r in results]]
        if many:
            row.append(_ratio(results[0].sql_only.get(kind), results[-1].sql_only.get(kind),
                              1))
        row += [_ratio(a.sql_steps.get(kind), b.sql_steps.get(kind), 1) for a, b in pairs]
        rows.append(row)
    if any(r.row_value for r in results):
        row = ["Last page, keyset as a row value `(received_on, id) < (?, ?)` (not what "
               "the app sends)",
               *[f"{fmt_ms(r.row_value[1])} ({r.row_value[2]:,} steps)" if r.row_value
                 else "-" for r in results]]
        if many:
            low, high = results[0].row_value, results[-1].row_value
            row.append(_ratio(low[1] if low else None, high[1] if high else None, 1))
        row += [_ratio(a.row_value[2] if a.row_value else None,
                       b.row_value[2] if b.row_value else None, 1) for a, b in pairs]
        rows.append(row)
    lines += md_table(sql_header, rows)

    lines += ["", "Data set:", ""]
    lines += md_table(
        ["N", "Cases in etik", "Assigned (reviewer / few)", "Deep pages walked",
         "Last page is page", "Bulk insert", "SQLite file"],
        [[f"{r.n:,}", f"{r.in_etik:,}", f"{r.assigned} / {FEW_ASSIGNED}",
          str(r.deep_pages), f"{r.last_page_depth:,}",
          f"{r.fill_s:.1f} s ({r.n / r.fill_s:,.0f} rows/s)", f"{r.db_mib:.1f} MiB"]
         for r in results])
    lines += ["", "Rows on the page each request got (a check that each filter found "
              "what the data set holds):", ""]
    lines += md_table(["Request", *[f"{r.n:,} cases" for r in results]],
                      [[label, *[str(r.rows.get(kind, "-")) for r in results]]
                       for kind, label in KINDS.items() if kind != "floor"])
    biggest = results[-1]
    lines += ["", f"`EXPLAIN QUERY PLAN` of the view's own SELECT at {biggest.n:,} cases "
              "(no `ANALYZE` has run; the app never runs it):", ""]
    plan_rows = [[KINDS[k], f"`{biggest.plans[k]}`"] for k in KINDS if k in biggest.plans]
    if biggest.row_value:
        plan_rows.append(["Last page as a row value", f"`{biggest.row_value[0]}`"])
    lines += md_table(["Query", "Plan"], plan_rows)
    return lines


READERS_IX = "`ix_case_readers_user_received` (the person's own cases in date order)"
MECHANISM = {
    "first": f"{READERS_IX}, a page and stop",
    "deep": "the cursor is a row value `(received_on, case_id) < (?, ?)`: a seek in the "
            "driving index at any depth",
    "last": "the same seek as the deep pages, at the oldest end",
    "stage": "`ix_cases_stage_received` in date order, readership probed per row on "
             "case_readers' primary key: about 51 / (share of the stage's cases the person "
             "reads) rows",
    "stage_rare": "as for `stage`: the stage index holds only that stage's cases, so a rare "
                  "stage costs a page too",
    "mine": "`ix_assignments_user_received`: the person's assignments in date order, "
            "readership probed per row",
    "mine_few": "as for `mine`: a page of index entries, the same at every N",
    "assignee": "as for `mine`, from the colleague's assignments",
    "unassigned": f"{READERS_IX}, a NOT EXISTS probe on assignments' primary key per row",
    "overdue_ack": "`ix_cases_stage_received`, range `stage = 'received' AND received_on < "
                   "today - 7`",
    "overdue_feedback": f"{READERS_IX}, range `received_on < today - 90 days`, the other "
                        "conditions per row",
    "overdue_any": f"{READERS_IX}, range `received_on < today - 7`: the cases between 7 "
                   "and 90 days old match only if acknowledgement is due (~2% here), so a "
                   "page reads up to ~51 / 2% of them before the older, mostly feedback-due "
                   "ones; bounded by the cases of those 83 days, not by N",
    "priority_urgent": "`ix_cases_priority_received` in date order, readership probed per row",
    "priority_high": "as for `priority_urgent`",
    "label": "`ix_case_labels_label_received`: the label's entries in date order (a copy "
             "of received_on, migration 0010), readership probed per row; a page and stop",
    "combined": "one of the stage or priority indexes, the rest per row",
    "two_units": f"{READERS_IX}: the person's units no longer split the walk (no sort)",
    "newcomer": f"{READERS_IX}: no entries, nothing walked",
    "newcomer_stage": "`ix_cases_stage_received` with a readership probe per row: someone "
                      "who reads none of the stage's cases walks all of them, O(cases in "
                      "that stage)",
}


def inbox_notes(results: list[InboxResult]) -> list[str]:
    """How the cost grows, from the measured step counts and plans (not hard-coded)."""
    if len(results) < 2:
        return []
    small, big = results[0], results[-1]
    floor = pct(big.samples["floor"], 50)
    first = pct(big.samples["first"], 50)
    lines = ["Notes on growth with the number of cases:", "",
             f"- At {big.n:,} cases the stack floor (`GET /`: session resume, key unlock, "
             f"permission check, small template) is {fmt_ms(floor)}, the first inbox page "
             f"{fmt_ms(first)}, of which the SELECT itself is {fmt_ms(big.sql_only['first'])}. "
             "The rest is constant per page: loading 51 ORM rows, `db.merge` of the user, and "
             "rendering 50 rows of `inbox.html` (the largest share in a profile)."]
    flat: list[tuple[str, float]] = []
    growing: list[tuple[str, float]] = []
    for kind in KINDS:
        if kind == "floor" or kind not in small.sql_steps or kind not in big.sql_steps:
            continue
        steps = max(big.sql_steps[kind], 10) / max(small.sql_steps[kind], 10)
        (growing if steps >= 3 else flat).append((kind, steps))
    if flat:
        lines.append("- Flat (SQLite work grows < 3x for " f"{big.n // small.n}x the cases): "
                     + "; ".join(f"{KINDS[k]} ({s:.1f}x steps: {MECHANISM.get(k, '')})"
                                 for k, s in flat) + ".")
    for kind, steps in growing:
        p50 = _ratio(pct(small.samples[kind], 50), pct(big.samples[kind], 50))
        line = (f"- **Grows: {KINDS[kind]}**: {steps:.0f}x the SQLite steps and "
                f"{_ratio(small.sql_only[kind], big.sql_only[kind], 0)} the SELECT time "
                f"for {big.n // small.n}x the cases ({fmt_ms(big.sql_only[kind])} at "
                f"{big.n:,}); request p50 {p50}. Why: {MECHANISM.get(kind, 'see plan')}.")
        if small.rows.get(kind, PAGE_SIZE) < PAGE_SIZE and len(results) > 2:
            # Fewer matches than a page at the smallest size: the query read them all and
            # stopped early; the growth that matters is between the larger sizes.
            mid = results[-2]
            later = _ratio(mid.sql_steps.get(kind), big.sql_steps.get(kind), 1)
            line += (f" At {small.n:,} cases only {small.rows[kind]} match (less than a "
                     f"page), so that query stops early; from {mid.n:,} to {big.n:,} cases "
                     f"the steps grow {later}.")
        lines.append(line)
    return lines


# --------------------------------------------------------------------------- 2. open a case


def photo_jpeg(target: int, width: int = 6000, height: int = 4000) -> bytes:
    """A photo-like 24-megapixel JPEG (gradients plus sensor-like noise) of about ``target``.

    Random bytes would not be a JPEG; flat colour would be tiny. 6000x4000 at quality 92
    with noise of sigma 27 lands near 10 MiB, like a photo from a 24 MP camera.
    """
    tile = min(1000, width, height)
    sigma = 27 * target / (10 * MIB)
    noise = Image.merge("RGB", [Image.effect_noise((tile, tile), sigma) for _ in range(3)])
    grain = Image.new("RGB", (width, height))
    for x in range(0, width, tile):
        for y in range(0, height, tile):
            grain.paste(noise, (x, y))
    ramp = Image.linear_gradient("L")
    base = Image.merge("RGB", (ramp.resize((width, height)),
                               Image.radial_gradient("L").resize((width, height)),
                               ramp.rotate(90).resize((width, height))))
    out = io.BytesIO()
    ImageChops.add(base, grain, 2, -64).save(out, "JPEG", quality=92)
    return out.getvalue()


@dataclass
class Opened:
    lines: list[str]
    page: list[float]
    download: list[float]
    scrubbed: list[float]


def submit_report(intake: Flask, files: list[tuple[bytes, str]]) -> str:
    client = intake.test_client()
    page = client.get("/submit").get_data(as_text=True)
    match = CSRF.search(page)
    if not match:
        raise BenchError("no CSRF token on intake /submit")
    form: dict[str, object] = {
        "csrf_token": match.group(1), "category": "ethics", "agency": "Skatteverket",
        "agency_other": "", "what": "The head of unit hired a relative; see the files.",
        "when": "Spring 2026", "who": "Head of unit", "identity": "anonymous", "name": "",
        "contact": "", "files": [(io.BytesIO(data), name) for data, name in files],
    }
    response = client.post("/submit", data=form, content_type="multipart/form-data")
    receipt = RECEIPT.search(response.get_data(as_text=True))
    if response.status_code != 200 or not receipt:
        raise BenchError(f"intake /submit answered {response.status_code} without a receipt")
    return receipt.group(1)


def rss_child(mode: str, root: Path, cookie: str, case_path: str, file_path: str) -> dict[str, Any]:
    """Run the probe in a fresh interpreter; return its JSON."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.casework_bench", "--rss-probe", mode,
         "--rss-dir", str(root), "--rss-cookie", cookie, "--rss-page", case_path,
         "--rss-file", file_path],
        cwd=harness.REPO_ROOT, capture_output=True, text=True, check=False, timeout=300)
    if out.returncode != 0:
        raise BenchError(f"RSS probe {mode} failed: {out.stderr.strip()[-500:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def rss_probe(mode: str, root: Path, cookie: str, page_path: str, file_path: str) -> None:
    """Child process: peak RSS before and after one download through the view stack.

    The app is rebuilt from the parent's folder and reuses the parent's signed-in session
    (its cookie), so no sign-in happens here. The case page is fetched first (templates,
    imports, the report envelope), then the peak is read, then the file is downloaded once
    with ``buffered=False`` and its chunks are counted and dropped, so the test client
    does not keep its own copy.
    """
    app = create_app(casework_config(root))
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    warm = client.get(page_path)
    before = memory_kib()
    start = time.perf_counter()
    response = client.get(file_path + ("?scrubbed=1" if mode == "scrubbed" else ""),
                          buffered=False)
    size = 0
    for chunk in response.response:
        size += len(chunk)
    response.close()
    took = time.perf_counter() - start
    after = memory_kib()
    print(json.dumps({"warm_status": warm.status_code, "status": response.status_code,
                      "bytes": size, "seconds": took, "before": before, "after": after}))


def bench_open_case(root: Path, page_reps: int, download_reps: int, scrub_reps: int,
                    with_jpeg: bool, file_bytes: int = FILE_BYTES,
                    photo: tuple[int, int] = (6000, 4000), scrub_probe: bool = True) -> Opened:
    escrow = crypto.generate_escrow_key()
    casework = build_casework(root / "casework", escrow.public_key.raw)
    cw = services(casework)
    eva = enrol(casework, "eva", Role.REVIEWER, "etik")
    enrol(casework, "anna", Role.REVIEWER, "akt")
    enrol(casework, "cecilia", Role.CUSTODIAN, "kof")
    intake, _ = link_intake(casework, root / "intake", escrow, ARGON2)

    blob = os.urandom(file_bytes)
    files = [(blob, "evidence.bin")]
    jpeg = b""
    if with_jpeg:
        start = time.perf_counter()
        jpeg = photo_jpeg(FILE_BYTES, *photo)
        jpeg_s = time.perf_counter() - start
        files.append((jpeg, "photo.jpg"))
    start = time.perf_counter()
    submit_report(intake, files)
    submit_s = time.perf_counter() - start
    start = time.perf_counter()
    intake_services: Intake = intake.extensions["lykta.intake"]
    imported, pushed = sync_once(intake_services, cw)
    sync_s = time.perf_counter() - start

    client = signed_in(casework, eva)
    with cw.db.session() as db:
        case_id = db.scalars(select(Case)).one().id
    case_path = f"/cases/{case_id}"
    _, page = get(client, case_path)
    # Which link is which file: download each once (untimed) and compare with what was sent.
    links: dict[str, str] = {}
    for path in dict.fromkeys(FILE_LINK.findall(page)):
        response = client.get(path)
        for data, name in files:
            if response.status_code == 200 and response.data == data:
                links[name] = path
        del response
    if len(links) != len(files):
        raise BenchError(f"the case page links {len(links)} of the {len(files)} files sent "
                         "(or a download differs from what was sent)")

    page_s: list[float] = []
    download_s: list[float] = []
    for _ in range(max(page_reps, download_reps)):
        if len(page_s) < page_reps:
            page_s.append(get(client, case_path)[0])
        if len(download_s) < download_reps:
            start = time.perf_counter()
            response = client.get(links["evidence.bin"])
            download_s.append(time.perf_counter() - start)
            if response.status_code != 200 or len(response.data) != file_bytes:
                raise BenchError("a timed download failed")
            del response

    # Decryption alone (the same envelope, store file to a discarding sink), as the floor.
    envelope_id = links["evidence.bin"].rsplit("/", 1)[1]
    with cw.db.session() as db:
        envelope = db.get(CaseEnvelope, envelope_id)
        assert envelope is not None
        header, body_size = envelope.header, envelope.body_size
    assert eva.key is not None
    decrypt_s = []
    for _ in range(download_reps):
        start = time.perf_counter()
        with cw.store.open(envelope_id) as body:
            crypto.open_stream(header, body, DiscardSink(), eva.key)
        decrypt_s.append(time.perf_counter() - start)

    scrub_s: list[float] = []
    scrub_only: list[float] = []
    scrubbed_size = 0
    if with_jpeg:
        path = links["photo.jpg"] + "?scrubbed=1"
        for _ in range(scrub_reps):
            start = time.perf_counter()
            response = client.get(path)
            scrub_s.append(time.perf_counter() - start)
            if response.status_code != 200 or response.data[:3] != b"\xff\xd8\xff":
                raise BenchError(f"scrubbed download answered {response.status_code}")
            scrubbed_size = len(response.data)
            del response
        for _ in range(max(1, scrub_reps // 2)):
            start = time.perf_counter()
            scrub(jpeg, "photo.jpg")
            scrub_only.append(time.perf_counter() - start)

    cookie = client.get_cookie(COOKIE)
    rss_rows = []
    rss_notes = []
    growth_mib: dict[str, float] = {}
    if cookie is None:
        rss_notes.append("**Peak RSS not measured: no session cookie to hand to the child.**")
    else:
        probes = [("download", "evidence.bin", links["evidence.bin"])]
        if with_jpeg and scrub_probe:
            probes.append(("scrubbed", "photo.jpg (scrubbed)", links["photo.jpg"]))
        for mode, label, file_path in probes:
            try:
                probe = rss_child(mode, root / "casework", cookie.value, case_path, file_path)
            except (BenchError, subprocess.SubprocessError, ValueError) as exc:
                rss_notes.append(f"**Peak RSS probe for {label} failed:** {exc}")
                continue
            before, after = probe["before"], probe["after"]
            if probe["status"] != 200 or "VmHWM" not in before:
                rss_notes.append(f"**Peak RSS probe for {label}: status {probe['status']}, "
                                 f"memory figures {before}.**")
                continue
            growth_mib[mode] = (after["VmHWM"] - before["VmHWM"]) / 1024
            rss_rows.append([
                label, fmt_size(probe["bytes"]) if probe["bytes"] % 1024 == 0
                else f"{probe['bytes'] / MIB:.1f} MiB",
                f"{before['VmHWM'] / 1024:.1f} MiB", f"{after['VmHWM'] / 1024:.1f} MiB",
                f"**{(after['VmHWM'] - before['VmHWM']) / 1024:.1f} MiB**",
                f"{(after['VmHWM'] - before['VmHWM']) * 1024 / probe['bytes']:.1f}x",
                f"{(after['VmRSS'] - before['VmRSS']) / 1024:+.1f} MiB",
            ])

    rows = [
        ["Case page `GET /cases/<id>` (report + acknowledgement decrypted; files not)",
         str(len(page_s)), p50_p95(page_s), fmt_ms(min(page_s))],
        [f"Download `GET /cases/<id>/files/<env>` ({fmt_size(file_bytes)}, decrypted)",
         str(len(download_s)), p50_p95(download_s), fmt_ms(min(download_s))],
        ["  floor: `crypto.open_stream` of that envelope alone (store file to a discarding "
         "sink)", str(len(decrypt_s)), p50_p95(decrypt_s), fmt_ms(min(decrypt_s))],
    ]
    if with_jpeg:
        rows += [
            [f"Scrubbed download `?scrubbed=1` of a {len(jpeg) / MIB:.1f} MiB 6000x4000 "
             "JPEG", str(len(scrub_s)), p50_p95(scrub_s), fmt_ms(min(scrub_s))],
            ["  of which: `casework.scrub.scrub` alone on the plaintext", str(len(scrub_only)),
             p50_p95(scrub_only), fmt_ms(min(scrub_only))],
        ]
    mbps = file_bytes / pct(download_s, 50) / 1e6
    lines = [
        "## 2. Opening a case with a 10 MiB attachment",
        "",
        f"One report with a {fmt_size(file_bytes)} random file"
        + (f" and a {len(jpeg) / MIB:.1f} MiB photo-like JPEG (6000x4000, quality 92, "
           f"generated in {jpeg_s:.1f} s, untimed)" if with_jpeg else "")
        + " submitted through a real intake app (multipart POST `/submit`; "
        f"{submit_s:.2f} s, untimed), moved with `scripts.local_bridge.sync_once` "
        f"({imported} envelopes in, {pushed} pushed, {sync_s:.2f} s, untimed). The reviewer "
        "signs in once; every request below goes through the whole view stack. Requests "
        "interleave page and download.",
        "",
        *md_table(["Request", "N", "p50 / p95", "Best"], rows),
        "",
        f"Download throughput at the median: {mbps:.0f} MB/s of plaintext; the envelope "
        f"body on disk is {body_size / MIB:.2f} MiB (Padmé padding). "
        + (f"The scrubbed JPEG is {scrubbed_size / MIB:.1f} MiB (re-encoded at quality 95)."
           if with_jpeg else ""),
        "",
        "Peak RSS growth of one download in a fresh child process (the app rebuilt from the "
        "same folder, reusing the parent's session cookie, case page fetched first). Peak = "
        "`VmHWM` from `/proc/self/status`; the child's response chunks are counted and "
        "dropped (`buffered=False`), so the test client keeps no copy:",
        "",
    ]
    if rss_rows:
        lines += md_table(["Download", "Bytes sent", "Peak before", "Peak after",
                           "Peak growth", "Growth / file size", "RSS after - before"],
                          rss_rows)
    lines += rss_notes
    notes = [
        f"- The case page does not touch the files: {fmt_ms(pct(page_s, 50))} at the median, "
        "the cost of decrypting the small report and acknowledgement envelopes and rendering.",
        f"- A download costs {fmt_ms(pct(download_s, 50))} against "
        f"{fmt_ms(pct(decrypt_s, 50))} for the decryption alone: the rest is `open_case` "
        "decrypting the report again (the access check), reading the body into a "
        "`BytesIO`, and the test client copying the response.",
    ]
    if "download" in growth_mib:
        notes.append(
            f"- `casework.cases.attachment` returns the whole plaintext as `bytes` and the "
            "view sends it as one body, so a download holds the full file in memory: peak "
            f"RSS grew {growth_mib['download']:.1f} MiB for {fmt_size(file_bytes)} "
            f"({growth_mib['download'] * MIB / file_bytes:.1f}x). Memory per concurrent "
            "download is proportional to the file size (intake accepts up to 50 MiB per "
            "file by default); `crypto.open_stream` itself streams and could write to the "
            "response in chunks.")
    if with_jpeg and scrub_s:
        text = (f"- The scrubbed copy of the {len(jpeg) / MIB:.1f} MiB, 24-megapixel JPEG takes "
                f"{fmt_ms(pct(scrub_s, 50))}, {pct(scrub_only, 50) / pct(scrub_s, 50):.0%} of "
                "it in `scrub` itself (Pillow decodes, copies the pixels through "
                "`tobytes`/`frombytes` and re-encodes at quality 95), on the request thread")
        if "scrubbed" in growth_mib:
            text += (f", and raises peak RSS by {growth_mib['scrubbed']:.0f} MiB: one decoded "
                     "24 MP RGB image is 69 MiB, and several copies are alive at once. Two "
                     "reviewers scrubbing large photos at the same time need that twice")
        notes.append(text + ".")
    lines += ["", "Notes:", "", *notes]
    return Opened(lines, page_s, download_s, scrub_s)


# --------------------------------------------------------------------------- main


def uptime() -> str:
    """``uptime``'s line (the load averages), for the record of how busy the machine was."""
    try:
        done = subprocess.run(["uptime"], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        done = None
    line = done.stdout.strip() if done is not None and done.returncode == 0 else ""
    return line or f"load average: {harness.loadavg()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    Run.options(parser, "150 and 300 cases, a 1 MiB file and a small photo, few repetitions")
    parser.add_argument("--no-jpeg", action="store_true", help="skip the scrubbed JPEG")
    parser.add_argument("--rss-probe", choices=["download", "scrubbed"], help=argparse.SUPPRESS)
    parser.add_argument("--rss-dir", help=argparse.SUPPRESS)
    parser.add_argument("--rss-cookie", help=argparse.SUPPRESS)
    parser.add_argument("--rss-page", help=argparse.SUPPRESS)
    parser.add_argument("--rss-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_probe:
        rss_probe(args.rss_probe, Path(args.rss_dir), args.rss_cookie, args.rss_page,
                  args.rss_file)
        return 0

    run = Run("casework", args)
    sizes = (150, 300) if run.quick else SIZES
    reps, walks, depth = (2, 1, 2) if run.quick else (30, 3, 20)
    out = [*run.heading("Lykta casework benchmarks"), *casework_machine(), ""]
    results: list[InboxResult] = []

    sites: list[InboxSite] = []

    def inbox_site(n: int, work: Path) -> list[str]:
        sites.append(build_inbox(n, work))
        return []

    def inbox_measure() -> list[str]:
        sample_inbox(sites, reps)
        for site in sites:
            results.append(finish_inbox(site, walks, depth))
        return []

    def open_case(work: Path) -> list[str]:
        if run.quick:
            return bench_open_case(work, page_reps=2, download_reps=2, scrub_reps=1,
                                   with_jpeg=not args.no_jpeg, file_bytes=MIB,
                                   photo=(600, 400), scrub_probe=False).lines
        return bench_open_case(work, page_reps=15, download_reps=10, scrub_reps=5,
                               with_jpeg=not args.no_jpeg).lines

    with run.workdir() as work:
        uptime_before = uptime()
        with harness.LoadMeter() as load:
            for n in sizes:
                run.progress(f"1. inbox: {n:,} cases")
                out += run.attempt(f"Inbox at {n:,} cases",
                                   functools.partial(inbox_site, n, work / f"{n}"))
            run.progress("1. inbox: requests at every size, interleaved")
            out += run.attempt("Inbox requests", inbox_measure)
        uptime_after = uptime()
        for site in sites:
            services(site.app).db.engine.dispose()
        for n in sizes:
            shutil.rmtree(work / f"{n}", ignore_errors=True)
        if results:
            out += [*inbox_lines(results, reps, walks, depth), ""]
            out += [*inbox_notes(results), ""]
        out += [load.line(), "",
                f"_`uptime` when the inbox section began: `{uptime_before}`; when it ended: "
                f"`{uptime_after}`._", ""]

        run.progress("2. opening a case with a 10 MiB attachment")
        with harness.LoadMeter() as load:
            out += run.attempt("Opening a case", functools.partial(open_case, work / "open"),
                               heading="## 2. Opening a case with a 10 MiB attachment")
        out += ["", load.line(), ""]
    run.write(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
