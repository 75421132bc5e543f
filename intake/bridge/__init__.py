"""Intake's side of the bridge to casework.

- ``sync``: the sync app (``intake.bridge.sync:create_app``), a separate WSGI app for the
  internal interface that answers casework's signed pull, fetch, ack and push;
- ``outbox``: what intake holds for casework and stores for tipsters, shared by the sync
  app and the air-gap bundle commands (``intake/cli.py``).

Intake never connects to casework, and holds no key that opens what crosses.
"""
