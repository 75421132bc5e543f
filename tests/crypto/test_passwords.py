"""Account password hashing."""

from __future__ import annotations

import crypto
from crypto import Argon2Params


def test_right_password_verifies_and_wrong_one_does_not(argon2_params: Argon2Params) -> None:
    encoded = crypto.hash_password("Rätt-lösen 123", argon2_params)
    assert "Rätt" not in encoded
    assert crypto.verify_password(encoded, "Rätt-lösen 123")
    assert not crypto.verify_password(encoded, "rätt-lösen 123")


def test_garbage_hash_is_a_mismatch_not_a_crash() -> None:
    assert not crypto.verify_password("not-a-hash", "x")
    assert not crypto.verify_password("$argon2id$v=19$m=8,t=1,p=1$AAAA$BBBB", "x")


def test_cheap_hashes_need_rehash_at_production_cost(argon2_params: Argon2Params) -> None:
    encoded = crypto.hash_password("pw", argon2_params)
    assert crypto.needs_rehash(encoded)
    assert not crypto.needs_rehash(encoded, argon2_params)
