"""What the deadline and reminder tests share: cases built from direct rows (dates,
stages, readers, assignments; no envelopes: reminders never open one) and a real SMTP
server (aiosmtpd) on the loopback interface that keeps what it receives."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select, update

from casework.bridge.imports import new_reference
from casework.models import Assignment, Case, Conflict, Stage, User
from casework.models.cases import CaseReader

from .conftest import services

TODAY = dt.datetime.now(dt.UTC).date()


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


@dataclass
class Built:
    """A case made of rows: what the reminders look at."""

    unit: str
    received: dt.date
    stage: str = Stage.RECEIVED.value
    acknowledged: bool = False
    feedback: bool = False
    extended: bool = False
    readers: tuple[str, ...] = ()
    assigned: tuple[str, ...] = ()
    conflict: tuple[str, ...] = ()
    id: str = ""
    reference: str = ""


def build(app: Flask, *cases: Built) -> list[Built]:
    with services(app).db.session() as db:
        people = {name: ident for name, ident in db.execute(select(User.username, User.id))}
        for spec in cases:
            case = Case(reference=new_reference(), unit_id=spec.unit, category="ethics",
                        stage=spec.stage, received_on=spec.received,
                        acknowledged_on=spec.received if spec.acknowledged else None,
                        feedback_on=TODAY if spec.feedback else None,
                        feedback_extended=spec.extended, tipster_public_key=bytes(32),
                        intake_receipt_id=secrets.token_hex(16))
            db.add(case)
            db.flush()
            spec.id, spec.reference = case.id, case.reference
            db.add_all([CaseReader(case_id=case.id, user_id=people[name])
                        for name in spec.readers])
            db.add_all([Assignment(case_id=case.id, user_id=people[name],
                                   assigned_by=people[name]) for name in spec.assigned])
            db.add_all([Conflict(case_id=case.id, user_id=people[name])
                        for name in spec.conflict])
    return list(cases)


def set_email(app: Flask, **addresses: str | None) -> None:
    with services(app).db.session() as db:
        for name, address in addresses.items():
            db.execute(update(User).where(User.username == name).values(email=address))


@dataclass
class Mailbox:
    """What the SMTP server accepted: one parsed message per envelope."""

    port: int
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # RCPT TO addresses answered with 550

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
            self, server: Any, session: Any, envelope: Any, address: str,
            rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook names)
            self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[str]:
        """The text bodies of the messages sent to ``address``."""
        bodies = []
        for recipients, message in self.received:
            if address in recipients:
                body = message.get_body(("plain",))
                assert body is not None
                bodies.append(body.get_content().replace("\r\n", "\n"))
        return bodies

    @property
    def recipients(self) -> list[str]:
        return sorted(a for recipients, _ in self.received for a in recipients)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 (no TLS, no auth) for the length of a test."""
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
