"""Reminder e-mails about the legal deadlines: composed from counts, sent through SMTP.

A run (``flask --app casework deadlines remind``, or the rq job :func:`reminders_job`
that ``jobs schedule`` queues hourly on ``lykta-mail``) asks ``casework.deadlines`` what
is due, groups it per person (one e-mail per person per run) and sends it. An e-mail
holds NO case content and no case reference: only counts per deadline and a link to the
inbox, filtered (``public_url`` + ``/cases/?overdue=...``). Mail leaves the authority's
network in plain sight of every relay on the way; a count and a link tell a relay
nothing about any report, and the person signs in to see which cases.

Each (case, kind, deadline) is reminded once. A run first CLAIMS what it will send
(inserts the :class:`ReminderSent` rows and commits), then sends, then releases the
claims of every message that failed, so that the next run tries again. Two runs at once
cannot both claim a reminder: the primary key refuses the second insert, which is then
skipped. The price: a run killed between its claim and its sending loses those
reminders (the inbox's overdue filter still shows the cases); a claim that is released
after a partly failed run reminds everyone it concerned again, since a repeated reminder
is better than a missed deadline.

Without ``smtp_host`` reminders are off: a run computes and records nothing.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import Counter
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.unit_of_work import emit_on

from .config import CaseworkConfig
from .deadlines import Due, due_reminders, recipients, today
from .events import RemindersSent
from .models import ReminderKind, ReminderSent, User
from .services import Casework

__all__ = ["ReminderRun", "compose", "enqueue_reminders", "reminders_job", "send_reminders"]

log = logging.getLogger("lykta.casework.reminders")
SMTP_TIMEOUT = 30.0
# Where each kind of reminder sends the reader: the inbox, filtered to those cases where
# a filter exists (overdue), else the oldest first (the nearest deadlines on top).
LINKS = {
    ReminderKind.ACKNOWLEDGE_SOON: "/cases/?stage=received&sort=oldest",
    ReminderKind.ACKNOWLEDGE_OVERDUE: "/cases/?overdue=acknowledgement",
    ReminderKind.FEEDBACK_SOON: "/cases/?sort=oldest",
    ReminderKind.FEEDBACK_OVERDUE: "/cases/?overdue=feedback",
}
ORDER = (ReminderKind.ACKNOWLEDGE_OVERDUE, ReminderKind.ACKNOWLEDGE_SOON,
         ReminderKind.FEEDBACK_OVERDUE, ReminderKind.FEEDBACK_SOON)


@dataclass(frozen=True)
class ReminderRun:
    """What one run did (or, dry, would do): counts only."""

    enabled: bool
    due: int = 0  # deadlines due for a reminder
    messages: int = 0  # e-mails sent (dry: that would be sent)
    cases: int = 0  # cases whose reminders were sent and recorded
    failed: int = 0  # e-mails that failed (their reminders are tried again next run)
    unreachable: int = 0  # due deadlines with no one to tell (no e-mail address set)
    dry_run: bool = False


@dataclass(frozen=True)
class _Letter:
    """One person's e-mail of this run, and the reminders it carries."""

    address: str
    message: EmailMessage
    items: tuple[Due, ...]


def _lines(config: CaseworkConfig, counts: Counter[ReminderKind]) -> list[str]:
    base = (config.public_url or "").rstrip("/")
    lines: list[str] = []
    sentences = {
        ReminderKind.ACKNOWLEDGE_OVERDUE: lambda n: ngettext(
            "%(num)d case is past its 7-day acknowledgement deadline.",
            "%(num)d cases are past their 7-day acknowledgement deadline.", n),
        ReminderKind.ACKNOWLEDGE_SOON: lambda n: ngettext(
            "%(num)d case needs its receipt acknowledged within %(days)d days.",
            "%(num)d cases need their receipt acknowledged within %(days)d days.", n,
            days=config.acknowledge_reminder_days),
        ReminderKind.FEEDBACK_OVERDUE: lambda n: ngettext(
            "%(num)d case is past its feedback deadline.",
            "%(num)d cases are past their feedback deadline.", n),
        ReminderKind.FEEDBACK_SOON: lambda n: ngettext(
            "%(num)d case needs feedback to the reporter within %(days)d days.",
            "%(num)d cases need feedback to the reporter within %(days)d days.", n,
            days=config.feedback_reminder_days),
    }
    for kind in ORDER:
        if counts[kind]:
            lines.append(str(sentences[kind](counts[kind])))
            if base:
                lines.append("  " + base + LINKS[kind])
    return lines


def _text(config: CaseworkConfig, counts: Counter[ReminderKind]) -> str:
    parts = [str(gettext("Lykta casework: deadlines of cases you handle.")), "",
             *_lines(config, counts), "",
             str(gettext("This message holds no case content. Sign in to Lykta casework "
                         "to see the cases."))]
    return "\n".join(parts)


def compose(config: CaseworkConfig, address: str, items: list[Due]) -> EmailMessage:
    """One person's reminder: counts per deadline and links, in Swedish and English."""
    counts = Counter(item.kind for item in items)
    with force_locale("sv"):
        swedish = _text(config, counts)
        subject = str(gettext("Lykta: deadlines"))
    with force_locale("en"):
        english = _text(config, counts)
        subject_en = str(gettext("Lykta: deadlines"))
    message = EmailMessage()
    message["From"] = config.mail_from
    message["To"] = address
    message["Subject"] = subject if subject == subject_en else f"{subject} / {subject_en}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=config.mail_from.rpartition("@")[2])
    # Marks it as machine-sent (RFC 3834): no auto-replies, no vacation notices back.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"{swedish}\n\n---\n\n{english}\n")
    return message


