"""Envelope bodies on disk (common/storage.py): durable before the row that names them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from common.storage import EnvelopeStore


def test_a_body_is_on_disk_before_the_row_that_names_it_can_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A SIGKILL cannot show this (the page cache outlives a process: tests/ops/
    # test_crash.py), a power cut would: the database's commit is durable, so the body's
    # bytes and then its name must reach the disk first. The real calls run; only their
    # order is recorded, by inode.
    store = EnvelopeStore(tmp_path / "store")
    incoming, file = store.new_incoming()
    with file:
        file.write(b"a sealed body")
    body, folder = incoming.stat().st_ino, store.root.stat().st_ino
    done: list[tuple[str, int]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        done.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def replace(source: Any, target: Any, **kwargs: Any) -> None:
        done.append(("rename", Path(source).stat().st_ino))
        real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    store.commit(incoming, "ab" * 16)
    assert done == [("fsync", body), ("rename", body), ("fsync", folder)]
    assert (store.root / ("ab" * 16)).read_bytes() == b"a sealed body"
