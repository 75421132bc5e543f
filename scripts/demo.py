"""`make demo`: set up a demo instance under instance/ (once) and serve both apps.

intake on 127.0.0.1:8080, casework on 127.0.0.1:8081, all state in instance/, and one
enrolled demo account per role in instance/demo.json as
{role: {"username", "password", "totp_secret"}}. Casework pulls from intake's sync app
(127.0.0.1:8090) every few seconds, as the signed bridge does in production.

The environment decides where the state lives (docs/configuration.md): with
``LYKTA_INTAKE_DATABASE_URL`` and ``LYKTA_CASEWORK_DATABASE_URL`` the databases are on
PostgreSQL (the files in instance/ hold the keys and settings only), and with
``LYKTA_REDIS_URL`` casework's background jobs go to Redis and the demo starts an rq
worker (``flask --app casework jobs worker``) beside the two apps. The banner says which.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyotp

import crypto
from casework import CaseworkConfig
from casework import create_app as create_casework
from casework.accounts import create_user
from casework.cli import DEFAULT_UNITS
from casework.directory import export_directory
from casework.enrolment import complete_enrolment
from casework.errors import InvalidCredentials
from casework.events import UnitAdded
from casework.models import Role, Unit
from casework.services import current as casework_services
from common.serve import build_server
from common.settings import ConfigError
from common.unit_of_work import emit_on
from intake import DirectoryRefused, IntakeConfig
from intake import create_app as create_intake
from scripts import demo_cases, demo_history

CHECKOUT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("LYKTA_INSTANCE", CHECKOUT / "instance"))
# One demo account per role (role, username, display name, unit), plus a second reviewer.
ACCOUNTS = [
    (Role.ADMINISTRATOR, "admin", "Astrid Admin", "kof"),
    (Role.UNIT_LEAD, "lena", "Lena Berg", "akt"),
    (Role.REVIEWER, "eva", "Eva Lindqvist", "etik"),
    (Role.CUSTODIAN, "cecilia", "Cecilia Holm", "kof"),
    (Role.STATISTICIAN, "stina", "Stina Ek", "kof"),
    (Role.AUDITOR, "olof", "Olof Strand", "kof"),
]
EXTRA_REVIEWERS = [("erik", "Erik Sandberg", "etik"), ("anna", "Anna Nord", "akt"),
                   ("karin", "Karin Falk", "kof")]  # karin: KOF reads what is escalated there
# More accounts that are not in demo.json (one per role): an etik lead works the demo
# cases past assessment (scripts/demo_cases.py). Every account is in demo-staff.json.
EXTRA_LEADS = [("lars", "Lars Ek", "etik")]
ESCROW_PASSPHRASE = "kof escrow demo passphrase"
# The demo runs at production cost; tests/test_demo.py sets LYKTA_DEMO_ARGON2=fast.
ARGON2 = crypto.INSECURE_FAST if os.environ.get("LYKTA_DEMO_ARGON2") == "fast" else (
    crypto.PRODUCTION)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def make_private() -> None:
    """The instance folder holds the databases, keys and demo passwords: owner-only.

    Folders 0700; files that may have been made world-readable by an older version are
    tightened to 0600 (the apps create their databases 0600 themselves).
    """
    INSTANCE.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in (INSTANCE, *INSTANCE.rglob("*")):
        if path.is_symlink():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def set_up() -> None:
    """Create both instances, the demo accounts and the signed directory, once."""
    if (INSTANCE / "demo.json").exists() and (INSTANCE / "casework.json").exists():
        return
    print("Setting up a new demo instance in instance/ (production Argon2, about a minute)...")
    for name in ("LYKTA_INTAKE_DATABASE_URL", "LYKTA_CASEWORK_DATABASE_URL", "LYKTA_REDIS_URL"):
        if os.environ.get(name):
            print(f"  {name}: {_shown(os.environ[name])}")
    make_private()
    signing = crypto.SigningKey.generate()
    _write_private(INSTANCE / "casework-signing.seed", signing.seed())
    escrow = crypto.generate_escrow_key()
    # Intake's receipt salt, shared with casework so a reader can record an oral report
    # whose receipt the reporter then signs in with at intake.
    receipt_salt = crypto.new_instance_salt()
    _write_private(INSTANCE / "demo-keys" / "escrow.key",
                   crypto.wrap_private_key(escrow, ESCROW_PASSPHRASE, ARGON2))
    _write_private(INSTANCE / "casework.json", json.dumps({
        "secret_key": _b64(secrets.token_bytes(32)),
        "argon2": ARGON2.to_dict(),
        "escrow_public_key": escrow.public_key.raw.hex(),
        "intake_receipt_salt": receipt_salt.hex(),
        "intake_receipt_argon2": ARGON2.to_dict(),
        # The demo serves plain HTTP on the loopback interface only, so it opts out of
        # Secure cookies explicitly; production keeps the default (Secure).
        "https": False,
    }, indent=2).encode())
    app = create_casework(CaseworkConfig.from_instance(INSTANCE))
    demo: dict[str, dict[str, str]] = {}
    with app.app_context():
        services = casework_services()
        # Every step in a unit of work, as `units init`, `users create` and `directory
        # export` take it: the audit log records the demo's units, accounts, enrolments
        # and directory like any instance's (its first entries).
        with services.unit() as work:
            for unit_id, sv, en, alternate, receives in DEFAULT_UNITS:
                work.session.add(Unit(id=unit_id, name_sv=sv, name_en=en,
                                      alternate_unit_id=alternate, receives_reports=receives))
                emit_on(work.session, UnitAdded(unit_id, alternate, receives))
        people = [(role, username, name, unit) for role, username, name, unit in ACCOUNTS]
        people += [(Role.REVIEWER, u, n, unit) for u, n, unit in EXTRA_REVIEWERS]
        people += [(Role.UNIT_LEAD, u, n, unit) for u, n, unit in EXTRA_LEADS]
        # The synthetic history's own readers (scripts/demo_history.py says why).
        people += [(Role.REVIEWER, u, n, unit) for u, n, unit in demo_history.HISTORY_READERS]
        staff: dict[str, dict[str, str]] = {}
        for role, username, name, unit in people:
            password = f"{username}-demo-{secrets.token_hex(4)}"
            secret = pyotp.random_base32(32)
            with services.unit() as work:
                user, _ = create_user(work.session, services.config, username=username,
                                      display_name=name, unit_id=unit, role=role)
                user.totp_secret, user_id = secret, user.id
            # Enrol with the previous time step, so the code showing now still works once.
            # If the step turns between making the code and checking it (a loaded
            # machine), that code is two steps old and refused: make it again, once.
            for attempt in (1, 2):
                code = pyotp.TOTP(secret).at(time.time() - 30)
                try:
                    complete_enrolment(services.db, services.config, user_id=user_id,
                                       code=code, new_password=password,
                                       dispatcher=services.dispatcher)
                    break
                except InvalidCredentials:
                    if attempt == 2:
                        raise
            staff[username] = {"username": username, "password": password,
                               "totp_secret": secret}
            if (role, username, name, unit) in ACCOUNTS:
                demo[role.value] = staff[username]
        with services.unit() as work:
            document = export_directory(work.session, signing_key=signing,
                                        escrow=escrow.public_key,
                                        valid_for=dt.timedelta(days=365))
    (INSTANCE / "directory.signed").write_bytes(document)
    _write_private(INSTANCE / "intake.json", json.dumps({
        "secret_key": _b64(secrets.token_bytes(32)),
        "instance_salt": _b64(receipt_salt),
        "casework_verify_key": _b64(signing.verify_key.raw),
        "argon2": ARGON2.to_dict(),
    }, indent=2).encode())
    _write_private(INSTANCE / "demo.json", (json.dumps(demo, indent=2) + "\n").encode())
    _write_private(INSTANCE / "demo-staff.json", (json.dumps(staff, indent=2) + "\n").encode())
    # Once, with the directory in place and before the apps are served; a failure is one
    # line and the demo starts without the cases.
    demo_cases.seed(INSTANCE, {name: account["password"] for name, account in staff.items()})
    # Then the statistics' synthetic history (SYN-...), written directly (a few seconds).
    demo_history.seed(INSTANCE)


SYNC_PORT = 8090


def _shown(url: str) -> str:
    """A URL as the banner prints it: never its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: say that there is one, not what
        return "(set)"


