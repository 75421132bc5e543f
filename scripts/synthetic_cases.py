"""Synthetic case metadata with realistic shares: the demo's history and the statistics bench.

:func:`synthetic_cases` makes the rows of a batch of made-up cases, received evenly over
the last :data:`DAYS` days: the case rows (unit by the category's route, agency, priority,
stage, outcome and dates following from each case's age, the art. 27(2) amounts of some
substantiated cases) and what happened to them (stage changes, a few cases reopened and
concluded again, escalations to the other unit and to KOF, referrals to configured
authorities, conflicts of interest already rekeyed, feedback extensions, decided identity
requests), as row dicts for SQLAlchemy Core executemany. Codes and dates only: no
content. ``scripts/demo_history.py`` seeds 3,000 of them into the demo;
``bench/statistics_bench.py`` up to a million (draws are cheap on purpose: bisect on
cumulative weights, no ``random.choices`` per row).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from casework.directory import DEFAULT_ROUTES
from casework.models import (
    Case,
    Conflict,
    Escalation,
    FeedbackExtension,
    IdentityRequest,
    StageChange,
)
from common.contract import Outcome, Stage

PREFIX = "SYN-"  # every synthetic reference; real ones are "LY-..."
DAYS = 730  # two years back from today
# Shares, per hundred. Retaliation is rare on purpose: a few a quarter, so some of its
# cells fall under k and the dashboard shows suppression.
CATEGORY_WEIGHTS = {"corruption": 22, "procurement": 15, "funds": 8, "ethics": 26,
                    "bias": 13, "other": 15, "retaliation": 1}
AGENCY_WEIGHTS = {"kommun": 25, "region": 15, "forsakringskassan": 12,
                  "arbetsformedlingen": 10, "migrationsverket": 10, "skatteverket": 8,
                  "trafikverket": 7, "polismyndigheten": 6, "other": 7}
PRIORITY_WEIGHTS = {"low": 10, "normal": 70, "high": 17, "urgent": 3}
# Outcome: its share and the reason code of the conclusion (casework.workflow's pairs).
OUTCOMES = {Outcome.SUBSTANTIATED: (18, "evidence-sufficient"),
            Outcome.NOT_SUBSTANTIATED: (34, "evidence-insufficient"),
            Outcome.CLOSED_WITHOUT_FOLLOW_UP: (26, "outside-scope"),
            Outcome.DISMISSED: (14, "withdrawn"),
            Outcome.REFERRED: (8, "referred-elsewhere")}
# Referral destinations (codes of the configured authorities); IMY is rare on purpose.
AUTHORITY_WEIGHTS = {"aklagarmyndigheten": 30, "ekobrottsmyndigheten": 20, "polisen": 15,
                     "jo": 12, "riksrevisionen": 10, "arbetsmiljoverket": 8, "imy": 2}
UNIT_ESCALATED, KOF_ESCALATED = 0.05, 0.03
CONFLICT_SHARE, IDENTITY_SHARE = 0.015, 0.025
REOPENED_SHARE = 0.03  # of the concluded cases
OTHER_UNIT = {"etik": "akt", "akt": "etik"}
MONEY_CATEGORIES = frozenset({"corruption", "procurement", "funds"})


@dataclass(frozen=True)
class People:
    """The user ids the rows name (foreign keys): per unit its history reader (actor,
    requester) and the person who declares conflicts; the custodian who decides."""

    readers: Mapping[str, str]
    declarers: Mapping[str, str]
    custodian: str


@dataclass
class Rows:
    """One batch of history, as row dicts per table (Core executemany)."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    stage_changes: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[dict[str, Any]] = field(default_factory=list)
    identity_requests: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> list[tuple[Any, list[dict[str, Any]]]]:
        """(table, rows) in foreign-key order."""
        return [(Case.__table__, self.cases), (StageChange.__table__, self.stage_changes),
                (Escalation.__table__, self.escalations), (Conflict.__table__, self.conflicts),
                (FeedbackExtension.__table__, self.extensions),
                (IdentityRequest.__table__, self.identity_requests)]


