"""Architectural invariants that a code review would otherwise have to re-check by hand."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRYPTO_LIBRARIES = {"nacl", "cryptography", "argon2"}
# Only crypto/ may touch keys: every other folder of the project, benchmarks included
# (their raw libsodium baseline is crypto/baseline.py). tests/ build adversarial inputs.
APP_PACKAGES = ["bench", "common", "intake", "casework", "migrations", "ops", "scripts"]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_only_crypto_imports_cryptographic_libraries() -> None:
    offenders = []
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py") if (ROOT / package).exists() else []:
            if _imported_modules(path) & CRYPTO_LIBRARIES:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_check_sees_an_offender() -> None:
    # Guards the test above against silently checking nothing.
    assert _imported_modules(ROOT / "crypto" / "keys.py") & CRYPTO_LIBRARIES
    assert any((ROOT / p).exists() for p in APP_PACKAGES)


def test_every_public_crypto_function_has_a_docstring() -> None:
    missing = []
    for path in (ROOT / "crypto").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            public = isinstance(node, ast.FunctionDef | ast.ClassDef) and not (
                node.name.startswith("_")
            )
            if public and ast.get_docstring(node) is None:
                missing.append(f"{path.name}:{node.name}")
    assert missing == []


# The two apps meet only in common/ (the contract, the directory's format, plumbing):
# intake learns nothing of casework beyond common/contract/, and the reverse. A module
# of common/ importing either app would smuggle one into the other.
APART = {"intake": {"casework"}, "casework": {"intake"}, "common": {"intake", "casework"},
         "crypto": {"intake", "casework", "common"}}


def test_the_apps_meet_only_in_common() -> None:
    offenders = []
    for package, forbidden in APART.items():
        for path in (ROOT / package).rglob("*.py"):
            if _imported_modules(path) & forbidden:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_apps_share_their_vocabulary_through_the_contract() -> None:
    # The check above has something to look at: both apps import the contract.
    for package in ("intake", "casework"):
        users = [path for path in (ROOT / package).rglob("*.py")
                 if "common.contract" in path.read_text()]
        assert users, f"{package} does not use common/contract/"


def test_the_separation_check_sees_an_offender(tmp_path: Path) -> None:
    module = tmp_path / "leak.py"
    module.write_text("from casework.models import Case\n")
    assert _imported_modules(module) & APART["intake"]
