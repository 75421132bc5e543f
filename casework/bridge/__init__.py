"""Casework's side of the bridge to intake.

- ``client``: signed HTTP requests to intake's sync app (:class:`IntakeClient`);
- ``cycle``: one cycle (pull, fetch, import, ack, commands, push), and the bridge's health;
- ``imports``: taking intake's items into cases, trusting intake for delivery only;
- ``pushes``: sealing replies for the tipster and handing them back to intake;
- ``commands``: what casework asks of intake (register a receipt, forget a dialogue);
- ``bundles``: the same exchange as air-gap files (``flask --app casework bridge ...``).

Casework opens every connection; intake never connects here.
"""

from .client import BodyTooLarge, BridgeError, IntakeClient
from .cycle import CycleReport, client_for, last_success, run_cycle, sync_is_stale

__all__ = ["BodyTooLarge", "BridgeError", "CycleReport", "IntakeClient", "client_for",
           "last_success", "run_cycle", "sync_is_stale"]
