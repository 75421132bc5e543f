"""Tokens of the statistics API: created and revoked by the statistician, checked per request.

A token is ``lykta_`` followed by 32 random bytes (URL-safe base64). Only its SHA-256 is
stored, so a copy of the database gives no working token; the text is shown once, when
it is created, and never logged, put in an event or written anywhere else. A request is
authenticated by hashing what it presents and looking the hash up: the lookup compares
hashes of a 256-bit secret, which tells an attacker timing nothing about any token, and
the row's hash is compared again in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import ClassVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.unit_of_work import emit_on

from ..errors import CaseworkError, InvalidInput
from ..events import ApiTokenCreated, ApiTokenRevoked
from ..models import ApiToken, User
from ..models.base import utcnow

PREFIX = "lykta_"
# secrets.token_urlsafe(32): 32 bytes, 43 characters of URL-safe base64 without padding.
TOKEN_SHAPE = re.compile(r"lykta_[A-Za-z0-9_-]{43}")
MAX_NAME = 100  # ApiToken.name's column
ID_SHAPE = re.compile(r"[0-9a-f]{32}")
# last_used_at is written at most this often per token: a write per request would make
# every read of the API a write to the database (and SQLite's writers queue).
USE_GRANULARITY = dt.timedelta(minutes=1)


class TokenRefused(CaseworkError):
    """No token, a malformed one, an unknown one or a revoked one: never says which."""

    status = 401
    title = _l("API token refused")
    explanation = _l("Send a valid, unrevoked API token as 'Authorization: Bearer <token>'.")
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="lykta-statistics"'}


class UnknownToken(CaseworkError):
    """The token to revoke does not exist (a forged or stale id)."""

    status = 404
    title = _l("No such API token")
    explanation = _l("The token was not found. Nothing was changed.")


class TokenRevokedAlready(CaseworkError):
    """Someone revoked this token before."""

    status = 409
    title = _l("The token was revoked already")
    explanation = _l("This token was revoked before. Nothing was changed.")


def digest(text: str) -> str:
    """The SHA-256 (hex) of a token's text: what the database keeps."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())  # no line breaks or tabs in a one-line label
    if not cleaned or len(cleaned) > MAX_NAME or any(ord(c) < 32 or ord(c) == 127
                                                     for c in cleaned):
        raise InvalidInput(_l("Name the token's holder in 1 to %(max)s characters; "
                              "nothing was created.", max=MAX_NAME))
    return cleaned


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``name`` (who holds it): the row, and the token's text (shown once)."""
    text = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=_clean_name(name), token_hash=digest(text), created_by=user.id)
    session.add(token)
    session.flush()  # the id, for the event
    emit_on(session, ApiTokenCreated(user_id=user.id, token_id=token.id))
    return token, text


def revoke_token(session: Session, user: User, token_id: str) -> ApiToken:
    """Revoke a token: every later request that presents it is refused."""
    token = session.get(ApiToken, token_id) if ID_SHAPE.fullmatch(token_id) else None
    if token is None:
        raise UnknownToken()
    if token.revoked_at is not None:
        raise TokenRevokedAlready()
    token.revoked_at = utcnow()
    emit_on(session, ApiTokenRevoked(user_id=user.id, token_id=token.id))
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first (hashes stay in the rows; the page shows none)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(),
                                                          ApiToken.id)))


def bearer(header_value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None if malformed."""
    if not header_value:
        return None
    scheme, _, value = header_value.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not TOKEN_SHAPE.fullmatch(value):
        return None
    return value


def authenticate(session: Session, header_value: str | None,
                 now: dt.datetime | None = None) -> ApiToken:
    """The unrevoked token the ``Authorization`` header presents, or :class:`TokenRefused`.

    Marks it used (``last_used_at``) at most once a minute.
    """
    text = bearer(header_value)
    if text is None:
        raise TokenRefused()
    # Looked up by its SHA-256: the database compares digests, so the time a lookup takes
    # tells nothing about the token (a timing-safe compare after it would add nothing).
    presented = digest(text)
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == presented)).first()
    if token is None or token.revoked_at is not None:
        raise TokenRefused()
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= USE_GRANULARITY:
        token.last_used_at = now
    return token
