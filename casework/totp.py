"""Time-based one-time codes (RFC 6238 via pyotp), each accepted at most once.

The secrets are sealed at rest under the instance's ``totp.key`` (see :mod:`crypto`'s
``seal_secret``): a copy of the database alone does not give anyone the second factor.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import re
import time
from pathlib import Path

import pyotp
import segno

import crypto
from common.startup import create_private_once

STEP = 30
WINDOW = 1  # accept the previous and next step too, for clock drift
SEALED_PREFIX = "sealed:"
# ASCII digits only: str.isdigit() also takes e.g. Arabic-Indic digits, which then made
# hmac.compare_digest raise (a 500 that appeared only when the password was right).
CODE = re.compile(r"[0-9]{6}", re.ASCII)


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def normalise_code(code: str) -> str | None:
    """The six ASCII digits of ``code`` (spaces removed), or None if it is not that."""
    code = code.strip().replace(" ", "")
    return code if CODE.fullmatch(code) else None


def matching_step(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to, if valid and newer than ``last_step``.

    Returning the step lets the caller store it: a code seen once is refused after,
    which stops replay of an observed code within its 90-second window.
    """
    digits = normalise_code(code)
    if digits is None:
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int((time.time() if now is None else now) // STEP)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if step > last_step and hmac.compare_digest(totp.at(step * STEP), digits):
            return step
    return None


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, rendered server-side (no script, no image host)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False,
                                    svgns=True, title="TOTP QR code")
    return buffer.getvalue().decode("utf-8")


# --- sealing at rest ------------------------------------------------------------------


def ensure_key(path: Path) -> None:
    """Create the sealing key file (32 random bytes, 0600) unless it exists (see
    :func:`common.startup.create_private_once`: never half-written, never replaced)."""
    create_private_once(path, crypto.new_secret_key)


def load_key(path: Path) -> bytes:
    """The sealing key, read from its file on each use (32 bytes; never kept in a global)."""
    return path.read_bytes()


def is_sealed(stored: str) -> bool:
    """True if ``stored`` is a sealed secret (base32 secrets never contain ':')."""
    return stored.startswith(SEALED_PREFIX)


def seal(key: bytes, secret: str) -> str:
    """The column value for ``secret``."""
    sealed = crypto.seal_secret(key, secret.encode("ascii"))
    return SEALED_PREFIX + base64.b64encode(sealed).decode("ascii")


def unseal(key: bytes, stored: str) -> str:
    """The secret from a column value.

    A value without the prefix is a plaintext secret written before this version (start-up
    seals those) or by a test fixture: it is used as it is. A sealed value that does not
    open raises :class:`crypto.DecryptionError` (a wrong or replaced key file).
    """
    if not is_sealed(stored):
        return stored
    try:
        raw = base64.b64decode(stored[len(SEALED_PREFIX):], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise crypto.DecryptionError("sealed TOTP secret is malformed") from exc
    return crypto.open_secret(key, raw).decode("ascii")