def redis_url() -> str | None:
    """Casework's Redis (``LYKTA_REDIS_URL`` or casework.json), None without one."""
    return CaseworkConfig.from_instance(INSTANCE).redis_url


def state_banner() -> str:
    """Where this demo keeps its state: both databases and Redis, from the configuration
    as the apps read it (files and ``LYKTA_*`` variables)."""
    try:
        intake_db = IntakeConfig.from_instance(INSTANCE).database_url
        casework = CaseworkConfig.from_instance(INSTANCE)
    except ConfigError as exc:
        return f"  configuration:       {exc}\n"
    redis = (f"{_shown(casework.redis_url)} (background jobs; an rq worker runs them)"
             if casework.redis_url else "none (background jobs run in the apps' processes)")
    return (f"  intake database:     {_shown(intake_db)}\n"
            f"  casework database:   {_shown(casework.database_url)}\n"
            f"  redis:               {redis}\n")


def start_worker() -> subprocess.Popen[bytes] | None:
    """With Redis configured, an rq worker for casework's queues (None without)."""
    if not redis_url():
        return None
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "casework",
                             "jobs", "worker"])


def upgrade_instance() -> None:
    """Give an instance made before the bridge existed its bridge keys (idempotent)."""
    intake_path, casework_path = INSTANCE / "intake.json", INSTANCE / "casework.json"
    intake_conf = json.loads(intake_path.read_text())
    casework_conf = json.loads(casework_path.read_text())
    if "https" not in casework_conf:
        # Secure cookies became the default: the plain-HTTP loopback demo opts out.
        casework_conf["https"] = False
        _write_private(casework_path, json.dumps(casework_conf, indent=2).encode())
    if "sync_signing_seed" not in intake_conf:
        intake_conf["sync_signing_seed"] = _b64(secrets.token_bytes(32))
        _write_private(intake_path, json.dumps(intake_conf, indent=2).encode())
    intake_key = crypto.SigningKey.from_seed(base64.b64decode(intake_conf["sync_signing_seed"]))
    if casework_conf.get("intake_verify_key") != intake_key.verify_key.raw.hex():
        casework_conf["intake_sync_url"] = f"http://127.0.0.1:{SYNC_PORT}"
        casework_conf["intake_verify_key"] = intake_key.verify_key.raw.hex()
        casework_conf.setdefault("sync_warn_after_seconds", 60)
        _write_private(casework_path, json.dumps(casework_conf, indent=2).encode())


