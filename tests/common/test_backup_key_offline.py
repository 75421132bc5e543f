"""The backup key pair is made without an instance, on the offline machine that keeps it.

`python -m common.cli_backup init-key --private FILE` writes the private key (0600, never
over an existing file) and prints the public key; a backup sealed to that public key
opens with that file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from crypto.backup import load_backup_key_file


def test_the_key_pair_is_made_with_no_instance_and_never_overwritten(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYKTA_")}
    env["LYKTA_INSTANCE"] = str(tmp_path / "no-such-instance")
    key_file = tmp_path / "backup.key"
    command = [sys.executable, "-m", "common.cli_backup", "init-key", "--private",
               str(key_file)]
    made = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert made.returncode == 0, made.stderr
    assert key_file.stat().st_mode & 0o777 == 0o600
    private = load_backup_key_file(key_file.read_bytes())
    assert made.stdout.strip() == private.public_key.raw.hex()
    before = key_file.read_bytes()
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                           check=False)
    assert again.returncode == 1
    assert "never overwritten" in again.stderr and "Traceback" not in again.stderr
    assert key_file.read_bytes() == before
    assert not (tmp_path / "no-such-instance").exists()
