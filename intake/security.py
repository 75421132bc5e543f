"""HTTP hardening of intake (the shared hook in :mod:`common.http`)."""

from __future__ import annotations

from flask import Flask

from common.http import STRICT_CSP, install_security_headers

CSP = STRICT_CSP


def install(app: Flask, onion_address: str | None) -> None:
    """Set CSP, no-referrer, no framing, no caching and Onion-Location on every response."""
    install_security_headers(app, csp=CSP, onion_address=onion_address)
