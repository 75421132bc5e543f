"""The bare secretstream baseline that make bench compares envelopes with."""

from __future__ import annotations

import os

import pytest

import crypto
from crypto import baseline


def test_raw_stream_round_trips_and_refuses_truncation() -> None:
    key, data, chunks = os.urandom(32), os.urandom(10_000), []
    header = baseline.raw_push(data, key, 4096, chunks)
    baseline.raw_pull(header, b"".join(chunks), key, 4096)
    with pytest.raises(crypto.TamperedEnvelope):
        baseline.raw_pull(header, b"".join(chunks[:-1]), key, 4096)
