"""Padmé padding: hides most of a plaintext's length at a small, bounded cost.

Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication
with PURBs", PETS 2019) rounds a length so that only O(log log L) bits of it remain
visible, at most about 12 % overhead (much less for large files). Lykta also pads every
envelope to at least :data:`MIN_PADDED` bytes so that short messages all look alike.
"""

from __future__ import annotations

MIN_PADDED = 1024


def padme(length: int) -> int:
    """Return the Padmé-rounded size of ``length`` (never smaller than ``length``)."""
    if length < 0:
        raise ValueError("length must not be negative")
    if length < 2:
        return length
    exponent = length.bit_length() - 1  # floor(log2 L)
    size_bits = exponent.bit_length()  # floor(log2 E) + 1
    mask = (1 << (exponent - size_bits)) - 1
    return (length + mask) & ~mask


def padded_size(length: int) -> int:
    """Return the padded size for a plaintext of ``length`` bytes (Padmé, floor of 1 KiB)."""
    return padme(max(length, MIN_PADDED))
