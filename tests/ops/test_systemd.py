"""The systemd units (ops/systemd/): every Lykta process runs sandboxed, writes only its
instance folder, gets its secrets as credentials, and `systemd-analyze verify` accepts
each unit without a warning."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.ops.tools import program

ROOT = Path(__file__).resolve().parent.parent.parent
UNITS = sorted((ROOT / "ops" / "systemd").glob("*.service"))
# The backup timers' services (lykta-<app>-backup.service) write one folder more: the backups.
TIMERS = sorted((ROOT / "ops" / "systemd").glob("*.timer"))
# The sandbox every unit must have, exactly so. Why each: ops/README.md, "systemd units".
SANDBOX = {
    "ProtectSystem": "strict", "NoNewPrivileges": "true", "PrivateTmp": "true",
    "UMask": "0077", "LimitCORE": "0", "ProtectHome": "true", "PrivateDevices": "true",
    "CapabilityBoundingSet": "", "SystemCallFilter": "@system-service",
}
# Settings whose values are secrets: only ever as a file (LYKTA_..._FILE or a path).
SECRET = re.compile(r"SECRET_KEY|SEED|SALT|PASSWORD|TOKEN", re.IGNORECASE)


def parse(unit: Path) -> dict[str, list[str]]:
    """Every setting of the unit, by key (a key may repeat), comments left out."""
    settings: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def environment(settings: dict[str, list[str]]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in settings.get("Environment", []))


def test_there_is_a_unit_for_every_process() -> None:
    names = {unit.name for unit in UNITS}
    assert {"lykta-intake.service", "lykta-sync.service", "lykta-casework.service"} <= names


def test_every_timer_starts_a_unit_that_is_here() -> None:
    assert {t.name for t in TIMERS} >= {"lykta-intake-backup.timer",
                                         "lykta-casework-backup.timer"}
    for timer in TIMERS:
        assert parse(timer)["Unit"] == [timer.name.replace(".timer", ".service")]
        assert (timer.parent / parse(timer)["Unit"][0]).is_file()


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_runs_sandboxed_and_writes_only_its_instance_folder(unit: Path) -> None:
    settings = parse(unit)
    for key, value in SANDBOX.items():
        assert settings.get(key) == [value], f"{unit.name}: {key}={value}"
    families = settings["RestrictAddressFamilies"][0].split()
    assert set(families) <= {"AF_UNIX", "AF_INET", "AF_INET6"}, families
    assert settings["User"][0].startswith("lykta-") and settings["User"][0] != "root"
    instance = environment(settings)["LYKTA_INSTANCE"]
    assert re.fullmatch(r"/var/lib/lykta/(intake|casework)", instance)
    backups = [f"/var/backups/lykta/{instance.rsplit('/', 1)[1]}"]
    assert settings["ReadWritePaths"] == [instance, *(backups if "-backup." in unit.name else [])]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_takes_secrets_as_credentials_only(unit: Path) -> None:
    settings = parse(unit)
    loaded = {item.split(":", 1)[0] for item in settings.get("LoadCredential", [])}
    for name, value in environment(settings).items():
        if SECRET.search(name) or name.endswith("_FILE"):
            # The value is a path into the credentials folder, never the secret itself.
            assert value.startswith("%d/"), f"{unit.name}: {name}"
            assert value.removeprefix("%d/") in loaded, f"{unit.name}: {name}"
    for credential in settings.get("LoadCredential", []):
        assert credential.split(":", 1)[1].startswith("/etc/lykta/credentials/")


def _runnable_copies(units: list[Path], folder: Path) -> list[Path]:
    """Copies whose programs are this checkout's (systemd-analyze checks that each
    ExecStart program exists), templates given an instance name."""
    copies = []
    for unit in units:
        text = unit.read_text().replace("/opt/lykta", str(ROOT))
        copy = folder / unit.name.replace("@.", "@check.")
        copy.write_text(text)
        copies.append(copy)
    return copies


def _verify(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    # systemd-analyze verify reads unit files offline: it needs no running systemd (this
    # container's PID 1 is not systemd, and verify still works here).
    return subprocess.run([program("systemd-analyze"), "verify", *map(str, paths)],
                          capture_output=True, text=True, timeout=60)


def test_systemd_analyze_verifies_every_unit_without_a_warning(tmp_path: Path) -> None:
    checked = _verify(_runnable_copies(UNITS + TIMERS, tmp_path))
    assert checked.returncode == 0, checked.stderr
    # Unknown keys and unparsable values are only warnings to systemd: none allowed.
    assert (checked.stdout + checked.stderr).strip() == ""


def test_the_check_sees_a_misspelt_setting(tmp_path: Path) -> None:
    # Guards the test above against a checker that says nothing about anything.
    [copy] = _runnable_copies(UNITS[:1], tmp_path)
    copy.write_text(copy.read_text().replace("ProtectSystem=strict", "ProtectSystm=strict"))
    checked = _verify([copy])
    assert "ProtectSystm" in checked.stderr
