"""Gunicorn settings for casework (`gunicorn -c ops/gunicorn/casework.conf.py`).

Staff reach it through nginx's TLS listener (ops/nginx/casework.conf).
`LYKTA_GUNICORN_BIND` (default the unix socket nginx proxies to) and
`LYKTA_GUNICORN_WORKERS` (default one per core) come from the environment; several
casework nodes may share one PostgreSQL and one Redis.
"""

import multiprocessing
import os

from common.logs import dict_config


def _workers(default: int) -> int:
    value = os.environ.get("LYKTA_GUNICORN_WORKERS", str(default))
    if not value.isdigit() or not 1 <= int(value) <= 256:
        raise ValueError("LYKTA_GUNICORN_WORKERS must be a whole number from 1 to 256")
    return int(value)


wsgi_app = "casework:create_app()"
bind = os.environ.get("LYKTA_GUNICORN_BIND", "unix:/run/lykta-casework/casework.sock").split()
# Sign-ins run Argon2 (casework.json's argon2, 128 MiB each by default): one worker per
# core, threads for the many light page views.
workers = _workers(multiprocessing.cpu_count())
threads = 4
worker_class = "gthread"
# Pages and 64 MiB uploads on the internal network; a statistics release may take a while.
timeout = 300
graceful_timeout = 30
keepalive = 5
# No access log: which member of staff opened what is the audit log's business, signed
# and kept by casework itself; a second, unsigned record would only leak.
accesslog = None
errorlog = "-"
loglevel = "warning"
# One JSON object a line for gunicorn's messages and the app's (common/logs.py): time,
# level, logger, message; anything like an address, a receipt or a token redacted.
logconfig_dict = dict_config(loglevel.upper())
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190
forwarded_allow_ips = ""
# The socket is made 0770 (group: the app's group, which nginx's user joins); the folder
# systemd makes for it (RuntimeDirectory, 0750) keeps everyone else out. The app's own
# files still get the unit's UMask=0077: gunicorn applies this mask to its socket only.
umask = 0o007
secure_scheme_headers: dict[str, str] = {}
max_requests = 2000
max_requests_jitter = 200
