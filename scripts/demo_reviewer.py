"""Play a demo reviewer from the command line until casework exists (issue 4).

    python -m scripts.demo_reviewer list                  decrypt and show every report and message
    python -m scripts.demo_reviewer reply RECEIPT_ID TEXT seal a reply to the tipster of RECEIPT_ID
    python -m scripts.demo_reviewer status RECEIPT_ID STAGE

It unwraps the demo key holders' keys (reviewer, unit lead, custodian from
instance/demo.json, wrapped in casework's database under their passwords) and reads
intake's database and storage directly, which only works because the demo keeps both
apps' state on one machine; the bridge (issue 5) replaces this.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys

from sqlalchemy import select

import crypto
from casework import create_app as create_casework
from casework.models import User
from casework.services import current as casework_services
from intake import create_app
from intake.dialogue import deliver_to_tipster
from intake.models import StoredEnvelope
from intake.services import current

from .demo import INSTANCE


def reviewer_keys() -> list[tuple[str, crypto.PrivateKey]]:
    demo = json.loads((INSTANCE / "demo.json").read_text())
    keys = []
    with create_casework().app_context():
        services = casework_services()
        with services.db.session() as db:
            for role in ("reviewer", "unit_lead", "custodian"):
                account = demo[role]
                user = db.scalar(select(User).where(User.username == account["username"]))
                if user is not None and user.wrapped_key is not None:
                    keys.append((account["username"], crypto.unwrap_private_key(
                        user.wrapped_key, account["password"])))
    return keys


def list_reports() -> None:
    keys = reviewer_keys()
    intake = current()
    with intake.db.session() as session:
        envelopes = list(session.scalars(select(StoredEnvelope).where(
            StoredEnvelope.audience == "casework")))
    for envelope in sorted(envelopes, key=lambda e: (e.receipt_id, e.kind)):
        for name, key in keys:
            try:
                out = io.BytesIO()
                with intake.store.open(envelope.id) as body:
                    crypto.open_stream(envelope.header, body, out, key)
            except crypto.UnknownRecipient:
                continue
            text = out.getvalue()
            shown = text.decode("utf-8", "replace") if envelope.kind != "file" else (
                f"<file, {len(text)} bytes>")
            print(f"[receipt {envelope.receipt_id}] {envelope.kind} (opened by {name}):")
            print(f"  {shown}\n")
            break


def main() -> None:
    app = create_app()
    with app.app_context():
        if len(sys.argv) >= 2 and sys.argv[1] == "list":
            list_reports()
        elif len(sys.argv) == 4 and sys.argv[1] == "reply":
            deliver_to_tipster(current(), sys.argv[2], {
                "type": "message", "author": "reviewer", "text": sys.argv[3],
                "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")})
            print("Reply sealed to the tipster key.")
        elif len(sys.argv) == 4 and sys.argv[1] == "status":
            deliver_to_tipster(current(), sys.argv[2], {
                "type": "status", "stage": sys.argv[3],
                "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")})
            print("Status sealed to the tipster key.")
        else:
            print(__doc__)
            sys.exit(2)


if __name__ == "__main__":
    main()
