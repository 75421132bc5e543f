"""The backup stream (`LYKK`): only the backup key opens it, and any change, cut or
addition is refused, not half-read."""

from __future__ import annotations

import io

import pytest

from crypto import CryptoError, PrivateKey, UnsupportedVersion
from crypto.backup import (
    HEADER_BYTES,
    BackupWriter,
    DamagedBackup,
    WrongBackupKey,
    backup_key_file,
    backup_key_id,
    load_backup_key_file,
    new_backup_key,
    open_backup,
)

CHUNK_LOG2 = 12
CHUNK = 1 << CHUNK_LOG2
FRAME = CHUNK + 17  # a full chunk sealed by secretstream
KEY = new_backup_key()
PLAIN = b"report: the head of unit hired a relative. " * 300  # about 3.2 chunks


def seal(data: bytes, key: PrivateKey = KEY) -> bytes:
    out = io.BytesIO()
    writer = BackupWriter(out, key.public_key, chunk_log2=CHUNK_LOG2)
    for start in range(0, len(data), 1000):  # written in pieces that do not fit chunks
        writer.write(data[start:start + 1000])
    writer.close()
    return out.getvalue()


def read(sealed: bytes, key: PrivateKey = KEY) -> bytes:
    return b"".join(open_backup(io.BytesIO(sealed), key))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, len(PLAIN)])
def test_round_trip_of_every_size_around_a_chunk(size: int) -> None:
    data = PLAIN[:size] if size <= len(PLAIN) else bytes(size)
    sealed = seal(data)
    assert read(sealed) == data
    # Every frame but the FINAL one is full; the FINAL one is shorter.
    body = len(sealed) - HEADER_BYTES
    assert body % FRAME != 0


def test_the_ciphertext_holds_no_plaintext_and_differs_every_time() -> None:
    first, second = seal(PLAIN), seal(PLAIN)
    assert b"head of unit" not in first
    assert first[HEADER_BYTES:] != second[HEADER_BYTES:]  # a new ephemeral key each time
    assert backup_key_id(io.BytesIO(first)) == KEY.key_id


def _frames(sealed: bytes) -> list[int]:
    """The offsets where frames begin."""
    return list(range(HEADER_BYTES, len(sealed), FRAME))


def test_a_flipped_byte_anywhere_is_refused() -> None:
    sealed = seal(PLAIN)
    starts = _frames(sealed)
    # Every header byte, and the first, middle and last byte of every frame.
    places = list(range(HEADER_BYTES)) + [p for s in starts for p in (
        s, s + 8, min(s + FRAME, len(sealed)) - 1)]
    for place in places:
        damaged = bytearray(sealed)
        damaged[place] ^= 0x01
        with pytest.raises(CryptoError):
            read(bytes(damaged))


def test_a_changed_version_is_named() -> None:
    damaged = bytearray(seal(PLAIN))
    damaged[4] = 2
    with pytest.raises(UnsupportedVersion):
        read(bytes(damaged))


def test_truncation_at_every_chunk_boundary_and_inside_is_refused() -> None:
    sealed = seal(PLAIN)
    cuts = {0, 3, HEADER_BYTES - 1, HEADER_BYTES, len(sealed) - 1}
    cuts |= {s for s in _frames(sealed)} | {s + 100 for s in _frames(sealed)}
    for cut in sorted(c for c in cuts if c < len(sealed)):
        with pytest.raises(DamagedBackup):
            read(sealed[:cut])


def test_a_stream_cut_after_a_full_chunk_is_refused_even_with_exact_chunks() -> None:
    sealed = seal(bytes(2 * CHUNK))  # two full MESSAGE frames, then an empty FINAL one
    assert len(sealed) == HEADER_BYTES + 2 * FRAME + 17
    for cut in (HEADER_BYTES + FRAME, HEADER_BYTES + 2 * FRAME):
        with pytest.raises(DamagedBackup):
            read(sealed[:cut])


def test_anything_after_the_final_chunk_is_refused() -> None:
    sealed = seal(PLAIN)
    for garbage in (b"\x00", b"x" * 17, seal(PLAIN)[HEADER_BYTES:]):
        with pytest.raises(DamagedBackup):
            read(sealed + garbage)


def test_swapped_dropped_or_repeated_chunks_are_refused() -> None:
    sealed = seal(PLAIN)
    head, frames = sealed[:HEADER_BYTES], [sealed[s:s + FRAME] for s in _frames(sealed)]
    assert len(frames) >= 4
    for bad in ([frames[1], frames[0], *frames[2:]],  # swapped
                [frames[0], *frames[2:]],  # one dropped
                [frames[0], frames[0], *frames[1:]],  # one repeated
                [*frames[:-2], frames[-1]]):  # the last full chunk dropped
        with pytest.raises(DamagedBackup):
            read(head + b"".join(bad))


def test_a_chunk_of_another_backup_to_the_same_key_is_refused() -> None:
    one, other = seal(PLAIN), seal(PLAIN)
    mixed = one[:HEADER_BYTES + FRAME] + other[HEADER_BYTES + FRAME:]
    with pytest.raises(DamagedBackup):
        read(mixed)


def test_another_key_is_told_it_is_the_wrong_one() -> None:
    with pytest.raises(WrongBackupKey):
        read(seal(PLAIN), new_backup_key())


def test_a_header_pointed_at_another_key_does_not_open() -> None:
    # The key id is only a hint: rewritten to the reader's, authentication still fails.
    thief = new_backup_key()
    forged = bytearray(seal(PLAIN))
    forged[6:22] = thief.key_id
    with pytest.raises(DamagedBackup):
        read(bytes(forged), thief)


def test_not_a_backup_is_refused() -> None:
    with pytest.raises(DamagedBackup):
        read(b"SQLite format 3\x00" + bytes(200))


def test_the_private_key_file_round_trips_and_refuses_anything_else() -> None:
    data = backup_key_file(KEY)
    assert data.startswith(b"lykta backup private key v1\n")
    assert load_backup_key_file(data).public_key == KEY.public_key
    for bad in (b"", data[:-10], b"lykta backup private key v1\nzz\n", KEY.raw_bytes(),
                data.replace(b"v1", b"v2")):
        with pytest.raises(CryptoError):
            load_backup_key_file(bad)


def test_a_writer_refuses_to_write_after_closing() -> None:
    writer = BackupWriter(io.BytesIO(), KEY.public_key)
    writer.close()
    with pytest.raises(CryptoError):
        writer.write(b"more")
