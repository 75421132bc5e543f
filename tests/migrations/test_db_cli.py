"""``flask --app intake|casework db upgrade|current`` (common/db_cli.py).

``current`` prints the revision and whether it is the newest (exit 1 if not), ``upgrade``
migrates to the newest and prints it; neither prints the database's URL.
"""

from __future__ import annotations

from pathlib import Path

import crypto
from casework import CaseworkConfig
from casework import create_app as create_casework
from casework.migrate import MIGRATIONS as CASEWORK
from intake import IntakeConfig
from intake import create_app as create_intake
from intake.migrate import MIGRATIONS as INTAKE
from tests.support.instance import write_instance


def test_current_and_upgrade_on_both_apps(tmp_path: Path,
                                          argon2_params: crypto.Argon2Params) -> None:
    root = tmp_path / "instance"
    write_instance(root, argon2_params)
    for environment, app in (
        (INTAKE, create_intake(IntakeConfig.from_instance(root))),
        (CASEWORK, create_casework(CaseworkConfig.from_instance(root))),
    ):
        runner = app.test_cli_runner()
        url = app.extensions[f"lykta.{environment.name}"].config.database_url
        (head,) = environment.heads()
        result = runner.invoke(args=["db", "current"])
        assert (result.exit_code, result.output) == (0, f"{head} (head)\n")
        environment.downgrade(url, "-1")
        result = runner.invoke(args=["db", "current"])
        assert result.exit_code == 1
        assert result.output.endswith(f"(behind head {head})\n")
        result = runner.invoke(args=["db", "upgrade"])
        assert (result.exit_code, result.output) == (0, f"{head} (head)\n")
        assert str(root) not in result.output

