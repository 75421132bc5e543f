"""Intake's side of the bridge to casework.

- ``sync``: the sync app (``intake.bridge.sync:create_app``), a separate WSGI app for the
  internal interface that answers casework's signed pull, fetch, ack, push and command;
- ``outbox``: what intake holds for casework and stores for tipsters, shared by the sync
  app and the air-gap bundle commands (``intake/cli.py``);
- ``commands``: casework's commands applied here (register an oral report's receipt,
  forget a purged case's dialogue), over HTTP and from bundles alike.

Intake never connects to casework, and holds no key that opens what crosses.
"""
