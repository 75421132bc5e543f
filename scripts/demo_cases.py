"""The demo's synthetic cases: the whole workflow, seeded once into a new demo instance.

``scripts.demo.set_up`` calls :func:`seed` once, after the accounts and the signed
directory exist and before the apps are served. Nothing is faked but the calendar:

- each report is submitted through intake's own domain function
  (``intake.reporting.submit_report``), sealed exactly as a tipster's would be (files
  through intake's sealing spool);
- casework imports them over the in-process bridge (``scripts.local_bridge.sync_once``);
- the demo staff work them with casework's domain functions, with their own private
  keys unwrapped from their demo passwords, each action in a unit of work of its own, so
  each is an entry of the audit log;
- a last sync carries the status updates and replies back to the tipsters' dialogues.

Only ``received_on`` of four cases is moved back in the database (see
:func:`_backdate`): a newcomer should see the overdue deadlines, and they take days or
months.

By default casework acknowledges every report in the transaction that imports it (the
automatic reply is the legal acknowledgement, see ``casework.bridge.pushes``). An
instance can turn that off (``acknowledge_automatically: false``): the case then stays
"received" until a reader acknowledges it through the workflow. Three reports are
imported that way (see :func:`seed_cases`): one left "received", one received 9 days ago
and still not acknowledged (the acknowledgement is overdue), one acknowledged by hand.
No stage is written by hand.

Every text is synthetic and says so: it starts with ``[DEMO]`` and calls itself a
"Syntetiskt demoärende" (a synthetic demo case). No real person or event is described.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select, update

import crypto
from casework import CaseworkConfig
from casework import create_app as create_casework
from casework.assignment import assign
from casework.cases import add_note, reply
from casework.conflicts import declare_conflict
from casework.escalation import escalate, refer
from casework.models import Assignment, Case, User
from casework.models.cases import CaseReader
from casework.services import EXTENSION as CASEWORK
from casework.services import Casework
from casework.triage import TriageChoice, link, merge, triage
from casework.workflow import change_stage
from intake import IntakeConfig
from intake import create_app as create_intake
from intake.models import ReceiptRecord
from intake.reporting import ReportInput, submit_report
from intake.sealing import Upload
from intake.services import Intake
from intake.uploads import SealingSpool
from scripts.local_bridge import sync_once

T = TypeVar("T")
MARKER = "[DEMO]"
SYNTHETIC = "Syntetiskt demoärende"
CASES_FILE = "demo-cases.json"  # reference, receipt and what each case shows (0600)
STAFF = ("eva", "erik", "lars", "anna", "lena")  # who works the cases


def _sv(text: str) -> str:
    return f"{MARKER} {SYNTHETIC}. {text}"


def _en(text: str) -> str:
    return f"{MARKER} Synthetic demo case ({SYNTHETIC}). {text}"


@dataclass(frozen=True)
class DemoReport:
    """One synthetic report, as a tipster would fill in the form."""

    name: str  # the seeding's handle for the case
    shows: str  # what the case shows a newcomer (for the banner and demo-cases.json)
    category: str
    agency: str
    what: str
    locale: str = "sv"
    confidential: bool = False
    exclude: tuple[str, ...] = ()  # display names of readers the tipster leaves out
    attachment: tuple[str, bytes] | None = None
    days_ago: int = 0  # received this many days ago (synthetic history, see _backdate)
    # False: imported as an instance with acknowledge_automatically off imports it.
    acknowledge: bool = True


REPORTS = (
    DemoReport("overdue", "received 120 days ago, no feedback yet: feedback overdue",
               "ethics", "Skatteverket",
               _sv("En enhetschef lät en släkting gå före i en rekrytering."), days_ago=120),
    DemoReport("confidential", "confidential (the identity is sealed to the custodians)",
               "bias", "Försäkringskassan",
               _sv("Ärenden från en viss stadsdel handläggs långsammare än andra."),
               confidential=True),
    DemoReport("triaged", "acknowledged, triaged (priority high, a label), a file, a reply",
               "ethics", "Trafikverket",
               _en("A manager accepted expensive gifts from a supplier."), locale="en",
               attachment=("anteckningar.txt",
                           _sv("Datum och belopp för gåvorna, i korthet.\n").encode())),
    DemoReport("assigned", "assessed, assigned to eva; the tipster excluded erik",
               "retaliation", "Migrationsverket",
               _sv("En kollega flyttades efter att ha påtalat brister i tillsynen."),
               exclude=("Erik Sandberg",)),
    DemoReport("investigating", "investigating, urgent, received 100 days ago: feedback "
               "overdue", "ethics", "Kommun",
               _sv("Bygglov beviljas snabbare för en nämndledamots bekanta."), days_ago=100),
    DemoReport("substantiated", "concluded: substantiated, after a reply marked as feedback",
               "bias", "Region", _en("Job applicants over 50 are screened out."),
               locale="en"),
    DemoReport("not-substantiated", "concluded: not substantiated; the tipster excluded eva",
               "ethics", "Arbetsförmedlingen",
               _sv("En handläggare sägs ha delat uppgifter om sökande."),
               exclude=("Eva Lindqvist",)),
    DemoReport("outside-scope", "concluded: closed without follow-up (outside the scope)",
               "other", "Polismyndigheten", _sv("Parkeringen vid kontoret räcker inte.")),
    DemoReport("escalated", "escalated from etik to akt (lena sees it)", "ethics",
               "Skatteverket",
               _sv("En chef styr inköp till ett bolag som hans svåger äger.")),
    DemoReport("referred", "referred to JO, then concluded: referred", "other", "Kommun",
               _sv("Allmänna handlingar lämnas inte ut trots upprepade begäranden.")),
    DemoReport("reopened", "concluded (dismissed), then reopened on new information",
               "bias", "Trafikverket",
               _en("Contractors from one region are never invited to tender."),
               locale="en"),
    DemoReport("akt-overdue", "received 95 days ago, no feedback yet: feedback overdue",
               "corruption", "Polismyndigheten",
               _sv("Ett beslag ska ha lämnats tillbaka mot betalning."), days_ago=95),
    DemoReport("kof", "investigating, assigned to anna, escalated to KOF", "funds",
               "Försäkringskassan",
               _sv("Bidrag betalas ut till ett bolag utan verksamhet.")),
    DemoReport("dismissed", "concluded: dismissed (the tipster withdrew)", "procurement",
               "Region", _en("A tender was written to fit one bidder."), locale="en"),
    DemoReport("conflict", "assessed; anna declared a conflict: flagged, pending rekey",
               "procurement", "Trafikverket",
               _sv("Ett ramavtal förlängdes utan ny upphandling.")),
    DemoReport("primary", "acknowledged; a duplicate is merged into it", "corruption",
               "Migrationsverket",
               _sv("Uppehållstillstånd ska ha sålts via en mellanhand.")),
    DemoReport("duplicate", "a duplicate, linked and merged into its primary case",
               "corruption", "Migrationsverket",
               _sv("Samma mellanhand tar betalt för snabbare beslut.")),
    DemoReport("received", "received today, not yet acknowledged (acknowledgement by hand)",
               "ethics", "Kommun",
               _sv("Tjänstebilar används för privata resor på helgerna."), acknowledge=False),
    DemoReport("acknowledgement-overdue", "received 9 days ago and never acknowledged: "
               "acknowledgement overdue", "corruption", "Region",
               _sv("En inspektör ska ha tagit betalt för att skriva om ett protokoll."),
               days_ago=9, acknowledge=False),
    DemoReport("acknowledged-by-hand", "acknowledged by hand by eva (received -> "
               "acknowledged in the workflow)", "bias", "Arbetsförmedlingen",
               _en("Interview invitations skip applicants with foreign names."),
               locale="en", acknowledge=False),
)


def _submit(intake: Intake, report: DemoReport) -> tuple[str, str]:
    """Submit ``report`` as a tipster would; return (receipt code, intake's receipt id)."""
    excluded = [p.key_id for p in intake.directory.all_reviewers() if p.name in report.exclude]
    uploads: list[Upload] = []
    spool_key = None
    if report.attachment is not None:
        # The same sealing spool the form's uploads go through: sealed as it is written.
        spool_key = crypto.PrivateKey.generate()
        spool = SealingSpool(intake.store, spool_key, intake.config.max_file_bytes)
        spool.write(report.attachment[1])
        spool.finish()
        uploads.append(Upload(spool, report.attachment[0], "text/plain"))
    with intake.unit() as work:
        before = set(work.session.scalars(select(ReceiptRecord.id)))
        receipt = submit_report(intake, work.session, ReportInput(
            category=report.category, agency=report.agency, what=report.what,
            when=_sv("Våren 2026") if report.locale == "sv" else _en("Spring 2026"),
            who=_sv("En chef") if report.locale == "sv" else _en("A manager"),
            excluded=excluded, confidential=report.confidential,
            name="Demo Demosson" if report.confidential else "",
            contact="demo@example.invalid" if report.confidential else "",
            locale=report.locale), uploads, spool_key)
        new = set(work.session.scalars(select(ReceiptRecord.id))) - before
    (receipt_id,) = new
    return receipt, receipt_id


def _sync(intake: Intake, casework: Casework) -> None:
    while sync_once(intake, casework) != (0, 0):
        pass


def _backdate(casework: Casework, case_ids: Mapping[str, int]) -> None:
    """Synthetic history: move ``received_on`` of these cases back by their days.

    The one thing the demo fakes, so that the legal deadlines for acknowledgement (7
    days) and feedback (3 months) show as overdue. The rows that copy the date for the inbox
    (case_readers, assignments) move with it. Nothing else is changed by hand.
    """
    # The date the apps use (casework.bridge.imports, casework.workflow): UTC.
    base = dt.datetime.now(dt.UTC).date()
    with casework.unit() as work:
        for case_id, days in case_ids.items():
            day = base - dt.timedelta(days=days)
            work.session.execute(update(Case).where(Case.id == case_id)
                                 .values(received_on=day))
            for copy in (CaseReader, Assignment):
                work.session.execute(update(copy).where(copy.case_id == case_id)
                                     .values(received_on=day))


class Seeding:
    """The demo staff at work: each action in a unit of work of its own."""

    def __init__(self, casework: Casework, keys: dict[str, crypto.PrivateKey],
                 ids: dict[str, str]) -> None:
        self.casework, self.keys, self.ids = casework, keys, ids

    def act(self, who: str, action: Callable[..., T], *args: Any,
            with_casework: bool = True) -> T:
        with self.casework.unit() as work:
            user = work.session.scalar(select(User).where(User.username == who))
            if user is None:
                raise LookupError(f"no demo account {who}")
            head = (self.casework, work.session) if with_casework else (work.session,)
            return action(*head, user, self.keys[who], *args)

    def move(self, who: str, case: str, to: str, code: str, text: str,
             outcome: str | None = None) -> None:
        self.act(who, change_stage, self.ids[case], to, code, text, outcome)

    def person(self, username: str) -> str:
        with self.casework.db.session() as db:
            found = db.scalar(select(User.id).where(User.username == username))
        if found is None:
            raise LookupError(f"no demo account {username}")
        return found

    def work(self) -> None:
        """The whole script (see REPORTS for what each case ends up showing)."""
        # A case imported without the automatic acknowledgement, acknowledged by a reader.
        self.move("eva", "acknowledged-by-hand", "acknowledged", "receipt-confirmed",
                  _sv("Mottagandet bekräftat till anmälaren."))
        within = ("assessed", "within-scope", _sv("Inom kanalens område."))
        opened = ("investigating", "investigation-opened", _sv("Utredning inleds."))
        for case in ("assigned", "investigating", "substantiated", "referred", "reopened"):
            self.move("eva", case, *within)
        self.move("erik", "not-substantiated", *within)
        for case in ("investigating", "substantiated", "not-substantiated"):
            self.move("lars", case, *opened)
        # Triage, a reply, a link, an assignment (erik is not offered: excluded).
        self.act("eva", triage, self.ids["triaged"],
                 TriageChoice(priority="high", add_label="rekrytering"))
        self.act("eva", reply, self.ids["triaged"],
                 _sv("Tack. Kan du berätta vilka år gåvorna gavs?"))
        self.act("eva", link, self.ids["assigned"], self.ids["triaged"], "related",
                 with_casework=False)
        self.act("lars", assign, self.ids["assigned"], self.person("eva"))
        for label in ("jäv", "bygglov"):
            self.act("lars", triage, self.ids["investigating"],
                     TriageChoice(priority="urgent", add_label=label))
        self.act("lars", add_note, self.ids["investigating"],
                 _sv("Begär ut delegationsordningen."))
        # The conclusions, one per outcome.
        self.act("eva", reply, self.ids["substantiated"],
                 _en("We looked into your report and found that it was correct. The "
                     "screening has been stopped."), True)
        self.move("lars", "substantiated", "concluded", "evidence-sufficient",
                  _sv("Underlaget styrker uppgifterna."), "substantiated")
        self.move("lars", "not-substantiated", "concluded", "evidence-insufficient",
                  _sv("Inget stöd i handlingarna."), "not-substantiated")
        self.move("lars", "outside-scope", "concluded", "outside-scope",
                  _sv("Inte ett missförhållande i kanalens mening."),
                  "closed-without-follow-up")
        self.act("lars", refer, self.ids["referred"], "jo", "competence",
                 _sv("JO prövar myndigheters handläggning av allmänna handlingar."))
        self.move("lars", "referred", "concluded", "referred-elsewhere",
                  _sv("Överlämnat till JO."), "referred")
        self.move("lars", "reopened", "concluded", "evidence-insufficient",
                  _sv("För lite underlag."), "dismissed")
        self.move("lars", "reopened", "assessed", "new-information",
                  _sv("Anmälaren har skickat nya uppgifter."))
        # Escalation from etik to akt: akt's readers become recipients.
        self.act("lars", escalate, self.ids["escalated"], "akt", "competence",
                 _sv("Misstänkt jäv vid inköp hör till antikorruptionsteamet."))
        # The anti-corruption team.
        for case in ("kof", "conflict"):
            self.move("anna", case, *within)
        self.move("lena", "kof", *opened)
        self.act("lena", triage, self.ids["kof"],
                 TriageChoice(priority="high", add_label="bidrag"))
        self.act("lena", assign, self.ids["kof"], self.person("anna"))
        self.act("lena", escalate, self.ids["kof"], "kof", "seriousness",
                 _sv("Omfattningen gör att KOF bör känna till ärendet."))
        self.move("lena", "dismissed", "concluded", "withdrawn",
                  _en("The tipster withdrew the report."), "dismissed")
        self.act("anna", link, self.ids["duplicate"], self.ids["primary"], "duplicate",
                 with_casework=False)
        self.act("lena", merge, self.ids["duplicate"], with_casework=False)
        # Last: nothing opens this case afterwards, so the rekey stays pending until a
        # reader (lena) opens it, and the lead's conflicts list shows the flag.
        self.act("anna", declare_conflict, self.ids["conflict"],
                 _sv("Min make arbetar hos leverantören."))


def _unwrap(casework: Casework, passwords: Mapping[str, str]) -> dict[str, crypto.PrivateKey]:
    """The working staff's private keys, unwrapped with their demo passwords."""
    keys = {}
    with casework.db.session() as db:
        for username in STAFF:
            user = db.scalar(select(User).where(User.username == username))
            if user is None or user.wrapped_key is None:
                raise LookupError(f"the demo account {username} has no key")
            keys[username] = crypto.unwrap_private_key(user.wrapped_key, passwords[username])
    return keys


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def seed_cases(instance: Path, passwords: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Seed the synthetic cases into the instance; return {name: reference, receipt, shows}.

    Raises on any failure (:func:`seed` turns that into one line).
    """
    intake_app = create_intake(IntakeConfig.from_instance(instance))
    casework_app = create_casework(CaseworkConfig.from_instance(instance))
    intake: Intake = intake_app.extensions["lykta.intake"]
    casework: Casework = casework_app.extensions[CASEWORK]
    # The same instance (database, store, audit log) importing as one configured with
    # acknowledge_automatically off would: those cases stay "received".
    by_hand = replace(casework, config=replace(casework.config,
                                               acknowledge_automatically=False))
    with intake_app.app_context(), casework_app.app_context():
        submitted = {}
        for acknowledge, importer in ((False, by_hand), (True, casework)):
            submitted.update({r.name: _submit(intake, r) for r in REPORTS
                              if r.acknowledge == acknowledge})
            _sync(intake, importer)
        with casework.db.session() as db:
            by_receipt = {r: i for r, i in db.execute(select(Case.intake_receipt_id, Case.id))}
            ids = {name: by_receipt[receipt_id]
                   for name, (_code, receipt_id) in submitted.items()}
        _backdate(casework, {ids[r.name]: r.days_ago for r in REPORTS if r.days_ago})
        Seeding(casework, _unwrap(casework, passwords), ids).work()
        _sync(intake, casework)  # the status updates and replies reach the tipsters
        with casework.db.session() as db:
            references = {i: r for i, r in db.execute(select(Case.id, Case.reference))}
    cases = {r.name: {"reference": references[ids[r.name]], "receipt": submitted[r.name][0],
                      "shows": r.shows} for r in REPORTS}
    _write_private(instance / CASES_FILE, (json.dumps(cases, indent=2) + "\n").encode())
    return cases


def seed(instance: Path, passwords: Mapping[str, str]) -> bool:
    """Seed the demo cases once; on failure say so in one line and go on without them."""
    started = time.monotonic()
    try:
        cases = seed_cases(instance, passwords)
    except Exception as exc:  # the demo must start anyway; the line says what failed
        first = (str(exc).splitlines() or [""])[0][:200]
        print(f"The demo cases could not be seeded ({type(exc).__name__}: {first}); the "
              "demo starts without them (make demo-reset, then make demo, tries again).",
              file=sys.stderr)
        return False
    print(f"Seeded {len(cases)} synthetic demo cases in {time.monotonic() - started:.1f} s.")
    return True


def banner(instance: Path) -> str:
    """What the seeded cases show and whom to sign in as to see it ("" if none)."""
    try:
        cases = json.loads((instance / CASES_FILE).read_text())
        receipt = cases["substantiated"]["receipt"]
        conflict = cases["conflict"]["reference"]
        escalated = cases["escalated"]["reference"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return (
        f"  demo cases:          {len(cases)} synthetic cases marked [DEMO], in every stage,\n"
        "      worked by the demo staff (three imported with the acknowledgement by hand):\n"
        f"      lena (akt lead): the conflict flag on {conflict} (/conflicts/), the case\n"
        f"      {escalated} escalated from etik, a KOF escalation, a merged duplicate,\n"
        "      overdue feedback and an overdue acknowledgement (/cases/?overdue=\n"
        "      acknowledgement); opening the flagged case rekeys it without anna\n"
        "      eva (etik reviewer): triaged, assigned, overdue cases, a feedback reply and\n"
        "      a case still \"received\" to acknowledge (/cases/?stage=received)\n"
        "      lars (etik lead; his, erik's, anna's and karin's accounts are in\n"
        "      instance/demo-staff.json): concluded cases, a referral to JO, a reopening\n"
        "      olof (auditor): every action above in the audit log (/audit/);\n"
        "      flask --app casework audit verify   checks the whole chain\n"
        f"      a tipster: sign in at :8080 with receipt {receipt} to read the\n"
        "      status updates and the feedback; every case's receipt is in "
        f"instance/{CASES_FILE}\n"
    )
