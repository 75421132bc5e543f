"""A seeded fuzzer for every route of intake, casework and intake's sync app (in-process).

Routes come from each app's ``url_map``, so a new route is fuzzed without touching this
file. Every request is built from its own ``random.Random(f"{seed}/{app}/{index}")``:
(seed, app, index) reproduces one request exactly, without replaying the ones before.

A run fails on any 5xx (or an exception escaping the app), on a response body that shows
a traceback or an internal path, and on a rejected (4xx) request that changed stored
state: database rows (minus the columns that legitimately move on refusals, such as
failed-sign-in counters) and the file store are digested before and after each request.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import random
import sqlite3
import string
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.routing import Rule
from werkzeug.test import EnvironBuilder, run_wsgi_app

import crypto

# Text that must never appear in a response: it would mean a traceback or an internal
# path leaked. The generator never emits these, so an echo of our input cannot match.
LEAK_MARKERS = ("/work/", "Traceback", "site-packages", '.py"', 'File "')
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "PROPFIND",
           "CONNECT", "get", "X" * 300)
SUBMIT = ("POST", "PUT", "PATCH", "DELETE")


# --- State digests -------------------------------------------------------------------


@dataclass
class StateProbe:
    """A cheap digest of one app's stored state: database rows and the file store."""

    database: Path
    storage: Path
    volatile: dict[str, set[str]]  # table -> columns whose changes are expected
    _conn: sqlite3.Connection | None = None
    _version: int | None = None
    _cached: dict[str, str] | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        return self._conn

    def digest(self) -> dict[str, str]:
        """One digest per table (and one for the files), to name what changed."""
        conn = self._connection()
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if self._cached is None or version != self._version:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
            rows: dict[str, str] = {}
            for table in tables:
                skip = self.volatile.get(table, set())
                if "*" in skip:
                    continue
                columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')
                           if r[1] not in skip]
                cols = ", ".join(f'"{c}"' for c in columns)
                data = sorted(repr(r) for r in conn.execute(f'SELECT {cols} FROM "{table}"'))  # noqa: S608 (names come from sqlite_master)
                rows[table] = hashlib.blake2b("\n".join(data).encode()).hexdigest()
            self._cached, self._version = rows, version
        result = dict(self._cached)
        listing = []
        for root, _dirs, files in os.walk(self.storage):
            for name in files:
                stat = os.stat(os.path.join(root, name))
                listing.append(f"{root}/{name}:{stat.st_size}:{stat.st_mtime_ns}")
        result["<files>"] = hashlib.blake2b("\n".join(sorted(listing)).encode()).hexdigest()
        return result

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --- Targets: an app, who is asking, and how to mint their cookie -------------------


@dataclass
class Identity:
    """Who sends a request: a name and a function that mints a fresh session dict."""

    name: str
    mint: Callable[[], dict[str, Any]]
    retire: Callable[[dict[str, Any]], None] | None = None  # end a minted session's row
    refresh_every: int = 500  # requests; a minted session also goes idle
    _session: dict[str, Any] | None = None
    _uses: int = 0

    def session(self) -> dict[str, Any]:
        if self._session is not None and self._uses >= self.refresh_every:
            self.forget()
        if self._session is None:
            self._session = self.mint()
            self._uses = 0
        self._uses += 1
        return self._session

    def forget(self) -> None:
        """Drop the minted session (it may have been signed out); its row goes too, so
        the tables the state digest reads stay small."""
        if self._session is not None and self.retire is not None:
            self.retire(self._session)
        self._session = None


@dataclass
class Target:
    """One app under fuzz."""

    name: str
    app: Flask
    probe: StateProbe
    identities: list[Identity]
    params: dict[str, list[str]]  # route argument name -> real values worth trying
    field_names: list[str]
    field_values: list[str]
    sign: Callable[[str, bytes, random.Random], bytes] | None = None  # sync app only
    cookie_name: str = "session"

    def __post_init__(self) -> None:
        secret = self.app.secret_key
        self._session_serializer = (self.app.session_interface  # type: ignore[attr-defined]
                                    .get_signing_serializer(self.app) if secret else None)
        self._csrf = URLSafeTimedSerializer(secret, salt="wtf-csrf-token") if secret else None
        self.rules = sorted((r for r in self.app.url_map.iter_rules()),
                            key=lambda r: (r.rule, r.endpoint))

    def cookie(self, data: dict[str, Any]) -> str:
        if self._session_serializer is None:  # the sync app keeps no session
            return json.dumps(data, default=str)
        value: str = self._session_serializer.dumps(data)
        return value

    def csrf_token(self, data: dict[str, Any]) -> str:
        if self._csrf is None:
            return "no-secret-key"
        raw = data.get("csrf_token")
        token: str = self._csrf.dumps(raw if isinstance(raw, str) else "x")
        return token


def new_csrf_raw() -> str:
    return hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 (as Flask-WTF makes it)


