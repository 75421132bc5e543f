"""The suite's guard of the checkout's instance/ (tests/conftest.py), tested on tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import CHECKOUT, folder_changes, folder_state


def test_the_session_points_lykta_instance_away_from_the_checkout() -> None:
    instance = Path(os.environ["LYKTA_INSTANCE"]).resolve()
    assert not instance.is_relative_to(CHECKOUT)
    # ...for subprocesses too (the demo, gunicorn, the bridge processes).
    child = subprocess.run([sys.executable, "-c",
                            "import os; print(os.environ['LYKTA_INSTANCE'])"],
                           capture_output=True, text=True, check=True)
    assert Path(child.stdout.strip()).resolve() == instance


def test_an_absent_folder_left_absent_is_no_change(tmp_path: Path) -> None:
    assert folder_state(tmp_path / "instance") is None
    assert folder_changes(None, folder_state(tmp_path / "instance")) == []


def test_an_untouched_folder_is_no_change(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "a.key").write_bytes(b"k")
    (tmp_path / "casework.json").write_text("{}")
    assert folder_changes(folder_state(tmp_path), folder_state(tmp_path)) == []


def test_a_created_or_deleted_folder_is_a_change(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    before = folder_state(instance)
    instance.mkdir()
    assert folder_changes(before, folder_state(instance)) == ["created"]
    present = folder_state(instance)
    instance.rmdir()
    assert folder_changes(present, folder_state(instance)) == ["deleted"]


def test_new_deleted_and_modified_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "casework.json").write_text("{}")
    (tmp_path / "keys" / "old.key").write_bytes(b"k")
    (tmp_path / "intake.json").write_text("{}")
    before = folder_state(tmp_path)
    (tmp_path / "keys" / "new.key").write_bytes(b"k")
    (tmp_path / "keys" / "old.key").unlink()
    (tmp_path / "casework.json").write_text('{"https": false}')  # size changes
    (tmp_path / "intake.json").write_text("{}")
    os.utime(tmp_path / "intake.json", ns=(1, 1))  # same size, other modification time
    changes = folder_changes(before, folder_state(tmp_path))
    assert "keys/new.key: created" in changes
    assert "keys/old.key: deleted" in changes
    assert "casework.json: modified" in changes
    assert "intake.json: modified" in changes


def test_a_file_created_and_removed_again_still_shows(tmp_path: Path) -> None:
    os.utime(tmp_path, ns=(1, 1))
    before = folder_state(tmp_path)
    (tmp_path / ".casework-startup.lock").write_bytes(b"")
    (tmp_path / ".casework-startup.lock").unlink()
    assert folder_changes(before, folder_state(tmp_path)) == [".: modified"]
