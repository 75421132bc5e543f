"""Helpers that the tests and the benchmarks share, each written once.

- ``casework``: a casework app with its units, enrolled staff and fresh TOTP codes,
  CSRF tokens, and an intake app linked to it (as tests/casework and bench/ build them);
- ``hostile_files``: the hostile PNGs and PDFs fed to the scrubber;
- ``i18n``: an app's catalogues and the checks both apps' test_i18n run on them;
- ``processes``: a process and its descendants, from /proc.

Nothing here is a pytest fixture: fixtures wrap these functions in the tests' conftest.
"""

import sys

if "pytest" in sys.modules:  # under pytest, the checks' asserts explain their failures
    import pytest

    pytest.register_assert_rewrite("tests.support.i18n")