# --- Value generators ----------------------------------------------------------------


def junk_text(rng: random.Random, *, max_len: int = 80) -> str:
    """Text from a mix of alphabets, with control characters, NULs and odd Unicode."""
    kind = rng.randrange(9)
    n = rng.choice((0, 1, 2, 5, 10, max_len, rng.randrange(max_len + 1)))
    if kind == 0:
        return "".join(rng.choice(string.printable) for _ in range(n))
    if kind == 1:
        return "".join(chr(rng.randrange(0, 0x250)) for _ in range(n))
    if kind == 2:
        return "".join(chr(rng.choice((rng.randrange(0xD7FF), rng.randrange(0xE000, 0x10FFFF))))
                       for _ in range(n))
    if kind == 3:
        return "\x00" * n
    if kind == 4:
        return rng.choice(("<script>alert(1)</script>", "{{7*7}}", "%s%s%n", "' OR 1=1 --",
                           "../../../../etc/passwd", "\r\nSet-Cookie: x=y", "${jndi:x}",
                           "\u202e\u200b\ufeff", "NaN", "-1", "1e309", "0x10", "  ", "\t\n"))
    if kind == 5:
        return rng.choice(string.ascii_letters) * rng.choice((100, 1000, 25_000, 70_000))
    if kind == 6:
        return str(rng.choice((0, -1, 2**31, 2**63, 2**64 + 1, 10**40, 123456)))
    if kind == 7:
        return "".join(rng.choice("0123456789") for _ in range(rng.choice((5, 6, 7, 12))))
    return "".join(rng.choice(string.ascii_lowercase + "-_.") for _ in range(n))


def junk_bytes(rng: random.Random, n: int | None = None) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40) if n is None else n))


