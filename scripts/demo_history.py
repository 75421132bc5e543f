"""The demo's synthetic history: a few thousand old cases for the statistics to count.

``scripts.demo.set_up`` calls :func:`seed` once, after the 20 worked demo cases
(``scripts.demo_cases``). A newcomer signing in as the statistician should see two years
of figures, charts and some suppressed cells at once; working 3,000 cases through the
domain functions would take many minutes, so this history is written directly:

- **Metadata** (cases, stage changes, escalations and referrals, conflicts, feedback
  extensions, identity requests) comes from ``scripts.synthetic_cases``, a seeded generator
  with realistic shares, and goes in with SQLAlchemy Core bulk inserts (executemany).
  ``bench/statistics_bench.py`` uses the same generator at 10k to 1M cases.
- **Content is synthetic too**: each case has one small REPORT envelope, a one-line text
  marked ``[DEMO]`` sealed with the real sealing code (``crypto.seal_stream``) to the
  unit's history reader and the escrow key, its body in the casework store and a
  ``case_readers`` row, so that reader finds and opens it like any case. About 3,000
  seals take a second or two (the seeding prints its time).
- **Marked**: every reference starts with ``SYN-`` (real ones start ``LY-``), the banner
  says so, and the texts say "Syntetiskt demoärende".
- **Audited**: the rows do not pass through the domain functions, so they have no audit
  entries of their own. The whole insert is one unit of work that emits one
  :class:`casework.events.DemoHistorySeeded` (how many cases, over how many days): the log
  says what was seeded and when, and its chain verifies as before.

Who reads the history: two reviewers of their own, ``hedda`` (etik) and ``hugo`` (akt)
(:data:`HISTORY_READERS`, created with the other demo accounts, passwords in
instance/demo-staff.json). Sealing it to eva or lena would bury the 20 worked cases
(received today or a few months ago) under hundreds of newer history cases on the first
page of their inboxes. Simplifications, said here rather than hidden: an escalated history
case keeps its original reader list (the other unit's and KOF's readers are not added);
every conflict of interest is already rekeyed; every identity request is decided (the
history cases have no sealed identity for a custodian to release).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

import crypto
from casework import CaseworkConfig
from casework import create_app as create_casework
from casework.events import DemoHistorySeeded
from casework.models import (
    Case,
    CaseEnvelope,
    User,
)
from casework.models.cases import CaseReader
from casework.services import EXTENSION as CASEWORK
from casework.services import Casework
from common.contract import EnvelopeKind
from common.unit_of_work import emit_on
from common.vocabulary import AGENCIES
from scripts.synthetic_cases import DAYS, PREFIX, People, Rows, synthetic_cases

DEFAULT_COUNT = 3_000
HISTORY_FILE = "demo-history.json"  # count, span and readers, for the banner (0600)
MARKER = "[DEMO]"
SYNTHETIC = "Syntetiskt demoärende"
# The history's readers (username, display name, unit): reviewers of their own.
HISTORY_READERS = (("hedda", "Hedda Historik", "etik"), ("hugo", "Hugo Historik", "akt"))
# Who declares the history's conflicts of interest (not a reader of it: rekeyed out).
DECLARERS = {"etik": "erik", "akt": "anna"}
CUSTODIAN = "cecilia"
BATCH = 10_000
SEED = 2019_1937  # the directive's number

# --- seeding the demo instance ----------------------------------------------------------


def _report(row: dict[str, Any], readers: list[str]) -> bytes:
    """The sealed report of a history case: a report as intake seals it, one line of text."""
    return json.dumps({
        "version": 1, "category": row["category"], "agency": AGENCIES[row["agency"]][0],
        "what": f"{MARKER} {SYNTHETIC} ur den syntetiska historiken ({row['reference']}); "
                "ingen verklig person eller händelse.",
        "when": "", "who": "", "excluded_key_ids": [], "recipient_key_ids": readers,
        "confidential": False, "attachments": [],
        "submitted_on": row["received_on"].isoformat(), "language": "sv",
        "unit": row["unit_id"]}).encode()


def _seal(casework: Casework, rows: Rows, keys: Mapping[str, tuple[str, crypto.PublicKey]]
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Seal each case's report to its unit's history reader and escrow; return the
    envelope and case_readers rows. Bodies go to the store now (removed if seeding fails)."""
    escrow = casework.config.escrow_public_key
    envelopes, readers = [], []
    for row in rows.cases:
        user_id, key = keys[row["unit_id"]]
        recipients = [key] + ([crypto.PublicKey(escrow)] if escrow is not None else [])
        incoming, file = casework.store.new_incoming()
        with file:
            sealed = crypto.seal_stream(
                io.BytesIO(_report(row, [key.key_id.hex()])), file, recipients,
                routing={"kind": EnvelopeKind.REPORT.value, "category": row["category"],
                         "unit": row["unit_id"]})
        envelope_id = sealed.envelope_id.hex()
        casework.store.commit(incoming, envelope_id)
        envelopes.append({"id": envelope_id, "case_id": row["id"], "kind": "report",
                          "header": sealed.header, "body_size": sealed.body_size,
                          "author_id": None, "delivered": True, "origin": "intake",
                          "created_at": row["created_at"], "generation": 0})
        readers.append({"case_id": row["id"], "user_id": user_id,
                        "received_on": row["received_on"]})
    return envelopes, readers


