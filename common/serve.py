"""A small threaded server for the demo and the browser tests (production: gunicorn).

Werkzeug's development server logs every request with the client's IP address and
names itself in a ``Server`` header. Both are switched off here: no IP address may ever
reach a log, and no header may name our software.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """Request handler that logs nothing about clients and sends no Server header."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Access logs would hold IP addresses: there are none."""

    def log_error(self, *args: Any) -> None:
        """Error lines from the HTTP layer include the client address: dropped."""

    def send_header(self, keyword: str, value: str) -> None:
        """Send a header, unless it is ``Server``."""
        if keyword.lower() != "server":
            super().send_header(keyword, value)


def build_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """A threaded server for ``app`` (not started)."""
    return make_server(host, port, app, threaded=True, request_handler=QuietHandler)
