"""An app started with an invalid configuration stops with one clean message.

`flask --app ...` and gunicorn both build the app from the instance file and the LYKTA_*
environment. Every problem is named on standard error, no traceback, no value; the exit
code is gunicorn's "worker failed to boot", so its master stops rather than starting
worker after worker into the same error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.startup import BOOT_ERROR

SECRET_VALUE = "hunter2-never-printed"


@pytest.mark.parametrize("factory", ["casework:create_app()", "intake:create_app()",
                                     "intake.bridge.sync:create_app()"])
def test_an_invalid_environment_stops_the_app_with_one_clean_message(
        tmp_path: Path, factory: str) -> None:
    app = "casework" if factory.startswith("casework") else "intake"
    module, call = factory.split(":")
    env = {key: value for key, value in os.environ.items() if not key.startswith("LYKTA_")}
    env |= {"LYKTA_INSTANCE": str(tmp_path),
            f"LYKTA_{app.upper()}_DATABSE_URL": SECRET_VALUE,
            f"LYKTA_{app.upper()}_SECRET_KEY": SECRET_VALUE}
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}; {module}.{call}"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == BOOT_ERROR
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"lykta {'intake sync' if 'sync' in module else app}: "
                                  "cannot start, the configuration is not valid:")
    assert f"unknown environment variable LYKTA_{app.upper()}_DATABSE_URL" in done.stderr
    assert SECRET_VALUE not in done.stderr + done.stdout


def test_an_unknown_log_format_stops_the_app_cleanly(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LYKTA_")}
    env |= {"LYKTA_INSTANCE": str(tmp_path), "LYKTA_LOG_FORMAT": "xml"}
    done = subprocess.run([sys.executable, "-c", "import casework; casework.create_app()"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == BOOT_ERROR
    assert "Traceback" not in done.stderr
    assert "LYKTA_LOG_FORMAT must be one of" in done.stderr
