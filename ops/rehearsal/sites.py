"""nginx for the rehearsal: the site files of ops/nginx/, rewritten to the temp folder.

``sites.py ROOT`` picks free loopback ports and writes two nginx configurations, one per
machine of a real deployment:

- ``ROOT/nginx-intake/``: ``intake.conf`` (the public site tor forwards to) and
  ``sync.conf`` (the internal TLS listener casework pulls from), as on the intake host;
- ``ROOT/nginx-casework/``: ``casework.conf`` (TLS for staff), its upstream widened to the
  two casework nodes, as on the casework host.

The site files are copied, not imitated: only what must differ on loopback changes (the
listen address and port, the unix sockets under ``/run/lykta/``, the TLS files, the log
paths). Everything else - no access log, no buffering of uploads, the headers, the
limits - is what production runs. It prints the ports as shell assignments for
``eval``.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITES = REPO / "ops" / "nginx"
HEADERS_MORE = Path("/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so")
CASEWORK_NODES = 2
MACHINES = {"intake": ("intake", "sync"), "casework": ("casework",)}

LISTEN = re.compile(r"^(\s*)listen\s+([^\s;]+)([^;]*);", re.MULTILINE)
# The gunicorn sockets, whatever folder under /run the site expects them in.
SOCKET = re.compile(r"unix:/run/[\w.-]+/([\w.-]+)\.sock")
# The TLS files, whatever the site calls them: the server's chain and key, and the CA
# a listener trusts for client certificates (the rehearsal's own CA).
TLS_FILES = {"ssl_certificate": "server.pem", "ssl_certificate_key": "server.key",
             "ssl_client_certificate": "ca.pem", "ssl_trusted_certificate": "ca.pem"}
TLS = re.compile(r"^(\s*)(" + "|".join(TLS_FILES) + r")\s+[^;]+;", re.MULTILINE)
LOG = re.compile(r"^(\s*)(error_log|access_log)\s+(/[^\s;]+)([^;]*);", re.MULTILINE)
UPSTREAM = "lykta_casework_nodes"
CASEWORK_SERVER = re.compile(r"^(\s*)server\s+unix:/run/[\w.-]+/casework\.sock([^;]*);",
                             re.MULTILINE)
CASEWORK_PASS = re.compile(r"proxy_pass\s+http://unix:/run/[\w.-]+/casework\.sock;")


def free_port() -> int:
    """A loopback port nobody listens on now (nginx binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _nodes(root: Path, indent: str, flags: str = "") -> str:
    return "\n".join(f"{indent}server unix:{root}/run/casework-{n}.sock{flags};"
                      for n in range(1, CASEWORK_NODES + 1))


def render(text: str, *, port: int, root: Path) -> str:
    """One site file with its loopback port, sockets, TLS files and logs in ``root``."""
    seen: list[str] = []

    def listen(match: re.Match[str]) -> str:
        # Every listen line of the site (IPv4, IPv6, an internal address) becomes the
        # one loopback port; the flags (ssl, http2, default_server) stay.
        line = f"{match.group(1)}listen 127.0.0.1:{port}{match.group(3)};"
        if line.strip() in seen:
            return f"{match.group(1)}# (another address: one loopback port here)"
        seen.append(line.strip())
        return line

    text = LISTEN.sub(listen, text)
    # Two casework nodes behind one upstream, each on its own gunicorn socket: the
    # site's upstream widened, or (a site proxying to the one socket) one made for it.
    if CASEWORK_SERVER.search(text):
        text = CASEWORK_SERVER.sub(lambda m: _nodes(root, m.group(1), m.group(2)), text)
    elif CASEWORK_PASS.search(text):
        text = CASEWORK_PASS.sub(f"proxy_pass http://{UPSTREAM};", text)
        text = (f"# The rehearsal's two casework nodes (one socket in production).\n"
                f"upstream {UPSTREAM} {{\n{_nodes(root, '    ')}\n    keepalive 8;\n}}\n\n"
                + text)
    text = SOCKET.sub(lambda m: f"unix:{root}/run/{m.group(1)}.sock", text)
    text = TLS.sub(lambda m: f"{m.group(1)}{m.group(2)} {root}/tls/{TLS_FILES[m.group(2)]};",
                   text)
    return LOG.sub(lambda m: f"{m.group(1)}{m.group(2)} {root}/logs/"
                             f"{Path(m.group(3)).name}{m.group(4)};", text)


def main_config(machine: str, root: Path, sites: list[Path]) -> str:
    """nginx.conf for one machine: everything in ``root``, the sites included."""
    home = root / f"nginx-{machine}"
    lines = []
    if os.geteuid() == 0:
        # As root nginx would switch its workers to nobody, who cannot enter the
        # 0700 temp folder to reach the gunicorn sockets. Production runs the workers as
        # www-data with the sockets' group; on loopback, for minutes, they stay root.
        lines.append("user root;")
    if HEADERS_MORE.exists():
        lines.append(f"load_module {HEADERS_MORE};")
    lines += [
        "worker_processes 1;", "daemon off;", f"pid {home}/nginx.pid;",
        f"error_log {root}/logs/nginx-{machine}.log warn;",
        "events { worker_connections 128; }",
        "http {",
        f"    client_body_temp_path {home}/body;", f"    proxy_temp_path {home}/proxy;",
        f"    fastcgi_temp_path {home}/fastcgi;", f"    uwsgi_temp_path {home}/uwsgi;",
        f"    scgi_temp_path {home}/scgi;",
        "    access_log off;",
        *(f"    include {site};" for site in sites),
        "}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: sites.py ROOT", file=sys.stderr)
        return 2
    root = Path(argv[0]).resolve()
    missing = [f"ops/nginx/{name}.conf" for names in MACHINES.values() for name in names
               if not (SITES / f"{name}.conf").exists()]
    if missing:
        print(f"missing site files: {', '.join(missing)}", file=sys.stderr)
        return 1
    if not HEADERS_MORE.exists() and any(
            "more_clear_headers" in (SITES / f"{n}.conf").read_text()
            for names in MACHINES.values() for n in names):
        print(f"the sites need nginx's headers-more module ({HEADERS_MORE}; Debian "
              "package libnginx-mod-http-headers-more-filter)", file=sys.stderr)
        return 1
    ports = {name: free_port() for names in MACHINES.values() for name in names}
    sites: dict[str, list[Path]] = {}
    for machine, names in MACHINES.items():
        (root / f"nginx-{machine}" / "sites").mkdir(parents=True, exist_ok=True)
        sites[machine] = []
        for name in names:
            site = root / f"nginx-{machine}" / "sites" / f"{name}.conf"
            site.write_text(render((SITES / f"{name}.conf").read_text(), port=ports[name],
                                   root=root))
            sites[machine].append(site)
    sync = (SITES / "sync.conf").read_text()
    tls = re.search(r"^\s*listen[^;]* ssl", sync, re.MULTILINE) is not None
    for machine, written in sites.items():
        (root / f"nginx-{machine}" / "nginx.conf").write_text(
            main_config(machine, root, written))
    for name, port in ports.items():
        print(f"{name.upper()}_PORT={port}")
    print(f"SYNC_SCHEME={'https' if tls else 'http'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
