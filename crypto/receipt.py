"""Receipt codes: what a tipster keeps to come back, and the keys derived from it.

A receipt is 20 characters of Crockford base32 written in four groups of five, e.g.
``K7M3Q-9XD4H-PT2WN-BRF5Z``: 18 random characters (90 bits) and 2 check characters
(10 bits of a BLAKE2b hash). The alphabet has no I, L, O or U, so what is read aloud
or typed is hard to get wrong; normalisation also forgives case, spaces and dashes and
reads O as 0 and I/L as 1.

The check is computed from the code alone, so telling a typo from an unknown code needs
no server lookup and reveals nothing about which codes exist.

Derivation: ``seed = Argon2id(code, instance salt)``; HKDF-SHA256 then splits the seed
into the **lookup token** (what intake indexes) and the **tipster key** (X25519, used to
seal replies, status and the tipster's own messages). Intake stores only the token and
the tipster public key; the private key exists only in memory during a request.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

import nacl.encoding
import nacl.hash
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import CryptoError, MalformedReceipt, ReceiptTypo
from .kdf import PRODUCTION, Argon2Params, derive_key
from .keys import PrivateKey, PublicKey

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
RANDOM_CHARS = 18  # 90 bits
CHECK_CHARS = 2  # 10 bits: a random typo passes unnoticed once in 1024
CODE_CHARS = RANDOM_CHARS + CHECK_CHARS
GROUP = 5
ENTROPY_BITS = RANDOM_CHARS * 5
MAX_INPUT_CHARS = 100  # refuse absurd input before doing any work on it

_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = {" ", "-", "\t", "\n", "\r", "\u00a0", "\u2010", "\u2011", "\u2012", "\u2013",
            "\u2014", "\u2212", "."}
_CHECK_PERSON = b"lykta-receipt"
_TOKEN_INFO = b"lykta/receipt/lookup-token/v1"
_TIPSTER_INFO = b"lykta/receipt/tipster-key/v1"
INSTANCE_SALT_BYTES = 16


def _check_chars(body: str) -> str:
    digest = nacl.hash.blake2b(
        body.encode("ascii"), digest_size=16, person=_CHECK_PERSON,
        encoder=nacl.encoding.RawEncoder,
    )
    value = int.from_bytes(digest[:2], "big") >> (16 - 5 * CHECK_CHARS)
    return ALPHABET[value >> 5] + ALPHABET[value & 31]


def format_receipt(code: str) -> str:
    """Group a normalised 20-character code as ``XXXXX-XXXXX-XXXXX-XXXXX``."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def generate_receipt() -> str:
    """Return a fresh receipt code (90 random bits), formatted for display."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return format_receipt(body + _check_chars(body))


def normalize_receipt(typed: str) -> str:
    """Turn what a person typed into the canonical 20-character code.

    Raises :class:`MalformedReceipt` if it cannot be a receipt (length, characters) and
    :class:`ReceiptTypo` if it has the right shape but the check characters disagree.
    """
    if not isinstance(typed, str) or len(typed) > MAX_INPUT_CHARS:
        raise MalformedReceipt()
    cleaned = "".join(ch for ch in typed.upper() if ch not in _IGNORED).translate(_CONFUSABLE)
    if len(cleaned) != CODE_CHARS or any(ch not in ALPHABET for ch in cleaned):
        raise MalformedReceipt()
    body, check = cleaned[:RANDOM_CHARS], cleaned[RANDOM_CHARS:]
    if not hmac.compare_digest(check, _check_chars(body)):
        raise ReceiptTypo()
    return cleaned


def new_instance_salt() -> bytes:
    """A fresh per-instance salt for receipt derivation (kept in intake's config)."""
    return secrets.token_bytes(INSTANCE_SALT_BYTES)


@dataclass(frozen=True)
class ReceiptKeys:
    """What a receipt derives to. ``tipster_key`` must never be stored."""

    lookup_token: bytes
    tipster_key: PrivateKey
    params: Argon2Params

    @property
    def tipster_public_key(self) -> PublicKey:
        """The public half, stored by intake so that replies can be sealed to the tipster."""
        return self.tipster_key.public_key

    def __repr__(self) -> str:
        return "ReceiptKeys(<secret>)"


def _hkdf(seed: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(seed)


def derive_receipt_keys(
    receipt: str, instance_salt: bytes, params: Argon2Params = PRODUCTION
) -> ReceiptKeys:
    """Derive the lookup token and tipster key from a receipt (normalised first).

    This is the one expensive step of a tipster sign-in (Argon2id at ``params``); callers
    bound how many run at once. The parameters are returned so they can be stored.
    """
    if len(instance_salt) != INSTANCE_SALT_BYTES:
        raise CryptoError("instance salt must be 16 bytes")
    code = normalize_receipt(receipt)
    seed = derive_key(code.encode("ascii"), instance_salt, params)
    return ReceiptKeys(
        lookup_token=_hkdf(seed, _TOKEN_INFO),
        tipster_key=PrivateKey.from_raw(_hkdf(seed, _TIPSTER_INFO)),
        params=params,
    )
