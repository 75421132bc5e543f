"""A slice of mutation testing inside ``make test``: can the crypto tests fail?

Each hand-made mutant below breaks one security check of ``crypto/`` (the envelope-id
binding of a recipient entry, the key-id lookup and comparison, the receipt checksum, the
signature, purpose, replay and clock-skew checks of sync messages, the routing fields in
the associated data, the end-of-body check, the Argon2 bounds, the padding floor). It is
applied to a copy of ``crypto/`` in a temporary directory, together with a copy of the
crypto tests, and the tests that guard that check must then fail. An unmutated copy must
pass the same tests first, so a broken harness cannot pass for killed mutants.

The full run is ``make mutation`` (mutmut over all of ``crypto/``; bench/results/
mutation.md); this slice takes well under a minute.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Inside a mutation run (make mutation sets LYKTA_MUTATION=1) this slice would only nest
# mutation runs in one another: it is the full run's stand-in, not one of its tests.
pytestmark = pytest.mark.skipif(os.environ.get("LYKTA_MUTATION") == "1",
                                reason="part of make test, not of make mutation")


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str  # file in crypto/
    old: str  # must occur exactly once
    new: str
    tests: tuple[str, ...]  # pytest node ids (relative to tests/crypto) that must fail


MUTANTS = [
    Mutant(
        "recipient entry of another envelope accepted",
        "recipients.py",
        "        if hmac.compare_digest(envelope_id, parsed.envelope_id):\n",
        "        if True:\n",
        ("test_envelope_properties.py::"
         "test_a_recipient_entry_copied_from_another_envelope_is_rejected",),
    ),
    Mutant(
        "key-id lookup ignores the key id",
        "recipients.py",
        "if hmac.compare_digest(e.key_id, key_id)]",
        "if True]",
        ("test_envelope.py::test_non_recipient_is_told_it_is_not_a_recipient",),
    ),
    Mutant(
        "wrapped key's stored key id not compared",
        "keys.py",
        "    if not hmac.compare_digest(key.key_id, info.key_id):\n",
        "    if False:\n",
        ("test_keys.py::test_swapped_key_id_is_detected",),
    ),
    Mutant(
        "receipt checksum not checked",
        "receipt.py",
        "    if not hmac.compare_digest(check, _check_chars(body)):\n",
        "    if False:\n",
        ("test_receipt.py::test_every_single_character_substitution_is_caught_as_a_typo_mostly",),
    ),
    Mutant(
        "sync message signature not verified",
        "signing.py",
        '        raise MalformedMessage("sync message is too large")\n'
        "    message, signed, signature = _parse(data, max_body)\n"
        "    key.verify(signed, signature)\n",
        '        raise MalformedMessage("sync message is too large")\n'
        "    message, signed, signature = _parse(data, max_body)\n",
        ("test_signing.py::test_message_signed_by_another_key_is_forged",),
    ),
    Mutant(
        "replayed sync message accepted",
        "signing.py",
        "    if not replay_cache.remember(message.nonce, message.timestamp + max_skew):\n",
        "    if False:\n",
        ("test_signing.py::test_valid_message_verifies_once",),
    ),
    Mutant(
        "future-dated sync message accepted (one-sided skew window)",
        "signing.py",
        "    if abs(current - message.timestamp) > max_skew:\n",
        "    if current - message.timestamp > max_skew:\n",
        ("test_signing.py::test_stale_or_future_messages_are_rejected",),
    ),
    Mutant(
        "response to another request accepted",
        "signing.py",
        "not hmac.compare_digest(message.in_reply_to, in_reply_to)",
        "False",
        ("test_signing.py::test_response_to_another_request_is_rejected",),
    ),
    Mutant(
        "routing fields left out of the associated data",
        "body.py",
        "self.envelope_id, len(blob)) + blob\n",
        "self.envelope_id, len(blob))\n",
        ("test_envelope_properties.py::test_editing_the_routing_fields_is_rejected",),
    ),
    Mutant(
        "data after the end of a body accepted",
        "body.py",
        "        if self._body.read(1):\n",
        "        if False:\n",
        ("test_envelope_properties.py::test_any_extension_of_the_body_is_rejected",),
    ),
    Mutant(
        "Argon2 time cost read from storage unbounded",
        "kdf.py",
        "if not 1 <= self.time_cost <= _MAX_TIME_COST:",
        "if not 1 <= self.time_cost:",
        # test_keys.py's out-of-range test alone let this survive: the unwrap still
        # failed, but only because Argon2 at t=17 derived another key.
        ("test_mutants_killed.py::test_argon2_parameters_past_their_bounds_are_refused",),
    ),
    Mutant(
        "short plaintexts not padded to the 1 KiB floor",
        "padding.py",
        "return padme(max(length, MIN_PADDED))",
        "return padme(length)",
        ("test_envelope.py::test_small_plaintexts_are_padded_to_the_same_size",),
    ),
]


def _copy_tree(dest: Path) -> None:
    """Copy crypto/, the crypto tests and the pytest config (no caches) to ``dest``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", Path(__file__).name)
    shutil.copytree(ROOT / "crypto", dest / "crypto", ignore=ignore)
    shutil.copytree(ROOT / "tests" / "crypto", dest / "tests" / "crypto", ignore=ignore)
    for name in ("__init__.py", "conftest.py"):
        shutil.copy2(ROOT / "tests" / name, dest / "tests" / name)
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")


def _run(copy: Path, tests: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    # No third-party pytest plugins: they double the start-up time of each run and the
    # crypto tests need none (Hypothesis works without its plugin).
    env = dict(os.environ, LYKTA_MUTATION="1", LYKTA_MUTATION_EXAMPLES="5",
               PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("PYTHONPATH", None)
    # Run from the copy: its crypto/ comes first on sys.path (ahead of the editable
    # install of the checkout), and pytest's rootdir, conftest and config are the copy's.
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(copy), "-c", str(copy / "pyproject.toml"),
         *(f"tests/crypto/{t}" for t in tests)],
        cwd=copy, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An unmutated copy; every guarding test must pass on it."""
    copy = tmp_path_factory.mktemp("pristine")
    _copy_tree(copy)
    probe = subprocess.run(
        [sys.executable, "-c", "import crypto, sys; sys.stdout.write(crypto.__file__)"],
        cwd=copy, capture_output=True, text=True, check=True,
    )
    assert Path(probe.stdout).resolve() == (copy / "crypto" / "__init__.py").resolve()
    result = _run(copy, tuple(dict.fromkeys(t for m in MUTANTS for t in m.tests)))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return copy


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_the_crypto_tests_kill_a_mutant_of_a_security_check(
    mutant: Mutant, pristine: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "mutant"
    shutil.copytree(pristine, copy)
    target = copy / "crypto" / mutant.path
    source = target.read_text("utf-8")
    assert source.count(mutant.old) == 1, f"mutation site not found once in {mutant.path}"
    target.write_text(source.replace(mutant.old, mutant.new), "utf-8")
    result = _run(copy, mutant.tests)
    # Exit code 1: tests ran and failed. 2-5 would be a broken mutant or harness.
    assert result.returncode == 1, (
        f"mutant survived or broke the run (exit {result.returncode}):\n"
        + result.stdout[-3000:] + result.stderr[-2000:]
    )
