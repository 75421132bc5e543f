"""A MAC over the key ids of the people an envelope's later items may be sealed to.

A recipient header is not authenticated: anyone can append an entry for their own key
(``crypto_box_seal`` is anonymous). When new items of a case are sealed to "whoever the
report's header lists", write access to the database alone would then be enough to be
included. The tag below binds the list to the case's content key K: only someone who can
open K can produce it, and every sealer checks it before sealing (format in FORMAT.md).
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Iterable

import nacl.encoding
import nacl.hash

from .errors import CryptoError
from .keys import KEY_ID_BYTES
from .recipients import ContentKey

LIST_TAG_BYTES = 32
# BLAKE2b personalisations (at most 16 bytes): one to derive a key of its own from K (K
# itself keys the body's secretstream), one for the tag.
_SUBKEY_PERSON = b"lykta-rl-subkey"
_TAG_PERSON = b"lykta-rl-tag"
_VERSION = 1


def _blake2b(data: bytes, key: bytes, person: bytes) -> bytes:
    return nacl.hash.blake2b(data, digest_size=LIST_TAG_BYTES, key=key, person=person,
                             encoder=nacl.encoding.RawEncoder)


def recipient_list_tag(content_key: ContentKey, key_ids: Iterable[bytes]) -> bytes:
    """The 32-byte tag of a list of key ids (order and duplicates do not matter) under K.

    Key ids, not public keys: a key id is what a header holds, and a person who rotates
    their key leaves the list (and its tag) unchanged until they are added again.
    """
    keys = sorted(set(key_ids))
    if not keys:
        raise CryptoError("a recipient list needs at least one key id")
    if any(len(k) != KEY_ID_BYTES for k in keys):
        raise CryptoError("a key id is 16 bytes")
    subkey = _blake2b(content_key.envelope_id, content_key.raw_bytes(), _SUBKEY_PERSON)
    message = struct.pack(">BH", _VERSION, len(keys)) + content_key.envelope_id + b"".join(keys)
    return _blake2b(message, subkey, _TAG_PERSON)


def verify_recipient_list(content_key: ContentKey, key_ids: Iterable[bytes],
                          tag: bytes) -> bool:
    """True if ``tag`` is the tag of exactly ``key_ids`` under K (constant time)."""
    return hmac.compare_digest(recipient_list_tag(content_key, key_ids), tag)
