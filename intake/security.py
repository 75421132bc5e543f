"""HTTP hardening applied to every intake response."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

# No script at all, nothing from another origin, no framing, no plugins. Styles come
# only from our own stylesheet (no inline styles), so injected markup cannot restyle
# the page to deceive a tipster.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def install(app: Flask, onion_address: str | None) -> None:
    """Register the after-request hook that sets the security headers."""

    @app.after_request
    def harden(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = (
            "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        )
        if request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=3600"
        else:
            # Pages can show a receipt, a dialogue or form input: never store them.
            response.headers["Cache-Control"] = "no-store, max-age=0"
            response.headers["Pragma"] = "no-cache"
        if onion_address:
            response.headers["Onion-Location"] = f"http://{onion_address}{request.full_path.rstrip('?')}"
        # Name no software (the demo server's own header is dropped in intake.serve).
        response.headers.pop("Server", None)
        return response