def serve_intake() -> None:
    """Process 1: the public intake app on :8080 and its sync app on :8090 (internal)."""
    from intake.bridge.sync import create_app as create_sync

    try:
        intake = create_intake()
    except DirectoryRefused as exc:
        # Refusing to start is the point: say why in one line, no traceback.
        print(f"intake refuses to start: {exc}", file=sys.stderr)
        sys.exit(1)
    threading.Thread(target=build_server(create_sync(), "127.0.0.1", SYNC_PORT).serve_forever,
                     daemon=True).start()
    build_server(intake, "127.0.0.1", 8080).serve_forever()


def serve_casework() -> None:
    """Process 2: casework on :8081, pulling from intake every 5 seconds (it connects out)."""
    from casework.bridge import BridgeError, client_for, run_cycle

    casework = create_casework()
    threading.Thread(target=build_server(casework, "127.0.0.1", 8081).serve_forever,
                     daemon=True).start()
    services = casework.extensions["lykta.casework"]
    while True:
        try:
            run_cycle(services, client_for(services))
        except BridgeError as exc:
            print(f"bridge: {exc}", file=sys.stderr)
        except Exception as exc:  # keep the demo alive; say what failed (type only)
            print(f"bridge failed: {type(exc).__name__}", file=sys.stderr)
        time.sleep(5)


def main() -> None:
    if sys.argv[1:] == ["serve-intake"]:
        serve_intake()
        return
    if sys.argv[1:] == ["serve-casework"]:
        serve_casework()
        return
    set_up()
    upgrade_instance()
    make_private()
    # Two processes with two databases, linked only by the signed bridge.
    children = [subprocess.Popen([sys.executable, "-m", "scripts.demo", role])  # noqa: S603 (fixed argv)
                for role in ("serve-intake", "serve-casework")]
    worker = start_worker()
    if worker is not None:
        children.append(worker)
    demo = json.loads((INSTANCE / "demo.json").read_text())
    reviewer = demo["reviewer"]
    print(
        "\nLykta demo\n"
        "  intake (tipsters):   http://127.0.0.1:8080/   (works with JavaScript off)\n"
        "  casework (staff):    http://127.0.0.1:8081/   sign in with a demo account:\n"
        f"      reviewer {reviewer['username']} / {reviewer['password']}, TOTP secret "
        f"{reviewer['totp_secret']}\n"
        f"      current code: {pyotp.TOTP(reviewer['totp_secret']).now()} "
        "(python -c \"import pyotp;print(pyotp.TOTP('SECRET').now())\")\n"
        "      every role's account is in instance/demo.json\n"
        f"{demo_cases.banner(INSTANCE)}"
        f"{demo_history.banner(INSTANCE)}"
        f"{state_banner()}"
        "  the bridge:          casework pulls from intake's sync app on 127.0.0.1:8090 every\n"
        "      5 seconds (signed requests and answers); intake never connects to casework\n"
        "  state:               instance/   (make demo-reset clears it)\n"
        "Stop with Ctrl-C.\n"
    )
    try:
        while all(child.poll() is None for child in children):
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=10)


if __name__ == "__main__":
    main()
