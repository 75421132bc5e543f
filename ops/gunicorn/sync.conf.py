"""Gunicorn settings for intake's sync app (`gunicorn -c ops/gunicorn/sync.conf.py`).

Only casework talks to it, through nginx's TLS listener on the internal interface
(ops/nginx/sync.conf). `LYKTA_GUNICORN_BIND` (default its own unix socket) and
`LYKTA_GUNICORN_WORKERS` (default 2) come from the environment.
"""

import os

from common.logs import dict_config


def _workers(default: int) -> int:
    value = os.environ.get("LYKTA_GUNICORN_WORKERS", str(default))
    if not value.isdigit() or not 1 <= int(value) <= 256:
        raise ValueError("LYKTA_GUNICORN_WORKERS must be a whole number from 1 to 256")
    return int(value)


wsgi_app = "intake.bridge.sync:create_app()"
bind = os.environ.get("LYKTA_GUNICORN_BIND", "unix:/run/lykta-sync/sync.sock").split()
# One casework (or a few rq workers) pulls at a time: two processes are plenty, and the
# threads let a long body fetch run beside pulls and acks.
workers = _workers(2)
threads = 4
worker_class = "gthread"
# A fetch streams one envelope body (up to 600 MiB) over the internal link.
timeout = 600
graceful_timeout = 30
keepalive = 5
accesslog = None  # casework's own bridge log says what was synced; no times here
errorlog = "-"
loglevel = "warning"
# One JSON object a line for gunicorn's messages and the app's (common/logs.py): time,
# level, logger, message; anything like an address, a receipt or a token redacted.
logconfig_dict = dict_config(loglevel.upper())
limit_request_line = 1024  # five fixed paths
limit_request_fields = 30
limit_request_field_size = 8190
forwarded_allow_ips = ""
# The socket is made 0770 (group: the app's group, which nginx's user joins); the folder
# systemd makes for it (RuntimeDirectory, 0750) keeps everyone else out. The app's own
# files still get the unit's UMask=0077: gunicorn applies this mask to its socket only.
umask = 0o007
secure_scheme_headers: dict[str, str] = {}
max_requests = 5000
max_requests_jitter = 500
