"""HTTP hardening shared by both apps: one after-request hook, one place to audit."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

# No script, nothing from another origin, no framing, no plugins. Styles come only from
# our own stylesheet (no inline styles), so injected markup cannot restyle a page to
# deceive its reader.
STRICT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def install_security_headers(app: Flask, *, csp: str = STRICT_CSP,
                             onion_address: str | None = None) -> None:
    """Register the after-request hook that sets the security headers."""

    @app.after_request
    def harden(response: Response) -> Response:
        # A view may set a stricter policy (e.g. a sandbox for downloads): keep it.
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = (
            "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        )
        if request.path.startswith(("/static/", "/assets/")):
            response.headers["Cache-Control"] = "public, max-age=3600"
        else:
            # Pages can show receipts, reports or form input: never store them.
            response.headers["Cache-Control"] = "no-store, max-age=0"
            response.headers["Pragma"] = "no-cache"
        if onion_address:
            path = request.full_path.rstrip("?")
            response.headers["Onion-Location"] = f"http://{onion_address}{path}"
        # Name no software (the demo server's own header is dropped in common.serve).
        response.headers.pop("Server", None)
        return response
