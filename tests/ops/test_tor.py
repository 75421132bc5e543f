"""The onion service's torrc (ops/tor/torrc): tor itself accepts it, with the
proof-of-work and introduction defences on, and it serves nginx on loopback only."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.ops.tools import program

TORRC = Path(__file__).resolve().parent.parent.parent / "ops" / "tor" / "torrc"


def options() -> dict[str, str]:
    """Each option's value (the torrc sets each once)."""
    found: dict[str, str] = {}
    for line in TORRC.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, value = line.partition(" ")
            assert name not in found, f"{name} set twice"
            found[name] = value.strip()
    return found


def verify(torrc: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """`tor --verify-config` on a copy whose folders are in ``folder``."""
    copy = torrc.replace("/var/lib/tor/lykta-intake/", f"{folder}/hidden-service/")
    assert "/var/" not in copy
    path = folder / "torrc"
    path.write_text(copy + f"\nDataDirectory {folder}/data\n")
    return subprocess.run([program("tor"), "--verify-config", "-f", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_tor_accepts_the_torrc_without_a_warning(tmp_path: Path) -> None:
    checked = verify(TORRC.read_text(), tmp_path)
    assert checked.returncode == 0, checked.stdout
    assert "Configuration was valid" in checked.stdout
    # A tor built without proof of work warns (or refuses) about the PoW options; the
    # only warning allowed is the one about the test itself running as root.
    warnings = [line for line in checked.stdout.splitlines()
                if "[warn]" in line and "running Tor as root" not in line]
    assert warnings == []


def test_the_check_refuses_a_broken_torrc(tmp_path: Path) -> None:
    # Guards the test above against a tor that accepts anything.
    broken = TORRC.read_text().replace("HiddenServicePoWQueueRate 50",
                                       "HiddenServicePoWQueueRate plenty")
    assert verify(broken, tmp_path).returncode != 0


def test_this_tor_knows_the_proof_of_work_options() -> None:
    listed = subprocess.run([program("tor"), "--list-torrc-options"], capture_output=True,
                            text=True, timeout=60, check=True).stdout.split()
    for option in ("HiddenServicePoWDefensesEnabled", "HiddenServicePoWQueueRate",
                   "HiddenServiceEnableIntroDoSDefense"):
        assert option in listed


def test_onion_service_with_dos_defences_points_at_loopback_only() -> None:
    torrc = options()
    assert torrc["HiddenServiceVersion"] == "3"
    assert re.fullmatch(r"80 127\.0\.0\.1:8080", torrc["HiddenServicePort"])
    assert torrc["HiddenServicePoWDefensesEnabled"] == "1"
    assert 1 <= int(torrc["HiddenServicePoWQueueRate"]) <= int(
        torrc["HiddenServicePoWQueueBurst"])
    assert torrc["HiddenServiceEnableIntroDoSDefense"] == "1"
    assert 1 <= int(torrc["HiddenServiceEnableIntroDoSRatePerSec"]) <= int(
        torrc["HiddenServiceEnableIntroDoSBurstPerSec"])
    assert 1 <= int(torrc["HiddenServiceMaxStreams"]) <= 100
    assert torrc["HiddenServiceMaxStreamsCloseCircuit"] == "1"
    # A box that serves the onion service only: no client port, no exit.
    assert torrc["SocksPort"] == "0" and torrc["ExitRelay"] == "0"
