"""Empty databases at the newest revision, migrated once per test run and copied.

Running an app's migrations takes about half a second, and the suite builds hundreds of
apps; a test starts from a copy of a migrated file instead (``create_app`` still runs
the migrations and finds nothing to do). ``tests/migrations`` runs them from an empty
database on SQLite and PostgreSQL, so the migrations themselves stay tested.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from pathlib import Path

from casework import migrate as casework_migrate
from intake import migrate as intake_migrate

_MIGRATE = {"casework": casework_migrate.upgrade, "intake": intake_migrate.upgrade}
_templates: dict[str, Path] = {}


def _template(app: str) -> Path:
    if app not in _templates:
        folder = Path(tempfile.mkdtemp(prefix="lykta-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / f"{app}.sqlite"
        _MIGRATE[app](f"sqlite:///{path}")
        with sqlite3.connect(path) as connection:  # fold the WAL into the file
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _templates[app] = path
    return _templates[app]


def migrated_copy(app: str, target: Path) -> Path:
    """Put an empty, migrated ``app`` database ("intake" or "casework") at ``target``."""
    shutil.copyfile(_template(app), target)
    target.chmod(0o600)
    return target
