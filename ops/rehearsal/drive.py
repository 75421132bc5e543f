"""The rehearsal's HTTP steps: readiness, and one report there and back through nginx.

``drive.py ready TLSDIR LABEL=TARGET...``: wait until each TARGET's ``/readyz`` answers 200
with ``"status": "ready"`` (TARGET is ``unix:/path/to/gunicorn.sock``, one node without
nginx, or ``http(s)://127.0.0.1:PORT``, nginx; TLS checked against TLSDIR/ca.pem).
With ``--workers N``, then until N rq workers are registered on ``LYKTA_REDIS_URL``.

``drive.py report ROOT``: a tipster and a reviewer, each with nothing but a browser's
means, through the two nginx front ends the script started:

1. GET intake's JavaScript-free form, POST it (multipart, with a file) with its CSRF
   token, note the receipt;
2. sign in to casework over TLS (the rehearsal's CA) with password and TOTP code - the
   sign-in unlocks the reviewer's private key;
3. wait until the bridge (the scheduler's cycles, run by the rq workers) has brought the
   report in, open the case and find the report's text decrypted, post a reply;
4. sign in at intake with the receipt and wait until the reply's text is there.

Every line it prints starts with ``[rehearsal]``; a failed step raises ``StepFailed``
with the step's name, and the exit status is 1. No page content is printed (the pages
hold the report): only what was checked.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import socket
import ssl
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyotp

WAIT = 120.0  # seconds, per wait: generous, for a loaded machine
CSRF = re.compile(r'name="([\w-]*csrf_token)"[^>]*value="([^"]+)"')
RECEIPT = re.compile(r'id="receipt-code">([0-9A-Z-]+)<')
CASE_LINK = re.compile(r'href="/cases/([A-Za-z0-9_-]+)"')
T = TypeVar("T")


class StepFailed(Exception):
    """A rehearsal step did not hold; the message names it and why."""


def say(text: str) -> None:
    print(f"[rehearsal] {text}", flush=True)


class UnixConnection(http.client.HTTPConnection):
    """HTTP over a gunicorn unix socket (one node, bypassing nginx)."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=5)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self._path)


