"""The nginx sites (ops/nginx/): each passes `nginx -t` inside a wrapper nginx.conf in a
temporary folder (paths, certificates and listen addresses rewritten there), keeps the
settings the apps' security depends on, and the intake site behaves so when it runs."""

from __future__ import annotations

import http.client
import ipaddress
import os
import re
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from intake.bridge.sync import MAX_REQUEST
from intake.config import IntakeConfig
from tests.ops.tools import certificate_authority, issue, program
from tests.support.processes import stop

OPS = Path(__file__).resolve().parent.parent.parent / "ops"
SITES = ("intake", "casework", "sync")
HEADERS_MORE = Path("/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so")
SECURITY_HEADERS = ("X-Content-Type-Options: nosniff", "X-Frame-Options: DENY",
                    "Referrer-Policy: no-referrer", "Cross-Origin-Opener-Policy: same-origin")
# Variables that would put a person (or what they searched for) into a log line.
IDENTIFYING = ("$remote_addr", "$binary_remote_addr", "$http_x_forwarded_for",
               "$proxy_add_x_forwarded_for", "$http_user_agent", "$http_referer",
               "$request ", "$request_uri", "$args", "$query_string", "$realip_remote_addr")


def site(name: str) -> str:
    """The site's directives, comments left out (no value of ours holds a #)."""
    text = (OPS / "nginx" / f"{name}.conf").read_text()
    return re.sub(r"#.*$", "", text, flags=re.MULTILINE)


def directives(text: str, name: str) -> list[str]:
    """The arguments of every ``name`` directive (comments left out)."""
    return [m.group(1).strip() for m in
            re.finditer(rf"^\s*{name}\s+([^;]*);", text, flags=re.MULTILINE)]