def junk_json(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value, sometimes deeply nested."""
    kind = rng.randrange(10 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice((True, False))
    if kind == 2:
        return rng.choice((0, -1, 1.5, 2**70, -(2**70), 1e308, 6))
    if kind in (3, 4, 5):
        return junk_text(rng, max_len=30)
    if kind in (6, 7):
        return [junk_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {junk_text(rng, max_len=10): junk_json(rng, depth + 1)
            for _ in range(rng.randrange(4))}


def deep_json(rng: random.Random) -> str:
    depth = rng.choice((50, 500, 5000, 50_000))
    return rng.choice(("[" * depth + "]" * depth,
                       '{"a":' * depth + "1" + "}" * depth,
                       "[" * depth))


def junk_session_value(rng: random.Random, depth: int = 0) -> Any:
    """A value for a forged session: JSON shapes plus the types Flask's serializer tags."""
    kind = rng.randrange(12 if depth < 3 else 8)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice((True, False, 0, -5, 2**40, 1.25))
    if kind == 2:
        return junk_text(rng, max_len=40)
    if kind == 3:
        return junk_bytes(rng)
    if kind == 4:
        return Markup("<b>x</b>")
    if kind == 5:
        return uuid.UUID(int=rng.getrandbits(128))
    if kind == 6:
        return dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    if kind == 7:
        return rng.choice(("", "AAAA", base64.b64encode(junk_bytes(rng, 32)).decode(), "!!"))
    if kind in (8, 9):
        return [junk_session_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 10:
        return tuple(junk_session_value(rng, depth + 1) for _ in range(rng.randrange(4)))
    return {rng.choice(("id", "secret", "seen", "user", "since", junk_text(rng, max_len=8))):
            junk_session_value(rng, depth + 1) for _ in range(rng.randrange(5))}


SESSION_KEYS = ("staff", "enrol", "tipster", "_flashes", "csrf_token", "_permanent", "_fresh",
                "lang", "user_id")


def forged_session(rng: random.Random, real: dict[str, Any]) -> dict[str, Any]:
    """A session dict that the app could never have written, signed with its real key."""
    if rng.random() < 0.5 and real:
        data: dict[str, Any] = json.loads(json.dumps(real, default=str))
        key = rng.choice(list(data))
        if isinstance(data[key], dict) and data[key] and rng.random() < 0.7:
            inner = rng.choice(list(data[key]))
            data[key][inner] = junk_session_value(rng)
        else:
            data[key] = junk_session_value(rng)
        return data
    data = {rng.choice(SESSION_KEYS): junk_session_value(rng)
            for _ in range(rng.randrange(4))}
    if rng.random() < 0.3:
        data["_flashes"] = rng.choice((
            [("message", "hi")], [["message"]], [1], 5, "x", [("a", "b", "c")], [(1, 2)],
            [("message", Markup("<i>m</i>"))], [[None, None]], {"a": 1}))
    return data


def route_value(rng: random.Random, real: list[str], converter: str) -> bytes:
    """A value for one route argument, as raw bytes of the unquoted path."""
    kind = rng.randrange(10)
    if kind <= 2 and real:
        return rng.choice(real).encode()
    if kind == 3:
        return os.urandom(0) + "".join(rng.choice("0123456789abcdef")
                                       for _ in range(32)).encode()
    if kind == 4:
        return rng.choice((b"x" * 5000, b"a" * 100_000, b"0" * 33, b"g" * 32, b"-1", b"0"))
    if kind == 5:
        return junk_bytes(rng)  # raw non-UTF-8 bytes (and NULs, slashes)
    if kind == 6:
        return rng.choice((b"..", b".", b"%00", b"%2e%2e", b"%ff", b"\x00", b" ", b"~",
                           b"con", b"index.html", b"\xc0\xaf", b"\xed\xa0\x80"))
    if kind == 7 and converter == "path":
        return rng.choice((b"../../../../etc/passwd", b"..%2f..%2fsecret", b"a/../../x",
                           b"lykta.css/..", b"/etc/passwd", b"lykta.css\x00.png",
                           b"casework.css?x", b"./lykta.css", b"LYKTA.CSS"))
    return junk_text(rng, max_len=60).encode("utf-8", "surrogatepass")


# --- One request ---------------------------------------------------------------------


@dataclass
class Fuzzed:
    """A request, described well enough to send again."""

    method: str
    path_info: str  # latin-1 code points, as WSGI servers pass raw bytes
    query: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    environ: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def describe(self, limit: int = 400) -> str:
        body = self.body[:limit]
        more = f"... ({len(self.body)} bytes)" if len(self.body) > limit else ""
        headers = [(k, v if len(v) < limit else v[:limit] + f"...({len(v)})")
                   for k, v in self.headers]
        return (f"{self.method[:40]} PATH_INFO={self.path_info[:limit]!r} "
                f"QUERY_STRING={self.query[:limit]!r} headers={headers!r} "
                f"environ={self.environ!r} body={body!r}{more} [{', '.join(self.notes)}]")


def _build_path(rng: random.Random, rule: Rule, target: Target, fz: Fuzzed) -> None:
    parts: list[bytes] = []
    for is_dynamic, text in rule._trace:  # (False, "|") marks the host part
        if text == "|":
            continue
        if is_dynamic:
            converter = type(rule._converters[text]).__name__.lower()
            kind = "path" if "path" in converter else "default"
            parts.append(route_value(rng, target.params.get(text, []), kind))
        else:
            parts.append(text.encode())
    path = b"".join(parts)
    roll = rng.random()
    if roll < 0.04:  # shapes that make Werkzeug redirect (merged or missing slashes)
        path = rng.choice((b"/" + path, path.rstrip(b"/") or b"/", path.replace(b"/", b"//")))
    roll = rng.random()
    if roll < 0.05:
        path += rng.choice((b"/", b"//", b"/x", b"%00", b"\x00", b"/..", b";x=1", b"\xff"))
    elif roll < 0.07:
        path = b"/" + b"x" * rng.choice((300, 10_000))
    elif roll < 0.08:
        path = rng.choice((b"", b"//", b"\\", b"/\xff\xfe", b"/%2f%2f"))
    fz.path_info = path.decode("latin-1")


def _query(rng: random.Random, target: Target) -> str:
    kind = rng.randrange(10)
    if kind <= 3:
        return ""
    if kind == 4:  # raw bytes, as the demo's Werkzeug server passes them
        return junk_bytes(rng).decode("latin-1")
    if kind == 5:
        return "next=" + rng.choice(("/\xff\xfe", "//evil.example", "/\x00", "\\\\x",
                                     "javascript:alert(1)", "/" + "a" * 10_000, "%ff%fe",
                                     "http://x", "/%0d%0aSet-Cookie:x"))
    if kind == 6:
        names = [*target.field_names, "next", "unit", "stage", "sort", "after", "mine",
                 "scrubbed"]
        return "&".join(f"{quote(rng.choice(names))}={quote(junk_text(rng, max_len=40), safe='')}"
                        for _ in range(rng.randrange(1, 6)))
    if kind == 7:
        return rng.choice(("a=" + "b" * 100_000, "&" * 5000, "=" * 100, "a" * 70_000,
                           "x=%", "x=%zz", "x=%f", "x[]=1&x[]=2", "%00=%00", "a=\r\nb",
                           "next=/\n", "x=\x00", "\x7f", "a=\tb", "%0d%0a=1"))
    if kind == 8:
        key = rng.choice(("unit", "stage", "sort", "after", "mine", "scrubbed", "next"))
        return f"{key}={quote(junk_text(rng, max_len=50), safe='')}"
    return quote(junk_text(rng), safe="=&")


def _form_pairs(rng: random.Random, target: Target, csrf: str | None,
                ) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if csrf is not None:
        pairs.append(("csrf_token", csrf))
    for _ in range(rng.randrange(0, 8)):
        name = rng.choice(target.field_names) if rng.random() < 0.85 else junk_text(rng, max_len=20)
        value = rng.choice(target.field_values) if rng.random() < 0.4 else junk_text(rng)
        pairs.append((name, value))
        if rng.random() < 0.15:
            pairs.append((name, junk_text(rng)))  # duplicate key
    rng.shuffle(pairs)
    return pairs


def _multipart(rng: random.Random, target: Target, pairs: list[tuple[str, str]],
               fz: Fuzzed) -> tuple[bytes, str]:
    boundary = rng.choice(("xYzZY", "-" * 60 + "b", "b" * 71, "a b", "=", "é"))
    chunks: list[bytes] = []
    bnd = boundary.encode("utf-8")
    for name, value in pairs:
        kind = rng.random()
        disp = f'form-data; name="{name}"'.encode("utf-8", "surrogatepass")
        headers = b""
        payload = value.encode("utf-8", "surrogatepass")
        if kind < 0.12:  # a file where text is expected (or in the file field)
            disp += b'; filename="' + rng.choice((b"a.txt", b"", b"\xff.pdf", b"../../x",
                                                  b"a" * 300, b"a\"b.txt")) + b'"'
            headers = b"Content-Type: " + rng.choice((b"application/pdf", b"text/html",
                                                      b"image/png", b"x/\xff")) + b"\r\n"
            payload = rng.choice((b"%PDF-1.4\n%%EOF", b"", junk_bytes(rng),
                                  b"\x89PNG\r\n\x1a\n" + junk_bytes(rng)))
            fz.notes.append(f"file part {name[:20]!r}")
        elif kind < 0.16:
            headers = b"Content-Type: text/plain; charset=" + rng.choice(
                (b"latin-1", b"utf-16", b"x-junk", b"\xff")) + b"\r\n"
            payload = rng.choice((payload, value.encode("latin-1", "replace"),
                                  value.encode("utf-16", "surrogatepass"), junk_bytes(rng)))
            fz.notes.append("part charset")
        chunks.append(b"--" + bnd + b"\r\nContent-Disposition: " + disp + b"\r\n" + headers
                      + b"\r\n" + payload + b"\r\n")
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        odd = rng.choice((
            b"Content-Disposition: form-data\r\n\r\nno name",  # a part with no name
            b'Content-Disposition: form-data; filename="x.txt"\r\n\r\nno name, a file',
            b'Content-Disposition: form-data; name=""\r\n\r\nempty name',
            b"X-Nothing: here\r\n\r\nno disposition",
            b'Content-Disposition: attachment; name="files"\r\n\r\nx',
            b'Content-Disposition: form-data; name="files"\r\n\r\ntext in the file field',
            b'Content-Disposition: form-data; name="\xff\xfe"\r\n\r\nbad name',
            b"\r\n\r\n",
        ))
        chunks.insert(rng.randrange(len(chunks) + 1), b"--" + bnd + b"\r\n" + odd + b"\r\n")
        fz.notes.append("odd part")
    body = b"".join(chunks) + b"--" + bnd + b"--\r\n"
    if rng.random() < 0.1:
        body = body[:rng.randrange(len(body) + 1)]
        fz.notes.append("truncated")
    ctype = f'multipart/form-data; boundary="{boundary}"'
    if rng.random() < 0.1:
        ctype = rng.choice(("multipart/form-data", "multipart/form-data; boundary=",
                            "multipart/form-data; boundary=other",
                            "multipart/mixed; boundary=" + boundary,
                            f"multipart/form-data; boundary={boundary}; charset=x-junk"))
        fz.notes.append("odd multipart type")
    return body, ctype


def _body(rng: random.Random, target: Target, csrf: str, fz: Fuzzed) -> None:
    """A body with a valid CSRF token (mostly), so that requests reach the views."""
    roll = rng.random()
    token: str | None = csrf
    if rng.random() < 0.1:
        token = rng.choice((None, "", junk_text(rng), csrf[:-3] + "abc", csrf + "x"))
    pairs = _form_pairs(rng, target, token)
    if roll < 0.35:
        body = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs).encode()
        ctype = "application/x-www-form-urlencoded"
        if rng.random() < 0.1:
            body += b"&" + junk_bytes(rng) + b"=%ff%fe\xff"
            ctype += rng.choice(("", "; charset=latin-1", "; charset=x-junk"))
            fz.notes.append("bad encoding")
    elif roll < 0.7:
        body, ctype = _multipart(rng, target, pairs, fz)
    elif roll < 0.85:  # JSON of every shape, with the token in a header
        fz.headers.append(("X-CSRFToken", csrf))
        shape = rng.randrange(5)
        if shape == 0:
            value: Any = {k: junk_json(rng) for k, _ in pairs}
            text = json.dumps(value)
        elif shape == 1:
            text = json.dumps(junk_json(rng))
        elif shape == 2:
            text = deep_json(rng)
        elif shape == 3:
            text = rng.choice(("", "{", "nul", '{"a":}', "\xff", "[1,]", "NaN", '"\\ud800"'))
        else:
            text = json.dumps({k: v for k, v in pairs} | {rng.choice(target.field_names):
                                                         junk_json(rng)})
        body = text.encode("utf-8", "surrogatepass")
        ctype = rng.choice(("application/json", "application/json; charset=latin-1",
                            "application/vnd.api+json", "text/json"))
        fz.notes.append("json")
    else:
        body = rng.choice((junk_bytes(rng, rng.randrange(1, 2000)),
                           b"csrf_token=" + csrf.encode(), b"<xml/>", b"a=1"))
        ctype = rng.choice(("text/plain", "application/xml", "application/octet-stream",
                            "", "x", "multipart/", "application/x-www-form-urlencoded; x",
                            "text/html; charset=\xff", "image/png"))
        fz.notes.append("wrong content type")
    fz.body = body
    if ctype:
        fz.headers.append(("Content-Type", ctype))


def _host(rng: random.Random) -> str:
    return rng.choice((
        "a" * 64 + ".example", "a" * 63 + ".example", "x" * 300, "xn--" + "a" * 60,
        "xn--zz", "xn--", "münchen.example", "\xff\xfe", "localhost:99999", "localhost:-1",
        "localhost:abc", "[::1]", "[::1", "a..b", ".", "", "a b", "host\x00", "1.2.3.4:0",
        "localhost:80:80", "_" * 10, "ex\u00e4mple.com", "a" * 63 + "." + "b" * 64))


def _cookies(rng: random.Random, target: Target, session: dict[str, Any]) -> str:
    roll = rng.random()
    name = target.cookie_name
    if roll < 0.55:
        value = target.cookie(session)
    elif roll < 0.75:
        value = target.cookie(forged_session(rng, session))
    elif roll < 0.9:
        good = target.cookie(session)
        value = rng.choice((good[:-5], good + "x", good.replace(".", "..", 1),
                            "." + good, "e30.x.y", "", junk_text(rng, max_len=100),
                            base64.b64encode(junk_bytes(rng)).decode(), "x" * 9000,
                            ".eJw" + "A" * 200))
    else:
        value = ""
    cookie = f"{name}={value}" if value else ""
    if rng.random() < 0.2:
        cookie += "; lang=" + rng.choice(("en", "sv", "xx", "", "\xff", "sv" * 1000, "en;"))
    if rng.random() < 0.05:
        cookie = rng.choice((cookie + "; " + cookie, "=" * 20, ";;;", "a" * 20_000,
                             cookie + '; x="\\', "\xff=\xfe"))
    return cookie


def build_request(rng: random.Random, target: Target, rule: Rule, session: dict[str, Any],
                  ) -> Fuzzed:
    """One malformed (or just odd) request to ``rule`` from whoever holds ``session``."""
    allowed = sorted((rule.methods or set()) - {"OPTIONS", "HEAD"})
    method = rng.choice(allowed) if allowed and rng.random() < 0.85 else rng.choice(METHODS)
    fz = Fuzzed(method=method, path_info="/", query="")
    _build_path(rng, rule, target, fz)
    fz.query = _query(rng, target)
    fz.headers.append(("Cookie", _cookies(rng, target, session)))
    if method.upper() in SUBMIT or rng.random() < 0.1:
        _body(rng, target, target.csrf_token(session), fz)
    if rng.random() < 0.08:
        fz.environ["HTTP_HOST"] = _host(rng)
        fz.notes.append("odd host")
    if rng.random() < 0.1:
        fz.headers.append(rng.choice((
            ("Accept-Language", junk_text(rng, max_len=200)),
            ("Accept-Language", "sv;q=x, en;q=" + "9" * 400)
            , ("X-Forwarded-For", junk_text(rng)), ("X-Forwarded-Host", "a" * 64 + ".x"),
            ("X-Forwarded-Proto", "gopher"), ("Origin", "null"), ("Referer", "\xff"),
            ("If-Modified-Since", junk_text(rng, max_len=40)), ("Range", "bytes=" + junk_text(rng)),
            ("Range", "bytes=5-1"), ("If-None-Match", '"' + junk_text(rng)),
            ("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip"),
            ("Authorization", "Basic " + junk_text(rng)))))
    if rng.random() < 0.02:  # a declared length over every limit, with a small body
        fz.environ["CONTENT_LENGTH"] = str(rng.choice((64 * 1024 * 1024 + 1, 10**12, 2**63)))
        fz.notes.append("oversized length")
    if rng.random() < 0.005:
        fz.body = b"a=" + b"x" * (3 * 1024 * 1024)  # over the in-memory form limit
        fz.headers = [h for h in fz.headers if h[0] != "Content-Type"]
        fz.headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        fz.notes.append("3 MB field")
    return fz


def build_sync_request(rng: random.Random, target: Target, rule: Rule) -> Fuzzed:
    """A request to the sync app: mostly validly signed by casework, with a malformed body."""
    assert target.sign is not None
    method = "POST" if rng.random() < 0.9 else rng.choice(METHODS)
    purpose = rng.choice(("pull", "fetch", "ack", "push")) if rng.random() < 0.9 else (
        junk_text(rng, max_len=20) or "x")
    fz = Fuzzed(method=method, path_info="/v1/" + quote(purpose, safe=""), query="")
    if rng.random() < 0.05:  # shapes that make Werkzeug redirect (merged slashes)
        fz.path_info = rng.choice(("//v1/", "/v1//", "/v1///")) + purpose
    roll = rng.random()
    body = _sync_body(rng, target, purpose)
    if roll < 0.75:
        signed_for = purpose if rng.random() < 0.9 else rng.choice(("pull", "push", "x"))
        message = target.sign(signed_for, body, rng)
        fz.notes.append(f"signed {signed_for!r}")
    elif roll < 0.85:
        message = target.sign(purpose, body, rng)
        pos = rng.randrange(len(message))
        flipped = bytes([message[pos] ^ (1 << rng.randrange(8))])
        message = message[:pos] + flipped + message[pos + 1:]
        fz.notes.append("bit flip")
    elif roll < 0.92:
        message = target.sign(purpose, body, rng)[:rng.randrange(200)]
        fz.notes.append("truncated")
    else:
        message = junk_bytes(rng, rng.randrange(0, 500))
        fz.notes.append("unsigned")
    fz.body = message
    fz.headers.append(("Content-Type", rng.choice(("application/octet-stream", "application/json",
                                                   "multipart/form-data; boundary=x", ""))))
    if rng.random() < 0.05:
        fz.environ["HTTP_HOST"] = _host(rng)
    if rng.random() < 0.1:
        fz.query = _query(rng, target)
    return fz


def _sync_body(rng: random.Random, target: Target, purpose: str) -> bytes:
    real_ids = [*target.params.get("envelope_id", []), "0" * 32]
    receipts = [*target.params.get("receipt_id", []), "0" * 32]
    kind = rng.randrange(8)
    if kind == 0:
        return json.dumps(junk_json(rng)).encode()
    if kind == 1:
        return deep_json(rng).encode()
    if kind == 2:
        return rng.choice((b"", b"{", b"\xff\xfe", b"null", b"[]", b'"x"', b"1", b"NaN",
                           b'{"batch": NaN}', b'{"a": "\\ud800"}'))

    def anything() -> Any:
        return rng.choice((None, True, -1, 0, 2**70, 1.5, "", "x", "A" * 100_000, [], {},
                           [1, "a", None], {"a": 1}, rng.choice(real_ids), "../../etc",
                           junk_text(rng, max_len=40)))

    def b64ish() -> Any:
        return rng.choice((base64.b64encode(junk_bytes(rng)).decode(), "!!!", "A", "AAA=",
                           None, 5, [], "", base64.b64encode(b"x" * 100).decode()))

    def item() -> Any:
        if rng.random() < 0.2:
            return anything()
        entry: dict[str, Any] = {
            "receipt_id": rng.choice(receipts) if rng.random() < 0.5 else anything(),
            "envelope_id": uuid.UUID(int=rng.getrandbits(128)).hex if rng.random() < 0.5
            else anything(),
            "kind": rng.choice(("reply", "status", "file", "", None, 5, "x" * 100)),
            "header": b64ish(), "body": b64ish()}
        for key in rng.sample(list(entry), rng.randrange(3)):
            del entry[key]
        return entry

    body: dict[str, Any] = {}
    if kind == 3:
        body = {"batch": anything()}
    elif kind == 4:
        body = {"envelope_id": anything()}
    elif kind == 5:
        body = {"envelope_ids": rng.choice((anything(), [anything() for _ in range(3)],
                                            real_ids[:2]))}
    elif kind == 6:
        body = {"items": rng.choice((anything(), [item() for _ in range(rng.randrange(4))]))}
    else:
        body = {rng.choice(("batch", "envelope_id", "envelope_ids", "items", "x")): anything()
                for _ in range(3)}
    return json.dumps(body).encode()


# --- Running ---------------------------------------------------------------------------


@dataclass
class Finding:
    """One failure: what went wrong and how to send the request again."""

    kind: str
    app: str
    route: str
    identity: str
    index: int
    status: str
    detail: str
    request: str
    count: int = 1


@dataclass
class Results:
    seed: int
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    per_app: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    per_identity: dict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter))
    findings: dict[tuple[str, ...], Finding] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0

    def add_finding(self, finding: Finding, key: tuple[str, ...]) -> None:
        if key in self.findings:
            self.findings[key].count += 1
        else:
            self.findings[key] = finding

    @property
    def server_errors(self) -> int:
        return sum(n for c in self.per_app.values() for s, n in c.items()
                   if s.startswith("5") or s == "EXC")

    def summary(self) -> str:
        lines = [f"# Fuzz run: seed {self.seed}", "",
                 f"{self.requests} requests in {self.seconds:.0f} s; "
                 f"5xx (or escaped exceptions): {self.server_errors}; "
                 f"findings: {len(self.findings)} distinct", "",
                 f"Reproduce: `FUZZ_SEED={self.seed} FUZZ_REQUESTS={self.requests} make fuzz`; "
                 "one request: add `FUZZ_ONLY=<app>:<index>`.", "", "## Status codes per app", ""]
        for app, counter in sorted(self.per_app.items()):
            codes = ", ".join(f"{s}: {n}" for s, n in sorted(counter.items()))
            lines.append(f"- **{app}**: {codes} (total {sum(counter.values())})")
        lines += ["", "## Status codes per identity (who sent it)", ""]
        for who, counter in sorted(self.per_identity.items()):
            codes = ", ".join(f"{s}: {n}" for s, n in sorted(counter.items()))
            lines.append(f"- {who}: {codes} (total {sum(counter.values())})")
        lines += ["", "## Status codes per route", "", "| app | route | requests | status codes |",
                  "|---|---|---|---|"]
        for key, counter in sorted(self.counts.items()):
            app, route = key.split(" ", 1)
            codes = ", ".join(f"{s}: {n}" for s, n in sorted(counter.items()))
            lines.append(f"| {app} | `{route}` | {sum(counter.values())} | {codes} |")
        lines += ["", "## Findings", ""]
        if not self.findings:
            lines.append("None.")
        for f in self.findings.values():
            lines += [f"- **{f.kind}** ({f.count}x) {f.app} `{f.route}` as {f.identity}: "
                      f"status {f.status}; {f.detail}",
                      f"  - reproducer: seed {self.seed}, `FUZZ_ONLY={f.app}:{f.index}`: "
                      f"`{f.request}`"]
        return "\n".join(lines) + "\n"