class _Weights:
    """Weighted draws, fast: the benchmark makes millions (bisect on cumulative weights)."""

    def __init__(self, weights: Mapping[Any, float]) -> None:
        self.values = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))
        self.total = self.cumulative[-1]

    def draw(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.total)]


def _between(rng: random.Random, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` inclusive (randint, without its checks)."""
    return low + int(rng.random() * (high - low + 1))


_CATEGORIES, _AGENCIES = _Weights(CATEGORY_WEIGHTS), _Weights(AGENCY_WEIGHTS)
_PRIORITIES = _Weights(PRIORITY_WEIGHTS)
_OUTCOMES = _Weights({o: w for o, (w, _code) in OUTCOMES.items()})
_REQUEST_STATUS = _Weights({"approved": 60, "refused": 30, "withdrawn": 10})
_ROUTES = {str(category): unit for category, unit in DEFAULT_ROUTES.items()}
RECEIVED, ACKNOWLEDGED = Stage.RECEIVED.value, Stage.ACKNOWLEDGED.value
ASSESSED, INVESTIGATING = Stage.ASSESSED.value, Stage.INVESTIGATING.value
CONCLUDED = Stage.CONCLUDED.value


class _Generator:
    """Makes the rows of one case at a time (see :func:`synthetic_cases`)."""

    def __init__(self, rng: random.Random, today: dt.date, people: People,
                 authorities: Sequence[str]) -> None:
        self.rng, self.today, self.people = rng, today, people
        self.authorities = _Weights({code: AUTHORITY_WEIGHTS.get(code, 5)
                                     for code in authorities} or {"other": 1})
        self.rows = Rows()
        self.mornings: dict[dt.date, dt.datetime] = {}

    def _at(self, day: dt.date) -> dt.datetime:
        """A moment in office hours of ``day`` (stored naive, UTC)."""
        morning = self.mornings.get(day)
        if morning is None:
            morning = self.mornings[day] = dt.datetime.combine(day, dt.time(7))
        return morning + dt.timedelta(seconds=int(self.rng.random() * 36_000))

    def _id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def _move(self, case_id: str, day: dt.date, old: str, new: str, code: str,
              outcome: str | None = None) -> None:
        self.rows.stage_changes.append({
            "id": self._id(), "case_id": case_id, "from_stage": old, "to_stage": new,
            "outcome": outcome, "reason_code": code, "reason_envelope_id": None,
            "reopened": old == CONCLUDED, "actor_id": None, "at": self._at(day)})

    def _escalate(self, case_id: str, day: dt.date, kind: str, destination: str,
                  code: str, actor: str) -> None:
        if day > self.today:
            return
        self.rows.escalations.append({
            "id": self._id(), "case_id": case_id, "kind": kind, "destination": destination,
            "reason_code": code, "reason_envelope_id": None, "actor_id": actor,
            "at": self._at(day)})

    def case(self, index: int) -> None:
        rng, today = self.rng, self.today
        category = _CATEGORIES.draw(rng)
        unit = _ROUTES[category]
        reader = self.people.readers[unit]
        received = today - dt.timedelta(days=int(rng.random() * DAYS))
        case_id = self._id()
        row: dict[str, Any] = {
            "id": case_id, "reference": f"{PREFIX}{index + 1:06d}", "unit_id": unit,
            "category": category, "agency": _AGENCIES.draw(rng),
            "stage": RECEIVED, "received_on": received,
            "acknowledged_on": None, "feedback_on": None, "outcome": None,
            "concluded_on": None, "priority": _PRIORITIES.draw(rng),
            "merged_into_id": None, "tipster_public_key": rng.randbytes(32),
            "intake_receipt_id": self._id(), "created_at": self._at(received),
            "readers_tag": None, "feedback_extended": False, "purged_on": None,
            "damage_estimate_sek": None, "recovered_sek": None}
        self.rows.cases.append(row)
        # Acknowledged: most the day they arrive (automatically), some by hand, a few late.
        draw = rng.random()
        acknowledged = received + dt.timedelta(
            days=0 if draw < 0.88 else _between(rng, 1, 6) if draw < 0.97 else _between(rng, 8, 21))
        if acknowledged > today:
            return
        row.update(stage=ACKNOWLEDGED, acknowledged_on=acknowledged)
        self._move(case_id, acknowledged, RECEIVED, ACKNOWLEDGED,
                   "receipt-confirmed")
        outcome = _OUTCOMES.draw(rng)
        quick = outcome in (Outcome.CLOSED_WITHOUT_FOLLOW_UP, Outcome.DISMISSED)
        # Days from receipt to the conclusion: short for what is closed at assessment,
        # log-normal for an investigation (median about 75 days, 90th percentile ~160).
        days = (_between(rng, 5, 60) if quick
                else min(400, int(rng.lognormvariate(math.log(75), 0.6))))
        assessed = acknowledged + dt.timedelta(days=_between(rng, 1, 10))
        investigating = assessed + dt.timedelta(days=_between(rng, 1, 14))
        concluded = max(received + dt.timedelta(days=days),
                        investigating if not quick else assessed) + dt.timedelta(days=1)
        self._feedback(row, received, concluded, reader)
        if assessed > today:
            return
        row["stage"] = ASSESSED
        self._move(case_id, assessed, ACKNOWLEDGED, ASSESSED, "within-scope")
        self._side_events(case_id, unit, assessed, reader)
        last = ASSESSED
        if not quick:
            if investigating > today:
                return
            row["stage"] = INVESTIGATING
            last = INVESTIGATING
            self._move(case_id, investigating, ASSESSED, INVESTIGATING,
                       "investigation-opened")
            if rng.random() < IDENTITY_SHARE:
                self._identity_request(case_id, investigating, reader)
        if concluded > today:
            return
        row.update(stage=CONCLUDED, outcome=outcome.value, concluded_on=concluded)
        self._move(case_id, concluded, last, CONCLUDED, OUTCOMES[outcome][1],
                   outcome.value)
        if outcome == Outcome.REFERRED:
            self._escalate(case_id, concluded, "referral", self.authorities.draw(rng),
                           rng.choice(("competence", "criminal-suspicion")), reader)
        if outcome == Outcome.SUBSTANTIATED and row["category"] in MONEY_CATEGORIES \
                and rng.random() < 0.7:
            damage = int(round(rng.lognormvariate(math.log(250_000), 1.2), -3)) + 1_000
            row["damage_estimate_sek"] = damage
            if rng.random() < 0.45:
                row["recovered_sek"] = int(round(damage * rng.uniform(0.1, 1.0), -3))
        self._reopen(row, case_id, concluded, outcome)

    def _reopen(self, row: dict[str, Any], case_id: str, concluded: dt.date,
                outcome: Outcome) -> None:
        """A few concluded cases are reopened on new information; most are concluded
        again (the statistics read these cases' histories, not just their rows)."""
        rng = self.rng
        if rng.random() >= REOPENED_SHARE:
            return
        reopened = concluded + dt.timedelta(days=_between(rng, 5, 60))
        if reopened > self.today:
            return
        row.update(stage=INVESTIGATING, outcome=None, concluded_on=None)
        self._move(case_id, reopened, CONCLUDED, INVESTIGATING, "new-information")
        again = reopened + dt.timedelta(days=_between(rng, 10, 90))
        if again > self.today or rng.random() < 0.3:
            return
        row.update(stage=CONCLUDED, outcome=outcome.value, concluded_on=again)
        self._move(case_id, again, INVESTIGATING, CONCLUDED, OUTCOMES[outcome][1],
                   outcome.value)

    def _feedback(self, row: dict[str, Any], received: dt.date, concluded: dt.date,
                  reader: str) -> None:
        """Feedback within three months mostly; some late; some deadlines extended."""
        rng = self.rng
        draw = rng.random()
        if draw < 0.05:
            extended = received + dt.timedelta(days=_between(rng, 60, 85))
            planned = received + dt.timedelta(days=_between(rng, 95, 180))
            if extended <= self.today:
                row["feedback_extended"] = True
                self.rows.extensions.append({
                    "case_id": row["id"], "reason_code": rng.choice((
                        "complex-investigation", "awaiting-external", "volume-of-material")),
                    "reason_envelope_id": None, "extended_by": reader,
                    "extended_at": self._at(extended)})
        elif draw < 0.13:
            planned = received + dt.timedelta(days=_between(rng, 91, 140))
        else:
            planned = received + dt.timedelta(days=_between(rng, 20, 89))
        # The conclusion is told to the reporter: it is feedback too.
        given = min(planned, concluded)
        if given <= self.today:
            row["feedback_on"] = given

    def _side_events(self, case_id: str, unit: str, day: dt.date, reader: str) -> None:
        rng = self.rng
        if rng.random() < UNIT_ESCALATED:
            self._escalate(case_id, day + dt.timedelta(days=_between(rng, 0, 5)), "unit",
                           OTHER_UNIT[unit], rng.choice(("competence", "conflict-in-unit")),
                           reader)
        if rng.random() < KOF_ESCALATED:
            self._escalate(case_id, day + dt.timedelta(days=_between(rng, 0, 20)), "kof", "kof",
                           "seriousness", reader)
        declared = self._at(day + dt.timedelta(days=_between(rng, 0, 10)))
        if rng.random() < CONFLICT_SHARE and declared.date() < self.today - dt.timedelta(3):
            self.rows.conflicts.append({
                "id": self._id(), "case_id": case_id,
                "user_id": self.people.declarers[unit], "reason_envelope_id": None,
                "declared_at": declared,
                "rekeyed_at": declared + dt.timedelta(hours=_between(rng, 1, 72)),
                "rekeyed_by": reader})

    def _identity_request(self, case_id: str, day: dt.date, reader: str) -> None:
        rng = self.rng
        requested = self._at(day + dt.timedelta(days=_between(rng, 1, 20)))
        decided = requested + dt.timedelta(days=_between(rng, 1, 7), hours=_between(rng, 0, 8))
        if decided.date() >= self.today:
            return  # every history request is decided (see the module's docstring)
        status = _REQUEST_STATUS.draw(rng)
        code = {"approved": rng.choice(("investigation-needs", "protection")),
                "refused": rng.choice(("not-necessary", "insufficient-reason")),
                "withdrawn": None}[status]
        self.rows.identity_requests.append({
            "id": self._id(), "case_id": case_id, "requester_id": reader,
            "reason_code": rng.choice(("investigation-needs", "protection",
                                       "legal-proceedings")),
            "reason_envelope_id": None, "status": status, "requested_at": requested,
            "decided_by": self.people.custodian if status != "withdrawn" else None,
            "decided_at": decided, "decision_code": code, "decision_envelope_id": None,
            "notice": (rng.choice(("told", "told", "told", "withheld"))
                       if status == "approved" else None),
            "notice_envelope_id": None,
            "first_read_at": decided + dt.timedelta(hours=2) if status == "approved" else None})


def synthetic_cases(rng: random.Random, start: int, count: int, today: dt.date,
                    people: People, authorities: Sequence[str]) -> Rows:
    """The rows of ``count`` synthetic cases, references ``SYN-<start + 1>`` onwards.

    Received evenly over the last :data:`DAYS` days before ``today``; stage, outcome and
    dates follow from each case's age (a case received last week is rarely concluded).
    ``authorities``: the referral codes of the instance's configuration.
    """
    generator = _Generator(rng, today, people, authorities)
    for index in range(start, start + count):
        generator.case(index)
    return generator.rows
