"""Gunicorn settings for the public intake app (`gunicorn -c ops/gunicorn/intake.conf.py`)."""

import multiprocessing

wsgi_app = "intake:create_app()"
bind = "unix:/run/lykta/intake.sock"
# Argon2 dominates: one worker per core, a few threads each to keep slow uploads from
# blocking sign-ins. intake.json's argon2_concurrency bounds derivations per process.
workers = multiprocessing.cpu_count()
threads = 4
worker_class = "gthread"
# Uploads over Tor are slow: allow an hour per request.
timeout = 3600
graceful_timeout = 30
# No access log: it would hold request times (and, without Tor, addresses).
accesslog = None
errorlog = "-"
loglevel = "warning"
limit_request_line = 4096
limit_request_fields = 50
forwarded_allow_ips = ""