def mebibytes(value: str) -> int:
    assert value.endswith("m"), value
    return int(value[:-1]) * 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wrapped(name: str, folder: Path, *, port: int | None = None) -> Path:
    """A runnable copy of site ``name`` in ``folder``: logs, sockets and certificates
    there, every listener on a loopback port, inside a minimal nginx.conf that loads the
    headers-more module as Debian's does. Returns the wrapper's path."""
    for sub in ("log", "run", "temp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    text = site(name).replace("/var/log/nginx/", f"{folder}/log/")
    text = text.replace("/run/", f"{folder}/run/")
    if "/etc/lykta/tls/" in text:
        ca = certificate_authority(folder / "tls", "internal-ca")
        leaf = issue(ca, folder / "tls", "server", san="IP:127.0.0.1")
        text = text.replace("/etc/lykta/tls/internal-ca.crt", str(ca.certificate))
        text = re.sub(r"/etc/lykta/tls/[\w.-]+\.crt", str(leaf.certificate), text)
        text = re.sub(r"/etc/lykta/tls/[\w.-]+\.key", str(leaf.key), text)
    assert "/etc/" not in text and "/var/" not in text, "a path left to rewrite"
    text = re.sub(r"^\s*listen \[::\].*$", "", text, flags=re.MULTILINE)  # no IPv6 here
    text = re.sub(r"^(\s*)listen [^\s;]+", lambda m: f"{m.group(1)}listen 127.0.0.1:"
                  f"{port or free_port()}", text, flags=re.MULTILINE)
    (folder / f"{name}.conf").write_text(text)
    temp = folder / "temp"
    wrapper = folder / "nginx.conf"
    wrapper.write_text(f"""
{'user root;' if os.geteuid() == 0 else ''}
daemon off;
pid {folder}/run/nginx.pid;
error_log {folder}/log/error.log;
load_module {HEADERS_MORE};
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi; uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
    include {folder}/{name}.conf;
}}
""")
    return wrapper


def nginx_test(wrapper: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([program("nginx"), "-t", "-p", str(wrapper.parent), "-c",
                           str(wrapper)], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("name", SITES)
def test_nginx_accepts_the_site(name: str, tmp_path: Path) -> None:
    if not HEADERS_MORE.exists():
        program("nginx")  # the module comes with nginx in make sysdeps
        pytest.fail(f"{HEADERS_MORE} is missing: apt-get install "
                    "libnginx-mod-http-headers-more-filter")
    checked = nginx_test(wrapped(name, tmp_path))
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_the_check_refuses_a_broken_site(tmp_path: Path) -> None:
    # Guards the test above against a checker that accepts anything.
    wrapper = wrapped("intake", tmp_path)
    conf = tmp_path / "intake.conf"
    conf.write_text(conf.read_text().replace("proxy_request_buffering off;",
                                             "proxy_request_buffering sometimes;"))
    assert nginx_test(wrapper).returncode != 0


def test_every_site_names_no_software_and_logs_no_address() -> None:
    for name in SITES:
        text = site(name)
        assert directives(text, "more_clear_headers")[0] == "Server", name
        assert "server_tokens off;" in text or name == "sync", name
        assert directives(text, "error_log")[0].endswith(" crit"), name
        for fmt in directives(text, "log_format"):
            assert not [v for v in IDENTIFYING if v in fmt + " "], fmt
        for log in directives(text, "access_log"):
            assert log == "off" or log.split()[-1] in {f.split()[0] for f in
                                                        directives(text, "log_format")}, log
        # Nothing a client sends about addresses or scheme reaches the app.
        for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
            assert f'proxy_set_header {header} "";' in text, (name, header)
        # No plaintext body in nginx's temp folders, either way.
        assert "proxy_request_buffering off;" in text and "proxy_buffering off;" in text


def test_intake_site_is_loopback_only_with_intake_s_upload_limit() -> None:
    text = site("intake")
    assert directives(text, "listen") == ["127.0.0.1:8080"]
    assert "access_log off;" in text
    default_limit = IntakeConfig.__dataclass_fields__["max_request_bytes"].default
    assert mebibytes(directives(text, "client_max_body_size")[0]) == default_limit
    for header in SECURITY_HEADERS:
        assert f'more_set_headers "{header}";' in text
    assert "Strict-Transport-Security" not in text  # plain HTTP inside Tor


def test_casework_site_is_tls_only_with_hsts_and_casework_s_upload_limit() -> None:
    text = site("casework")
    listens = directives(text, "listen")
    assert listens and all(listen.endswith(" ssl") for listen in listens)
    assert "ssl_session_tickets off;" in text
    assert re.search(r'more_set_headers "Strict-Transport-Security: max-age=\d{8}', text)
    for header in SECURITY_HEADERS:
        assert f'more_set_headers "{header}";' in text
    source = (OPS.parent / "casework" / "__init__.py").read_text()
    limit = re.search(r"MAX_CONTENT_LENGTH=(\d+) \* 1024 \* 1024", source)
    assert limit is not None
    assert mebibytes(directives(text, "client_max_body_size")[0]) == int(limit.group(1)) << 20


def test_sync_site_admits_only_casework_s_client_certificate_over_tls() -> None:
    text = site("sync")
    listens = directives(text, "listen")
    assert listens and all(listen.endswith(" ssl") for listen in listens)
    # One internal address, never every interface.
    for listen in listens:
        address = ipaddress.ip_address(listen.split()[0].rsplit(":", 1)[0])
        assert address.is_private and not address.is_unspecified, listen
    assert "ssl_verify_client on;" in text and "ssl_client_certificate" in text
    assert "access_log off;" in text
    assert mebibytes(directives(text, "client_max_body_size")[0]) == MAX_REQUEST


# --- the intake site, running ------------------------------------------------------------


class _Upstream(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _Echo(BaseHTTPRequestHandler):
    """Stands in for intake: answers 200 with the request headers it got, no policy."""

    def do_GET(self) -> None:
        body = "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def running_intake_site(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    wrapper = wrapped("intake", tmp_path, port=port)
    socket_path = tmp_path / "run" / "lykta-intake" / "intake.sock"
    socket_path.parent.mkdir(parents=True)
    upstream = _Upstream(str(socket_path), _Echo)
    threading.Thread(target=upstream.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    nginx = subprocess.Popen([program("nginx"), "-p", str(tmp_path), "-c", str(wrapper)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert nginx.poll() is None, "nginx exited"
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.02)
        yield port
    finally:
        stop(nginx)
        upstream.shutdown()
        upstream.server_close()


def _get(port: int, path: str, headers: dict[str, str] | None = None,
         method: str = "GET") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_running_intake_site_hides_health_checks_names_nothing_and_forwards_no_address(
        running_intake_site: int) -> None:
    port = running_intake_site
    for path in ("/healthz", "/readyz", "/HEALTHZ", "//readyz", "/healthz/", "/%72eadyz",
                 "/readyz?full=1"):
        assert _get(port, path).status == 404, path

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/", headers={"X-Forwarded-For": "203.0.113.9",
                                            "X-Real-IP": "203.0.113.9",
                                            "Forwarded": "for=203.0.113.9"})
    response = connection.getresponse()
    seen = response.read().decode()
    connection.close()
    assert response.status == 200
    assert "203.0.113.9" not in seen  # the app never learns an address
    assert response.getheader("Server") is None
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("Content-Security-Policy", "").startswith("default-src 'none'")


def test_running_intake_site_refuses_a_body_over_intake_s_limit_before_reading_it(
        running_intake_site: int) -> None:
    too_big = str(IntakeConfig.__dataclass_fields__["max_request_bytes"].default + 1)
    response = _get(running_intake_site, "/report", method="POST",
                    headers={"Content-Length": too_big})
    assert response.status == 413
    assert response.getheader("Server") is None
    assert response.getheader("X-Content-Type-Options") == "nosniff"
