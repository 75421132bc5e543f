"""Start-up helpers shared by both apps: keys made once, private, never replaced."""

from __future__ import annotations

from pathlib import Path

from common.startup import create_private_once


def test_a_key_made_at_start_up_is_private_and_never_replaced(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "made.key"
    create_private_once(key, lambda: b"first")
    assert key.read_bytes() == b"first" and key.stat().st_mode & 0o777 == 0o600
    create_private_once(key, lambda: b"second")  # another worker starting later
    assert key.read_bytes() == b"first"
    assert [p.name for p in key.parent.iterdir()] == ["made.key"]  # no temporary left
