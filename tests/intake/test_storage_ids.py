"""Storage ids are exactly 32 lowercase hex characters: "$" would let a newline through."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from common.storage import EnvelopeStore, is_envelope_id

GOOD = "ab" * 16


@pytest.mark.parametrize("bad", [GOOD + "\n", GOOD + "\r\n", "\n" + GOOD, GOOD.upper(),
                                 GOOD[:-1], GOOD + "0", "../" + GOOD[3:], "", None, 42])
def test_an_id_with_a_trailing_newline_or_any_other_extra_is_refused(
        tmp_path: Path, bad: object) -> None:
    assert not is_envelope_id(bad)
    store = EnvelopeStore(tmp_path / "store")
    if isinstance(bad, str):
        for action in (store.open, store.delete):
            with pytest.raises(ValueError, match="invalid envelope id"):
                action(bad)
        incoming, file = store.new_incoming()
        file.close()
        with pytest.raises(ValueError, match="invalid envelope id"):
            store.commit(incoming, bad)
        assert incoming.exists()  # nothing was moved


def test_a_good_id_is_accepted(tmp_path: Path) -> None:
    assert is_envelope_id(GOOD)
    store = EnvelopeStore(tmp_path / "store")
    incoming, file = store.new_incoming()
    with file:
        file.write(b"sealed")
    store.commit(incoming, GOOD)
    with store.open(GOOD) as body:
        assert body.read() == b"sealed"


def test_the_sweep_leaves_a_file_named_id_plus_newline_alone(tmp_path: Path) -> None:
    store = EnvelopeStore(tmp_path / "store")
    odd = store.root / (GOOD + "\n")
    odd.write_bytes(b"not ours to delete")
    old = time.time() - 24 * 3600
    os.utime(odd, (old, old))
    assert store.sweep(set()) == 0
    assert odd.exists()