def _route_label(rule: Rule) -> str:
    methods = ",".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
    return f"{methods} {rule.rule}"


def _slots(target: Target) -> list[tuple[Rule, Identity]]:
    # The sync app's one real route gets most of its requests (its static route is
    # Flask's default and serves nothing).
    return [(rule, identity) for identity in target.identities for rule in target.rules
            for _ in range(8 if target.sign is not None and "<purpose>" in rule.rule else 1)]


def _header_safe(value: str) -> str:
    # What a server can hand over: latin-1 code points, no line breaks (a test client
    # refuses anything else before the app runs, which would be a finding about the client).
    raw = value.encode("utf-8", "surrogatepass").decode("latin-1")
    return "".join(c for c in raw if c not in "\r\n\x00")


def _wsgi_str(value: str) -> str:
    # WSGI strings carry bytes as latin-1 code points; a server cannot pass anything
    # above U+00FF, so such text goes over as its UTF-8 bytes (as a client would send it).
    if all(ord(c) < 256 for c in value):
        return value
    return value.encode("utf-8", "surrogatepass").decode("latin-1")


def send(target: Target, fz: Fuzzed) -> tuple[str, bytes, str]:
    """Send one request straight to the WSGI app; return (status, body, exception detail).

    No test client: its cookie jar and redirect handling parse the Host header themselves
    and fail on hosts that the app must survive.
    """
    builder = EnvironBuilder(path="/", method=fz.method,
                             headers=[(k, _header_safe(v)) for k, v in fz.headers],
                             data=fz.body)
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ.update({"PATH_INFO": _wsgi_str(fz.path_info), "QUERY_STRING": _wsgi_str(fz.query),
                    **{k: _wsgi_str(v) for k, v in fz.environ.items()}})
    try:
        app_iter, status, _headers = run_wsgi_app(target.app, environ, buffered=True)
        try:
            body = b"".join(app_iter)
        finally:
            getattr(app_iter, "close", lambda: None)()
        return status.split(" ", 1)[0], body, ""
    except Exception as exc:  # the app let an exception escape: a 500 in production
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "/site-packages/" not in f.filename] or frames
        where = f"{ours[-1].filename}:{ours[-1].lineno} in {ours[-1].name}" if ours else "?"
        return "EXC", b"", f"{type(exc).__name__} at {where} (last: {frames[-1].name})"


