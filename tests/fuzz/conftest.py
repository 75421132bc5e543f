"""The fuzzed world: linked intake and casework apps, the sync app, and who is asking."""

from __future__ import annotations

import base64
import io
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from wtforms import Form  # type: ignore[import-untyped]
from wtforms.fields.core import UnboundField  # type: ignore[import-untyped]

from casework import forms as casework_forms
from casework.accounts import create_user
from casework.enrolment import begin_enrolment
from casework.models import Case as CaseRow
from casework.models import CaseEnvelope, Membership, Role, User
from casework.sessions import close_session, open_session
from intake import forms as intake_forms
from intake.bridge.sync import create_app as create_sync_app
from intake.dialogue import sign_in as tipster_sign_in
from intake.dialogue import sign_out as tipster_sign_out
from intake.models import StoredEnvelope
from tests.casework.conftest import (  # noqa: F401 (fixtures)
    Staff,
    casework,
    casework_config,
    enrol,
    make_casework,
    services,
)
from tests.casework.linked import Linked, linked  # noqa: F401 (fixture)
from tests.intake.conftest import submit

from .harness import Identity, StateProbe, Target, install_error_capture, new_csrf_raw, signer

# Columns and tables that change on a refused request by design: failed sign-ins count
# towards the lockout, a resumed session is seen, a verified sync request spends its nonce.
CASEWORK_VOLATILE = {
    "users": {"failed_attempts", "locked_until", "last_failed_at"},
    "sign_in_throttle": {"*"},
    "staff_sessions": {"last_seen_at"},
}
INTAKE_VOLATILE = {
    "sync_nonces": {"*"},
    "sync_state": {"*"},
    "tipster_sessions": {"purge_after"},
}


def form_fields() -> tuple[list[str], list[str]]:
    """Every field name of both apps' forms (with the prefixes the views use)."""
    names = {"csrf_token", "files", "reply-text", "note-text"}
    for module in (casework_forms, intake_forms):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Form):
                names.update(name for klass in value.__mro__ for name, field in vars(klass).items()
                             if isinstance(field, UnboundField))
    return sorted(names), []


@dataclass
class World:
    linked: Linked
    sync_app: Flask
    targets: dict[str, Target]


def _now() -> int:
    return int(time.time())


@pytest.fixture
def fuzz_world(linked: Linked, enrol: Callable[..., Staff]) -> Iterator[World]:  # noqa: F811
    cw, ik = linked.casework, linked.intake
    cw_services, ik_services = services(cw), ik.extensions["lykta.intake"]
    staff = dict(linked.staff)
    staff["olof"] = enrol("olof", Role.AUDITOR, "kof")
    # Content to point real ids at: two reports (one with a file), imported into casework.
    client = ik.test_client()
    receipts = [submit(client, files=(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "a.pdf")),
                submit(client, category="corruption")]
    linked.sync()
    with cw_services.db.session() as db:
        create_user(db, cw_services.config, username="petra", display_name="Petra",
                    unit_id="etik", role=Role.REVIEWER)
        for victim in ("victim-a", "victim-b"):
            create_user(db, cw_services.config, username=victim, display_name=victim,
                        unit_id="etik", role=Role.REVIEWER)
        users = {u.username: u.id for u in db.scalars(select(User))}
        case_ids = list(db.scalars(select(CaseRow.id)))
        envelope_ids = list(db.scalars(select(CaseEnvelope.id)))
    with ik_services.db.session() as db:
        intake_envelopes = list(db.scalars(select(StoredEnvelope.id)))
        receipt_ids = list(db.scalars(select(StoredEnvelope.receipt_id)))

    names, _ = form_fields()
    values = ["ethics", "corruption", "other", "anonymous", "confidential", "__other__",
              "Skatteverket", "etik", "akt", "kof", "reviewer", "unit_lead", "administrator",
              "auditor", *users.values(), *receipts, "123456", "000000",
              "correct horse battery staple",
              *[p.key_id for p in ik_services.directory.all_reviewers()]]

    def retire_staff(data: dict[str, Any]) -> None:
        with cw_services.db.session() as db:
            close_session(db, str(data["staff"]["id"]))

    def staff_identity(name: str) -> Identity:
        person = staff[name]

        def mint() -> dict[str, object]:
            with cw_services.db.session() as db:
                grant = open_session(db, users[name], person.key)
            return {"staff": {"id": grant.session_id,
                              "secret": base64.b64encode(grant.secret).decode("ascii")},
                    "csrf_token": new_csrf_raw()}
        return Identity(f"{_role(cw, users[name])}:{name}", mint, retire_staff)

    def enrolling() -> dict[str, object]:
        # Between a checked password and TOTP set-up: the cookie names a server-side row.
        with cw_services.db.session() as db:
            enrolment_id = begin_enrolment(db, cw_services.config, users["petra"])
        return {"enrol": {"id": enrolment_id}, "csrf_token": new_csrf_raw()}

    cw_identities = [Identity("signed-out", lambda: {"csrf_token": new_csrf_raw()}),
                     Identity("enrolling:petra", enrolling)]
    cw_identities += [staff_identity(n) for n in ("admin", "lena", "eva", "cecilia", "stina",
                                                   "olof")]

    def tipster() -> dict[str, object]:
        signed = tipster_sign_in(ik_services, receipts[0])
        return {"tipster": {"id": signed.session_id,
                            "secret": base64.b64encode(signed.secret).decode("ascii"),
                            "seen": _now()},
                "csrf_token": new_csrf_raw()}

    def retire_tipster(data: dict[str, Any]) -> None:
        tipster_sign_out(ik_services, str(data["tipster"]["id"]))

    ik_identities = [Identity("signed-out", lambda: {"csrf_token": new_csrf_raw()}),
                     Identity("tipster", tipster, retire_tipster)]
    cw_config, ik_config = cw_services.config, ik_services.config
    cw_params = {"case_id": case_ids, "envelope_id": envelope_ids,
                 "username": ["victim-a", "victim-b", "nobody"], "code": ["en", "sv"],
                 "filename": ["lykta.css", "casework.css"]}
    ik_params = {"code": ["en", "sv"], "filename": ["lykta.css"],
                 "envelope_id": intake_envelopes, "receipt_id": receipt_ids}
    intake_probe = StateProbe(Path(ik_config.database_url.removeprefix("sqlite:///")),
                              ik_config.storage_path, INTAKE_VOLATILE)
    targets = {
        "casework": Target("casework", cw, StateProbe(
            Path(cw_config.database_url.removeprefix("sqlite:///")),
            cw_config.storage, CASEWORK_VOLATILE), cw_identities, cw_params, names, values,
            cookie_name="lykta_casework"),
        "intake": Target("intake", ik, intake_probe, ik_identities, ik_params, names, values,
                         cookie_name="lykta_intake"),
    }
    seed = secrets.token_bytes(32)
    sync_app = create_sync_app(replace(ik_config, sync_signing_seed=seed))
    sync_app.config["TESTING"] = True
    targets["sync"] = Target("sync", sync_app, StateProbe(
        intake_probe.database, intake_probe.storage, INTAKE_VOLATILE),
        [Identity("casework-key", dict)], ik_params, names, values,
        sign=signer(linked.signing))
    for target in targets.values():
        install_error_capture(target)
    yield World(linked, sync_app, targets)
    for target in targets.values():
        target.probe.close()


def _role(app: Flask, user_id: str) -> str:
    with services(app).db.session() as db:
        return str(db.scalars(select(Membership.role).where(Membership.user_id == user_id)).first())