def _password(path: Path | None) -> str:
    if path is None:
        raise smtplib.SMTPException("smtp_username without smtp_password_file")
    return path.read_text(encoding="utf-8").strip()


def _connect(config: CaseworkConfig) -> smtplib.SMTP:
    assert config.smtp_host is not None  # noqa: S101 (send_reminders checked it)
    smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=SMTP_TIMEOUT)
    try:
        smtp.ehlo()
        if config.smtp_starttls:
            # Verified against the system's CAs: a relay that cannot prove its name gets
            # no password and no mail (starttls raises if the server does not offer it).
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if config.smtp_username:
            if not config.smtp_starttls:
                # Never send the password in the clear.
                raise smtplib.SMTPException("smtp_username needs smtp_starttls")
            smtp.login(config.smtp_username, _password(config.smtp_password_path))
    except BaseException:
        smtp.close()
        raise
    return smtp


def _deliver(config: CaseworkConfig, letters: list[_Letter]) -> list[bool]:
    """Send each letter over one connection; whether each was accepted."""
    if not letters:
        return []
    try:
        smtp = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        # The type only: an exception's text may hold a server's answer or an address.
        log.warning("reminders not sent: SMTP connection failed (%s)", type(exc).__name__)
        return [False] * len(letters)
    sent: list[bool] = []
    try:
        for letter in letters:
            try:
                smtp.send_message(letter.message, to_addrs=[letter.address])
                sent.append(True)
            except smtplib.SMTPServerDisconnected:
                log.warning("reminder not sent: the SMTP server disconnected")
                sent.extend([False] * (len(letters) - len(sent)))
                break
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("reminder not sent (%s)", type(exc).__name__)
                sent.append(False)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return sent


def _claim(session: Session, items: list[Due]) -> set[tuple[str, str, Any]]:
    """Insert a ReminderSent row for each item; the keys this run holds.

    A row another run inserted first fails on the primary key: that reminder is theirs.
    """
    claimed: set[tuple[str, str, Any]] = set()
    for item in items:
        if item.key in claimed:
            continue
        try:
            with session.begin_nested():
                session.add(ReminderSent(case_id=item.case_id, kind=item.kind.value,
                                         deadline=item.deadline))
        except IntegrityError:
            continue
        claimed.add(item.key)
    return claimed


def send_reminders(casework: Casework, *, dry_run: bool = False) -> ReminderRun:
    """One reminder run (needs an app context: the e-mails are put into words there)."""
    config = casework.config
    if not config.smtp_host:
        return ReminderRun(enabled=False, dry_run=dry_run)
    with casework.unit() as work:
        session = work.session
        due = due_reminders(session, today(), acknowledge_days=config.acknowledge_reminder_days,
                            feedback_days=config.feedback_reminder_days)
        told = recipients(session, due)
        reachable = {item.key for items in told.values() for item in items}
        unreachable = len({item.key for item in due} - reachable)
        if dry_run:
            return ReminderRun(True, len(due), len(told), len({k[0] for k in reachable}),
                               0, unreachable, dry_run=True)
        claimed = _claim(session, [item for item in due if item.key in reachable])
        addresses = {user_id: address for user_id, address in session.execute(
            select(User.id, User.email).where(User.id.in_(list(told))))}
        letters = []
        for user_id in sorted(told):
            items = [item for item in told[user_id] if item.key in claimed]
            address = addresses.get(user_id)
            if items and address:
                letters.append(_Letter(address, compose(config, address, items),
                                       tuple(items)))
    # The claims are committed: from here another run leaves these reminders alone.
    results = _deliver(config, letters)
    failed_keys = {item.key for letter, ok in zip(letters, results, strict=True) if not ok
                   for item in letter.items}
    recorded = claimed - failed_keys
    run = ReminderRun(True, len(due), results.count(True), len({k[0] for k in recorded}),
                      results.count(False), unreachable)
    if not letters and not claimed:
        return run
    with casework.unit() as work:
        if failed_keys:
            keys = sorted(failed_keys)
            for start in range(0, len(keys), 300):
                work.session.execute(delete(ReminderSent).where(
                    tuple_(ReminderSent.case_id, ReminderSent.kind, ReminderSent.deadline)
                    .in_(keys[start:start + 300])))
        emit_on(work.session, RemindersSent(run.messages, run.cases, run.failed))
    log.info("reminders: %d sent, %d failed", run.messages, run.failed)
    return run


def reminders_job(instance_path: str | None = None) -> dict[str, Any]:
    """One reminder run for the casework instance at ``instance_path`` (rq job)."""
    from .jobs.work import app_for
    from .services import EXTENSION

    app = app_for(instance_path)
    with app.app_context():
        return asdict(send_reminders(app.extensions[EXTENSION]))


def enqueue_reminders(redis_url: str | None, instance_path: Path) -> str:
    """Queue one run on ``lykta-mail`` (returns the job id), or run it now without Redis."""
    from .jobs import REMINDERS, enqueue

    return enqueue(redis_url, REMINDERS, instance_path)