def run_one(target: Target, seed: int, index: int, results: Results) -> None:
    slots = target.__dict__.setdefault("_slots", _slots(target))
    rule, identity = slots[index % len(slots)]
    rng = random.Random(f"{seed}/{target.name}/{index}")
    session = identity.session()  # mint before the digest: minting writes a session row
    LAST_ERRORS[target.name].clear()
    PAGE_FAILURES.clear()
    before = target.probe.digest()
    fz = (build_sync_request(rng, target, rule)
          if target.sign is not None and "<purpose>" in rule.rule
          else build_request(rng, target, rule, session))
    status, body, detail = send(target, fz)
    route = _route_label(rule)
    results.requests += 1
    results.counts[f"{target.name} {route}"][status] += 1
    results.per_app[f"{target.name}"][status] += 1
    results.per_identity[f"{target.name} {identity.name}"][status] += 1
    where = (target.name, route, identity.name)
    if status == "EXC" or status.startswith("5"):
        if not detail:
            detail = _exception_from_log(target)
        results.add_finding(Finding("5xx", *where, index, status, detail, fz.describe()),
                            ("5xx", target.name, route, status, detail))
    if PAGE_FAILURES:
        results.add_finding(Finding("error page", *where, index, status, PAGE_FAILURES[-1],
                                    fz.describe()),
                            ("error page", target.name, route, PAGE_FAILURES[-1]))
    text = body.decode("utf-8", "replace")
    for marker in LEAK_MARKERS:
        if marker in text:
            at = text.index(marker)
            results.add_finding(Finding("leak", *where, index, status,
                                        f"{marker!r} in body: {text[max(0, at - 80):at + 80]!r}",
                                        fz.describe()), ("leak", target.name, route, marker))
    if status.startswith("4"):
        after = target.probe.digest()
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        if changed:
            results.add_finding(Finding("state", *where, index, status,
                                        f"rejected request changed {', '.join(changed)}",
                                        fz.describe()),
                                ("state", target.name, route, status, ",".join(changed)))
    if rule.endpoint in SESSION_ENDING:
        identity.forget()  # the session may have ended: mint a fresh one next time


