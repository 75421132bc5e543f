"""Where the bridge's code lives: the one place the benchmarks name its modules.

The benchmarks drive the bridge (casework's client, cycle and import, intake's sync app)
and fingerprint its files; when its modules move, this file is what changes.
"""

from __future__ import annotations

from types import ModuleType

from flask import Flask

from casework.bridge import BridgeError, client, client_for, cycle, run_cycle
from casework.bridge.imports import new_reference
from common.sync_schema import MAX_BODY

# The bridge bench wraps and raises module globals where the bridge reads them:
# ``run_cycle`` calls ``import_from_intake`` from the cycle module, and the client checks
# a body's size against ``MAX_BODY`` in its own module.
cycle_module: ModuleType = cycle
client_module: ModuleType = client
# What gunicorn serves.
SYNC_APP = "intake.bridge.sync:create_app()"
# What the code fingerprint covers.
CODE = ["casework/bridge/*.py", "casework/jobs.py", "intake/bridge/*.py", "common/*.py",
        "crypto/*.py"]
CODE_LABEL = "casework/bridge/, casework/jobs.py, intake/bridge/, common/, crypto/"

__all__ = ["CODE", "CODE_LABEL", "MAX_BODY", "SYNC_APP", "BridgeError", "client_for",
           "client_module", "create_sync_app", "cycle_module", "new_reference", "run_cycle"]


def create_sync_app() -> Flask:
    """Intake's sync app for the instance in ``LYKTA_INSTANCE``."""
    from intake.bridge.sync import create_app

    return create_app()
