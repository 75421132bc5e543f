"""Every domain event becomes an audit entry, in the transaction of the action it records.

Subscribed to the app's dispatcher at :data:`~common.unit_of_work.Phase.BEFORE_COMMIT`
(:func:`install`, from ``casework.create_app``): the entry is added inside the unit of
work, just before its commit, so an action commits with its entry or not at all, and a
unit that rolls back leaves neither.

The mapping is generic, by the convention every event of :mod:`casework.events` follows
(so an event added later is logged without a change here):

- action: the class name in snake_case (``CaseAssigned`` -> ``case_assigned``);
- case: the ``case_id`` field, if any;
- actor: ``by`` where the event has it (a person acting on ``user_id``, who then goes into
  the details), else ``user_id``;
- details: every other field, by name, as canonical JSON.

Events carry ids and codes only (their module says why), so no entry ever holds content.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.unit_of_work import DomainEvent, Phase

from ..models import User
from ..services import Casework
from . import chain, checkpoints

# The width of AuditEntry.actor_id: a user id. Anything else that names the actor (see
# _actor) goes into the details rather than be cut.
_ACTOR_WIDTH = 32
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def action_code(event_type: type[DomainEvent]) -> str:
    """``CaseAssigned`` -> ``case_assigned``."""
    return _CAMEL.sub("_", event_type.__name__).lower()


def _actor(session: Session, by: str) -> str | None:
    """The user id of ``by``. Most events name the actor by id; one (``PasswordReset``,
    as recorded on the row it mirrors) by user name: that is resolved to the id, so that
    the log can be filtered by person whatever the event."""
    if session.get(User, by) is not None:
        return by
    found: str | None = session.scalar(select(User.id).where(User.username == by))
    return found


def draft_of(session: Session, event: DomainEvent) -> chain.Draft:
    """The entry that records ``event``."""
    values: dict[str, Any] = {f.name: getattr(event, f.name) for f in fields(event)}
    case_id = values.pop("case_id", None)
    actor: str | None
    if "by" in values:
        by = values.pop("by")
        actor = _actor(session, by) if isinstance(by, str) else None
        if by is not None and actor is None:
            values["by"] = by  # not a known person: kept as it was given
    else:
        actor = values.pop("user_id", None)
    if actor is not None and len(actor) > _ACTOR_WIDTH:
        values["actor"], actor = actor, None
    return chain.Draft(action=action_code(type(event)), actor_id=actor,
                       case_id=case_id if isinstance(case_id, str) else None,
                       details=values)


def install(casework: Casework) -> None:
    """Log every event of ``casework``'s dispatcher, and sign a checkpoint per unit."""

    def record(session: Session, event: DomainEvent) -> None:
        chain.append(session, [draft_of(session, event)])

    casework.dispatcher.subscribe(DomainEvent, record, phase=Phase.BEFORE_COMMIT)
    checkpoints.install(casework.db, casework.config)