# Endpoints after which a minted session may be gone (sign-out).
SESSION_ENDING = frozenset({"auth.logout", "dialogue.logout"})


LAST_ERRORS: dict[str, list[str]] = defaultdict(list)
# Error pages that fell back to plain markup (casework/errors.py logs each): a template
# bug that the fallback hid from the status code, still a finding.
PAGE_FAILURES: list[str] = []


class _PageFailures(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "error page failed" in message:
            PAGE_FAILURES.append(message)


logging.getLogger("lykta").addHandler(_PageFailures(logging.ERROR))


def _exception_from_log(target: Target) -> str:
    found = LAST_ERRORS.get(target.name)
    return found.pop() if found else "(5xx answered by an error handler)"


def run(targets: Iterable[tuple[Target, int]], seed: int, *, only: tuple[str, int] | None = None,
        progress: Callable[[str], None] | None = None) -> Results:
    """Send ``n`` requests to each target; ``only`` sends a single (app, index) request."""
    results = Results(seed)
    started = time.monotonic()
    for target, n in targets:
        if only is not None:
            if only[0] == target.name:
                run_one(target, seed, only[1], results)
            continue
        for index in range(n):
            run_one(target, seed, index, results)
            if progress and index and index % 5000 == 0:
                progress(f"{target.name}: {index}/{n} ({time.monotonic() - started:.0f} s)")
        target.probe.close()
    results.seconds = time.monotonic() - started
    return results


def install_error_capture(target: Target) -> None:
    """Remember the exception behind each 5xx an error handler answered (type and line).

    Flask sends no signal for exceptions a registered handler takes, so the harness wraps
    the app's dispatch of them (test code only).
    """
    from werkzeug.exceptions import HTTPException

    original = target.app.handle_user_exception

    def record(exception: Exception) -> Any:
        if not isinstance(exception, HTTPException):
            frames = traceback.extract_tb(exception.__traceback__)
            ours = [f for f in frames if "/site-packages/" not in f.filename] or frames
            where = f"{ours[-1].filename}:{ours[-1].lineno} in {ours[-1].name}" if ours else "?"
            LAST_ERRORS[target.name].append(f"{type(exception).__name__} at {where}")
        return original(exception)

    target.app.handle_user_exception = record  # type: ignore[method-assign,assignment]


def signer(key: crypto.SigningKey) -> Callable[[str, bytes, random.Random], bytes]:
    """Sign sync bodies as casework does, sometimes with a stale timestamp or a reused nonce."""
    def sign(purpose: str, body: bytes, rng: random.Random) -> bytes:
        timestamp = None
        roll = rng.random()
        if roll < 0.05:
            timestamp = int(time.time()) - rng.choice((301, 3600, 10**9))
        elif roll < 0.08:
            timestamp = int(time.time()) + rng.choice((301, 10**9))
        nonce = b"\x00" * 16 if rng.random() < 0.03 else None  # a replay after the first
        try:
            return crypto.sign_message(key, purpose=purpose, body=body, timestamp=timestamp,
                                       nonce=nonce)
        except (crypto.CryptoError, UnicodeError):  # a purpose the format cannot carry
            return crypto.sign_message(key, purpose="pull", body=body, nonce=nonce)
    return sign
