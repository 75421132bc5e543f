"""Time-based one-time codes (RFC 6238 via pyotp), each accepted at most once."""

from __future__ import annotations

import hmac
import io
import time

import pyotp
import segno

STEP = 30
WINDOW = 1  # accept the previous and next step too, for clock drift


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def matching_step(secret: str, code: str, last_step: int, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to, if valid and newer than ``last_step``.

    Returning the step lets the caller store it: a code seen once is refused after,
    which stops replay of an observed code within its 90-second window.
    """
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int((time.time() if now is None else now) // STEP)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if step > last_step and hmac.compare_digest(totp.at(step * STEP), code):
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
