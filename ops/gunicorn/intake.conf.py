"""Gunicorn settings for the public intake app (`gunicorn -c ops/gunicorn/intake.conf.py`).

`LYKTA_GUNICORN_BIND` (default the unix socket nginx proxies to) and
`LYKTA_GUNICORN_WORKERS` (default one per core) come from the environment, so that the
systemd unit, the rehearsal and the benchmarks run this very file, never a copy.
"""

import multiprocessing
import os

from common.logs import dict_config


def _workers(default: int) -> int:
    value = os.environ.get("LYKTA_GUNICORN_WORKERS", str(default))
    if not value.isdigit() or not 1 <= int(value) <= 256:
        raise ValueError("LYKTA_GUNICORN_WORKERS must be a whole number from 1 to 256")
    return int(value)


wsgi_app = "intake:create_app()"
# Several addresses may be given, separated by spaces (e.g. a socket and a loopback port).
bind = os.environ.get("LYKTA_GUNICORN_BIND", "unix:/run/lykta-intake/intake.sock").split()
# Argon2 dominates: one worker per core, a few threads each to keep slow uploads from
# blocking sign-ins. intake.json's argon2_concurrency bounds derivations per process.
workers = _workers(multiprocessing.cpu_count())
threads = 4
worker_class = "gthread"
# Uploads over Tor are slow: allow an hour per request.
timeout = 3600
graceful_timeout = 30
keepalive = 5
# No access log: it would hold request times (and, without Tor, addresses).
accesslog = None
errorlog = "-"
loglevel = "warning"
# One JSON object a line for gunicorn's messages and the app's (common/logs.py): time,
# level, logger, message; anything like an address, a receipt or a token redacted.
logconfig_dict = dict_config(loglevel.upper())
# Request heads are small; anything bigger is an attack or a mistake (nginx limits too).
limit_request_line = 4096
limit_request_fields = 50
limit_request_field_size = 8190
# No proxy header changes the scheme or the client address: intake needs neither, and
# nginx clears them anyway (gunicorn trusts every peer on a unix socket).
forwarded_allow_ips = ""
# The socket is made 0770 (group: the app's group, which nginx's user joins); the folder
# systemd makes for it (RuntimeDirectory, 0750) keeps everyone else out. The app's own
# files still get the unit's UMask=0077: gunicorn applies this mask to its socket only.
umask = 0o007
secure_scheme_headers: dict[str, str] = {}
# Restart workers now and then, so a slow leak (or a heap holding old plaintext) ends.
max_requests = 2000
max_requests_jitter = 200