def seed_history(casework: Casework, count: int = DEFAULT_COUNT,
                 today: dt.date | None = None) -> dict[str, Any]:
    """Write ``count`` synthetic cases into ``casework`` in one unit of work; return what
    was seeded (count, first and last day, readers, seconds spent sealing)."""
    today = today or dt.datetime.now(dt.UTC).date()
    with casework.db.session() as db:
        users = {u.username: u for u in db.scalars(select(User))}
        ids = {name: user.id for name, user in users.items()}
        if db.scalar(select(func.count()).select_from(Case).where(
                Case.reference.startswith(PREFIX))):
            raise RuntimeError("the synthetic history is already there")
    keys: dict[str, tuple[str, crypto.PublicKey]] = {}
    for username, _name, unit in HISTORY_READERS:
        public = users[username].public_key
        if public is None:
            raise LookupError(f"the history reader {username} has no key")
        keys[unit] = (ids[username], crypto.PublicKey(public))
    people = People(readers={unit: uid for unit, (uid, _key) in keys.items()},
                    declarers={unit: ids[name] for unit, name in DECLARERS.items()},
                    custodian=ids[CUSTODIAN])
    # A fixed seed: every demo shows the same shares (the dates follow today). Nothing
    # drawn here is a secret (envelope ids and content keys come from crypto).
    rows = synthetic_cases(random.Random(SEED), 0, count, today, people,  # noqa: S311
                           [a.code for a in casework.config.referral_authorities])
    started = time.monotonic()
    envelopes, readers = _seal(casework, rows, keys)
    sealing = time.monotonic() - started
    try:
        with casework.unit() as work:
            for table, batch in [*rows.tables(), (CaseEnvelope.__table__, envelopes),
                                 (CaseReader.__table__, readers)]:
                for at in range(0, len(batch), BATCH):
                    if batch[at:at + BATCH]:
                        work.session.execute(insert(table), batch[at:at + BATCH])
            emit_on(work.session, DemoHistorySeeded(count=count, days=DAYS))
    except BaseException:
        for envelope in envelopes:  # no row names them: not left behind
            casework.store.delete(envelope["id"])
        raise
    first = min(r["received_on"] for r in rows.cases)
    return {"count": count, "first": first.isoformat(),
            "last": max(r["received_on"] for r in rows.cases).isoformat(),
            "readers": [u for u, _n, _unit in HISTORY_READERS], "sealing_s": round(sealing, 2)}


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def seed(instance: Path, count: int = DEFAULT_COUNT) -> bool:
    """Seed the history once; on failure say so in one line and go on without it."""
    started = time.monotonic()
    try:
        app = create_casework(CaseworkConfig.from_instance(instance))
        with app.app_context():
            seeded = seed_history(app.extensions[CASEWORK], count)
    except Exception as exc:  # the demo must start anyway; the line says what failed
        first = (str(exc).splitlines() or [""])[0][:200]
        print(f"The synthetic history could not be seeded ({type(exc).__name__}: {first}); "
              "the demo starts without it.", file=sys.stderr)
        return False
    _write_private(instance / HISTORY_FILE, (json.dumps(seeded, indent=2) + "\n").encode())
    print(f"Seeded a synthetic history of {count:,} cases ({PREFIX}...) in "
          f"{time.monotonic() - started:.1f} s (sealing {seeded['sealing_s']:.1f} s).")
    return True


def banner(instance: Path) -> str:
    """What the history is and who sees it ("" if there is none)."""
    try:
        seeded = json.loads((instance / HISTORY_FILE).read_text())
        count, first, last = int(seeded["count"]), str(seeded["first"]), str(seeded["last"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return (
        f"  synthetic history:   {count:,} made-up cases, {first} to {last}, references\n"
        f"      {PREFIX}..., metadata written directly (no real person or event; each has a\n"
        "      one-line sealed report marked [DEMO]) so the statistics have figures:\n"
        "      stina (statistician) sees them, with small cells suppressed (:c), and can\n"
        "      publish the last quarter; hedda (etik) and hugo (akt) read the history's\n"
        "      cases (instance/demo-staff.json); the audit log records one entry for it\n"
        "      (demo_history_seeded)\n"
    )
