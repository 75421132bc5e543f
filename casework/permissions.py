"""Separation of duties, in one table: which roles may use which endpoint.

Every endpoint of the app must appear here; an endpoint missing from the table is
refused for everyone (fail closed), and the route-by-role test fails, so a new route
cannot ship without a decision. Unit-level scoping (a reviewer sees only their units'
cases) is enforced again in the domain functions.
"""

from __future__ import annotations

from typing import Final

from .models import Role

PUBLIC: Final = "public"  # reachable without signing in
PENDING: Final = "pending"  # between a checked password and a completed enrolment

EVERYONE = frozenset(Role)
ADMIN = frozenset({Role.ADMINISTRATOR})
READERS = frozenset({Role.REVIEWER, Role.UNIT_LEAD})
LEADS = frozenset({Role.UNIT_LEAD})
AUDITORS = frozenset({Role.AUDITOR})
CUSTODIANS = frozenset({Role.CUSTODIAN})
STATISTICIANS = frozenset({Role.STATISTICIAN})

PERMISSIONS: dict[str, frozenset[Role] | str] = {
    "static": PUBLIC,
    "assets.static": PUBLIC,
    "auth.login": PUBLIC,
    "language.switch": PUBLIC,
    "auth.enrol": PENDING,
    "auth.logout": EVERYONE,
    "home.index": EVERYONE,
    "admin.users": ADMIN,
    "admin.create_user": ADMIN,
    "admin.reset_password": ADMIN,
    "admin.directory": ADMIN,
    "cases.index": READERS,
    "cases.show": READERS,
    "cases.reply": READERS,
    "cases.note": READERS,
    "cases.download": READERS,
    "cases.assign": LEADS,
    # --- triage, stages, links, feedback (casework/views/workflow.py) ---
    # Readers all: each move's role (reader or lead) is the graph's, checked in
    # casework.workflow; merging is a lead's, checked in casework.triage too.
    "workflow.triage": READERS,
    "workflow.transition": READERS,
    "workflow.link": READERS,
    "workflow.unlink": READERS,
    "workflow.merge": LEADS,
    # --- assignment, handover, escalation, referral (casework/views/handling.py) ---
    "handling.unassign": LEADS,
    "handling.transfer": LEADS,
    "handling.escalate": LEADS,
    "handling.refer": LEADS,
    "handling.handover": LEADS,
    "handling.handover_submit": LEADS,
    # --- conflicts of interest and rekeying (casework/views/conflicts.py) ---
    # Any reader declares a conflict or rekeys; the lead sees the flagged cases of the
    # units they lead (ids, names and dates, never content).
    "conflicts.declare": READERS,
    "conflicts.rekey": READERS,
    "conflicts.index": LEADS,
    # --- the audit log (casework/views/audit.py) ---
    "audit.index": AUDITORS,
    "audit.export": AUDITORS,
    "audit.verify": AUDITORS,
    "audit.verify_now": AUDITORS,  # POST: starts a background run
    # --- identities under four eyes (casework/views/identity.py) ---
    # A reader asks, withdraws and (once approved) reads; a custodian decides. The domain
    # checks again that the custodian is not the requester and that the reader reads the
    # case (casework.identity).
    "identity.request": READERS,
    "identity.withdraw": READERS,
    "identity.read": READERS,
    "identity.queue": CUSTODIANS,
    "identity.decide": CUSTODIANS,
    # --- oral reports (casework/views/oral.py) ---
    "oral.new": READERS,
    "oral.create": READERS,
    "oral.minutes": READERS,
    # --- deadlines (casework/views/deadlines.py) ---
    "deadlines.extend": READERS,
    # A person's e-mail address, for the reminders (casework/views/admin.py).
    "admin.set_email": ADMIN,
    # --- retention (casework/views/retention.py) ---
    # Administrators see what is due and set a unit's period; unit leads place and lift
    # holds on their units' cases. Purging itself is a job (flask --app casework retention).
    "retention.index": ADMIN | LEADS,
    "retention.hold": LEADS,
    "retention.lift": LEADS,
    "retention.unit": ADMIN,
    # --- KOF statistics (casework/views/statistics.py) ---
    # Released (disclosure-controlled) figures only; no case, no content.
    "statistics.dashboard": STATISTICIANS,
    "statistics.export": STATISTICIANS,
    "statistics.releases": STATISTICIANS,
    "statistics.publish": STATISTICIANS,
    "statistics.release": STATISTICIANS,
    "statistics.release_pdf": STATISTICIANS,
    "statistics.tokens": STATISTICIANS,
    "statistics.token_create": STATISTICIANS,
    "statistics.token_revoke": STATISTICIANS,
    # --- the statistics API (casework/views/api.py) ---
    # No staff session: each request carries an API token, checked (and rate-limited) in
    # the view; answers hold published releases only.
    "api.openapi": PUBLIC,
    "api.releases": PUBLIC,
    "api.release": PUBLIC,
    # --- health and readiness (common/health.py) ---
    # For load balancers and systemd: a status word and per-check ok/failing only, never
    # a version, a host name or an error text.
    "health.live": PUBLIC,
    "health.ready": PUBLIC,
    # --- background jobs (casework/views/jobs.py) ---
    # Failed jobs by queue, function name, time and a reason class only (never their
    # arguments or traceback text, which may hold case ids); retry or discard.
    "jobs.failed": ADMIN,
    "jobs.retry": ADMIN,
    "jobs.discard": ADMIN,
}


def allowed(endpoint: str | None, roles: frozenset[Role]) -> bool:
    """True if someone with ``roles`` may use ``endpoint`` (signed in)."""
    rule = PERMISSIONS.get(endpoint or "")
    if rule is None:
        return False
    if isinstance(rule, str):
        return rule == PUBLIC
    return bool(rule & roles)