class Browser:
    """Cookies, forms, multipart; no redirects followed; TLS checked against our CA."""

    def __init__(self, base: str, tls: Path | None = None) -> None:
        parts = urllib.parse.urlsplit(base)
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 0
        self.context = None
        if tls is not None:
            # The rehearsal's CA only; casework's client certificate for whoever asks
            # for one (the sync link), as casework's bridge shows it.
            self.context = ssl.create_default_context(cafile=str(tls / "ca.pem"))
            if (tls / "client.pem").exists():
                self.context.load_cert_chain(tls / "client.pem", tls / "client.key")
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        connection: http.client.HTTPConnection
        if self.https:
            connection = http.client.HTTPSConnection(self.host, self.port, timeout=30,
                                                     context=self.context)
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            page = response.read().decode("utf-8", "replace")
            for header in response.msg.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                if value:
                    self.cookies[name.strip()] = value.strip()
                else:
                    self.cookies.pop(name.strip(), None)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, page
        finally:
            connection.close()

    def csrf(self, path: str, field: str = "csrf_token") -> str:
        status, _, page = self.request("GET", path)
        for name, value in CSRF.findall(page):
            if name == field:
                return str(value)
        raise StepFailed(f"GET {path} answered {status} without a {field}")

    def post(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], str]:
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def post_multipart(self, path: str, fields: dict[str, str],
                       files: list[tuple[str, bytes]]) -> tuple[int, dict[str, str], str]:
        boundary = f"lykta-{secrets.token_hex(12)}"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                 f"{v}\r\n".encode() for k, v in fields.items()]
        for filename, data in files:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                         f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                         "\r\n\r\n".encode() + data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, b"".join(parts),
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def wait_for(what: str, check: Callable[[], T | None], timeout: float = WAIT) -> T:
    """Poll ``check`` until it returns something; StepFailed after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (OSError, http.client.HTTPException):
            result = None  # not listening yet, or a connection reset during start-up
        if result:
            return result
        if time.monotonic() > deadline:
            raise StepFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def ready(label: str, target: str, tls: Path | None) -> None:
    """Wait for ``/readyz`` to say ready; for a URL with a path (intake's nginx answers
    /readyz with 404: not for the onion side), for that path to answer 200."""
    path = urllib.parse.urlsplit(target).path if "://" in target else ""

    def probe() -> bool:
        if target.startswith("unix:"):
            connection: http.client.HTTPConnection = UnixConnection(target[5:])
            connection.request("GET", "/readyz")
            response = connection.getresponse()
            status, body = response.status, response.read()
            connection.close()
        else:
            status, _, page = Browser(target, tls).request("GET", path or "/readyz")
            body = page.encode()
        return status == 200 and (bool(path) or json.loads(body).get("status") == "ready")

    wait_for(f"{label} to be ready ({target}{'' if path else '/readyz'})", probe)
    say(f"ready: {label} ({'GET ' + path if path else '/readyz'} 200)")


def report(root: Path) -> None:
    intake_url = f"http://127.0.0.1:{os.environ['INTAKE_PORT']}"
    casework_url = f"https://127.0.0.1:{os.environ['CASEWORK_PORT']}"
    reviewer = json.loads((root / "reviewer.json").read_text())
    what = f"Rehearsal report {secrets.token_hex(6)}: the invoices were paid twice."
    answer = f"Rehearsal reply {secrets.token_hex(6)}: which year was it?"

    step = "intake form through nginx"
    tipster = Browser(intake_url)
    status, headers, _ = tipster.request("GET", "/submit")
    if status != 200:
        raise StepFailed(f"{step}: GET /submit answered {status}")
    if "server" in headers:
        raise StepFailed(f"{step}: nginx names its software (Server: ...)")
    token = tipster.csrf("/submit")
    status, _, _ = tipster.request("GET", "/readyz")
    if status != 404:
        raise StepFailed(f"{step}: /readyz answers {status} on the onion side (want 404)")
    say(f"ok: {step} (GET /submit 200, a CSRF token, no Server header; /readyz 404)")

    step = "report submitted at intake"
    status, _, page = tipster.post_multipart("/submit", {
        "csrf_token": token, "category": "ethics", "agency": "Skatteverket",
        "agency_other": "", "what": what, "when": "Spring 2026", "who": "Head of unit",
        "identity": "anonymous", "name": "", "contact": ""},
        [("evidence.bin", secrets.token_bytes(200_000))])
    found = RECEIPT.search(page)
    if status != 200 or not found:
        raise StepFailed(f"{step}: POST /submit answered {status} without a receipt")
    receipt = found.group(1)
    say(f"ok: {step} (multipart with a file; a receipt of {len(receipt)} characters)")

    step = "reviewer signed in to casework over TLS"
    staff = Browser(casework_url, root / "tls")
    staff.cookies["lang"] = "en"
    status, headers, _ = staff.post("/login", {
        "csrf_token": staff.csrf("/login"), "username": reviewer["username"],
        "password": reviewer["password"],
        "code": pyotp.TOTP(reviewer["totp_secret"]).now()})
    if status != 302 or headers.get("location") not in ("/", f"{casework_url}/"):
        raise StepFailed(f"{step}: POST /login answered {status}")
    say(f"ok: {step} (password and TOTP code; the certificate checked against the CA)")

    step = "bridge brought the report to casework"

    def case_listed() -> str | None:
        status, _, page = staff.request("GET", "/cases/")
        if status != 200:
            raise StepFailed(f"{step}: GET /cases/ answered {status}")
        links = CASE_LINK.findall(page)
        return links[0] if links else None

    try:
        case_id = wait_for("the case in the reviewer's inbox", case_listed)
    except StepFailed as exc:
        raise StepFailed(f"{step}: {exc}") from None
    say(f"ok: {step} (the case is in the reviewer's inbox)")

    step = "case opened and decrypted"
    status, _, page = staff.request("GET", f"/cases/{case_id}")
    if status != 200 or what not in page:
        raise StepFailed(f"{step}: GET the case answered {status}"
                         f"{'' if status != 200 else ' without the report text'}")
    say(f"ok: {step} (the report's text, opened with the key unlocked at sign-in)")

    step = "reply posted"
    status, _, _ = staff.post(f"/cases/{case_id}/reply", {
        "reply-csrf_token": staff.csrf(f"/cases/{case_id}", "reply-csrf_token"),
        "reply-text": answer})
    if status != 302:
        raise StepFailed(f"{step}: POST the reply answered {status}")
    say(f"ok: {step}")

    step = "tipster signed in at intake with the receipt"
    reader = Browser(intake_url)
    status, _, _ = reader.post("/login", {"csrf_token": reader.csrf("/login"),
                                          "receipt": receipt})
    if status != 302:
        raise StepFailed(f"{step}: POST /login answered {status}")
    say(f"ok: {step}")

    step = "reply reached the tipster"

    def reply_shown() -> bool:
        status, _, page = reader.request("GET", "/dialogue")
        if status != 200:
            raise StepFailed(f"{step}: GET /dialogue answered {status}")
        return answer in page

    try:
        wait_for("the reply at intake", reply_shown)
    except StepFailed as exc:
        raise StepFailed(f"{step}: {exc}") from None
    say(f"ok: {step} (its text in the dialogue, decrypted with the receipt)")


def workers(expected: int) -> None:
    """The rq workers the script started are registered on the shared Redis."""
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(os.environ["LYKTA_REDIS_URL"])
    wait_for(f"{expected} rq workers on Redis",
             lambda: len(Worker.all(connection=connection)) >= expected)
    say(f"ready: {expected} rq workers registered on Redis")


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["ready"] and len(argv) >= 3:
            pairs = argv[2:]
            if len(pairs) > 2 and pairs[-2] == "--workers":
                pairs, expected = pairs[:-2], int(pairs[-1])
            else:
                expected = 0
            for pair in pairs:
                label, _, target = pair.partition("=")
                ready(label, target, Path(argv[1]))
            if expected:
                workers(expected)
        elif argv[:1] == ["report"] and len(argv) == 2:
            report(Path(argv[1]))
        else:
            print("usage: drive.py ready TLSDIR LABEL=TARGET... [--workers N] | report ROOT",
                  file=sys.stderr)
            return 2
    except StepFailed as exc:
        say(f"FAILED: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
