"""Structured logs: one JSON object a line, with nothing that identifies a person.

Both apps (and gunicorn, through :func:`dict_config`) log through one formatter when
``LYKTA_LOG_FORMAT=json`` is set (a process-level knob, read by :func:`configure_from`;
not a ``LYKTA_<APP>_*`` setting, as it is the same for every app in a process). A line
holds ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, the exception's
type when there is one (never its text or traceback: those carry values), and only the
extra fields named in :data:`EXTRA_FIELDS`. A log shipper can index that; nothing else
an ``extra=`` happens to pass along leaves the process.

The code already logs reasons and types, never content (threat-model.md). The
:class:`Redact` filter is the second line of defence: a message that still looks like an
IP address, a receipt code or a bearer token has that part replaced before any handler
writes it, whatever logger (ours, Werkzeug's, gunicorn's) it came from.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Mapping
from typing import IO, Any

from .settings import ConfigError

FORMAT_VARIABLE = "LYKTA_LOG_FORMAT"
FORMATS = ("text", "json")
# Extra fields a line may carry (``log.info(..., extra={"queue": ...})``): names that
# cannot hold content. Values must be numbers, booleans or short text; anything else
# is left out.
EXTRA_FIELDS = frozenset({"check", "count", "duration_ms", "endpoint", "job_id", "method",
                          "queue", "revision", "status"})
MAX_EXTRA_TEXT = 200
_HANDLER_NAME = "lykta-json"

# What no line may show. Matched on the whole formatted message, case-insensitively.
_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"
# Full (eight groups) or compressed (with "::") IPv6; a clock time (10:21:53) is neither.
_IPV6 = (r"(?<![\w:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
         r"|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?)"
         r"(?![\w:])")
# A receipt (crypto/receipt.py): 20 Crockford base32 characters, grouped or not.
_RECEIPT = (r"(?<![\w-])(?:[0-9a-z]{5}(?:-[0-9a-z]{5}){3}|[0-9a-hjkmnp-tv-z]{20})"
            r"(?![\w-])")
# After "Bearer ", and a statistics API token anywhere (casework/statistics/tokens.py).
_BEARER = r"(?<=bearer )\S+|(?<![\w-])lykta_[\w-]{43}(?![\w-])"
REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), label) for pattern, label in (
        (_BEARER, "[token]"), (_RECEIPT, "[receipt]"), (_IPV6, "[address]"),
        (_IPV4, "[address]")))


def redact(text: str) -> str:
    """``text`` with everything that looks like an address, receipt or token replaced."""
    for pattern, label in REDACTIONS:
        text = pattern.sub(label, text)
    return text


class Redact(logging.Filter):
    """Rewrites a record's message so that no address, receipt or token is written.

    On the handler, so that it sees the records of every logger, propagated or not. It
    never drops a record: an operator should see that something happened, without what.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)  # mismatched arguments: keep the template only
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, allow-listed extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception's text and traceback carry values.
            line["exception"] = record.exc_info[0].__name__
        for name in EXTRA_FIELDS & record.__dict__.keys():
            value = record.__dict__[name]
            if isinstance(value, bool | int | float):
                line[name] = value
            elif isinstance(value, str) and len(value) <= MAX_EXTRA_TEXT:
                line[name] = redact(value)
        return json.dumps(line, ensure_ascii=False, sort_keys=False)


def log_format(environ: Mapping[str, str]) -> str:
    """The format ``environ`` asks for (``text`` when unset); ConfigError if unknown."""
    value = environ.get(FORMAT_VARIABLE, "text").strip().lower() or "text"
    if value not in FORMATS:
        # The name and the choices, not the value (as every configuration message).
        raise ConfigError(f"{FORMAT_VARIABLE} must be one of: {', '.join(FORMATS)}")
    return value


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A handler that writes JSON lines to ``stream`` (default: standard error)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redact())
    return handler


def configure(stream: IO[str] | None = None, level: int | None = None) -> logging.Handler:
    """Make the root logger write JSON lines (once per process; later calls return the
    handler already there). With a handler on the root logger, Flask adds no plain-text
    handler of its own to the app's logger."""
    root = logging.getLogger()
    for handler in root.handlers:
        if handler.get_name() == _HANDLER_NAME:
            return handler
    handler = json_handler(stream)
    root.addHandler(handler)
    if level is not None:
        root.setLevel(level)
    elif root.level == logging.WARNING:  # Python's default: INFO is what operators want
        root.setLevel(logging.INFO)
    return handler


def unconfigure() -> None:
    """Remove the JSON handler again (tests)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)


def configure_from(environ: Mapping[str, str]) -> None:
    """What the apps call at start-up: JSON lines if ``LYKTA_LOG_FORMAT=json``."""
    if log_format(environ) == "json":
        configure()


def dict_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for gunicorn (``logconfig_dict``): gunicorn's
    own messages and the apps' as JSON lines on standard error. gunicorn's access log
    is off: each of its lines names the client's address and user agent."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
               "formatter": "json", "filters": ["redact"]}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "common.logs.JsonFormatter"}},
        "filters": {"redact": {"()": "common.logs.Redact"}},
        # Named as configure() names its handler: an app started with LYKTA_LOG_FORMAT=json
        # under this configuration finds it and adds no second one.
        "handlers": {_HANDLER_NAME: handler},
        "root": {"level": level, "handlers": [_HANDLER_NAME]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [_HANDLER_NAME],
                               "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }
